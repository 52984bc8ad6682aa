"""The `ninjait` command line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from ninjait import __version__
from ninjait.settings import SPECS, Settings, SettingsError, load

Command = Callable[[Settings, argparse.Namespace], int]


class CliError(Exception):
    """One clear line for the operator; exit status 1 (2 for usage errors)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line, not argparse's usage dump: scripts and people both read it.
        raise CliError(f"{self.prog}: {message} (see '{self.prog} --help')", status=2)


def _add_settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override NINJAIT_* and ninjait.toml)")
    for spec in SPECS:
        if spec.secret:
            continue  # secrets never go on a command line, where `ps` shows them
        group.add_argument(spec.flag, dest=spec.name, default=None, metavar=spec.name.upper(), help=spec.help)


def _settings(args: argparse.Namespace) -> Settings:
    return load({s.name: getattr(args, s.name, None) for s in SPECS})


def _setup_logging(settings: Settings) -> None:
    from ninjait.core import logs

    logs.setup(settings.log_level, settings.log_format)


def cmd_version(settings: Settings, args: argparse.Namespace) -> int:
    print(f"ninjait {__version__}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.server import serve

    _setup_logging(settings)
    return serve(settings)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from huey.consumer import Consumer

    from ninjait.core import queue, runtime as rt

    from ninjait.wiring import connect_subscribers, load_tasks

    _setup_logging(settings)
    connect_subscribers(rt.start(settings))
    load_tasks()
    try:
        Consumer(queue.huey, workers=settings.queue_workers, periodic=True).run()
    finally:
        rt.stop()
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.core.db import open_database
    from ninjait.core.migrate import current_version, migrate
    from ninjait.core.runtime import backup_before_migrating

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    try:
        backup = None if args.no_backup else backup_before_migrating(settings, db)
        applied = migrate(db)
        version = current_version(db)
    finally:
        db.close()
    if backup:
        print(f"backed up the database first: {backup['path']}")
    print(f"applied {len(applied)} migration(s); schema is at version {version}" if applied
          else f"schema is up to date at version {version}")
    return 0


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.checks import run_checks

    problems = run_checks(settings)
    for line in problems:
        print(f"problem: {line}")
    if problems:
        return 1
    print(f"ok: settings valid, data directory {settings.data_dir} usable, database ready ({settings.backend})")
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "serve": (cmd_serve, "run the appliance: HTTPS server and background tasks in one process"),
    "worker": (cmd_worker, "run only the background task consumer"),
    "migrate": (cmd_migrate, "apply database migrations and exit"),
    "check": (cmd_check, "validate settings, data directory and database; print problems"),
    "version": (cmd_version, "print the version"),
}


def build_parser() -> Parser:
    parser = Parser(prog="ninjait", description="NinjaIT RMM + PSA appliance")
    parser.add_argument("--version", action="version", version=f"ninjait {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name != "version":
            _add_settings_flags(p)
        if name == "migrate":
            p.add_argument("--no-backup", action="store_true",
                           help="skip the automatic backup before migrations change the database")
    from ninjait.agents.cli import add_commands as agent_commands
    from ninjait.backup.cli import add_commands as backup_commands
    from ninjait.identity.cli import add_commands

    NESTED.update(add_commands(sub, _add_settings_flags))
    NESTED.update(agent_commands(sub, _add_settings_flags))
    NESTED.update(backup_commands(sub, _add_settings_flags))
    return parser


NESTED: dict[tuple[str, str | None], Command] = {}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 2
        action = getattr(args, "action", None)
        handler = NESTED.get((args.command, action)) or COMMANDS[args.command][0]
        settings = _settings(args) if args.command != "version" else Settings()
        return handler(settings, args)
    except CliError as exc:
        print(str(exc), file=sys.stderr)
        return exc.status
    except SettingsError as exc:
        print(f"ninjait: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from ninjait.checks import explain

        message = explain(exc)
        if message is None:
            raise
        print(f"ninjait: {message}", file=sys.stderr)
        return 1
