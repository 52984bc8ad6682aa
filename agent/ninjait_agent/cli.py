"""`ninjait-agent`: enroll, run, status, uninstall."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import NoReturn

from ninjait_agent import __version__, config as cfg, update, wire
from ninjait_agent.transport import PinMismatch, Transport, TransportError, normalise_fingerprint


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(2)


def cmd_enroll(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    if cfg.config_path(state).exists() and not args.force:
        print(f"ninjait-agent: already enrolled (configuration in {state}); use --force to enroll again",
              file=sys.stderr)
        return 1
    fingerprint = normalise_fingerprint(args.fingerprint or "")
    if fingerprint and (len(fingerprint) != 64 or any(ch not in "0123456789abcdef" for ch in fingerprint)):
        print("ninjait-agent: --fingerprint must be a SHA-256 (64 hex digits, colons allowed)", file=sys.stderr)
        return 2
    try:
        transport = Transport(args.server, fingerprint)
        body = wire.ENCODER.encode(wire.EnrollRequest(
            token=args.token, hostname=socket.gethostname()[:253] or "unknown", platform=update.current_platform(),
            agent_version=__version__))
        reply = wire.ENROLL_REPLY_DECODER.decode(transport.request("POST", "/agent/v1/enroll", body))
    except ValueError as exc:
        print(f"ninjait-agent: {exc}", file=sys.stderr)
        return 2
    except PinMismatch as exc:
        print(f"ninjait-agent: refusing the server: {exc}", file=sys.stderr)
        return 1
    except TransportError as exc:
        print(f"ninjait-agent: enrollment failed: {exc}", file=sys.stderr)
        return 1
    config = cfg.Config(server=args.server.rstrip("/"), agent_id=reply.agent_id, signing_key=reply.signing_key,
                        fingerprint=fingerprint, interval=reply.interval, no_scripts=args.no_scripts, no_events=args.no_events,
                        status=reply.status)
    if args.reboot_command:
        config.reboot_command = args.reboot_command.split()
    cfg.save(state, config, reply.secret)
    print(f"enrolled as agent {reply.agent_id} ({reply.status}); run `ninjait-agent run` or start the service")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from ninjait_agent.loop import Agent

    state = Path(args.state_dir)
    if update.on_start(state):
        return update.RESTART_EXIT_CODE  # the previous build is back: the service manager starts it
    try:
        config, secret = cfg.load(state)
    except cfg.ConfigError as exc:
        print(f"ninjait-agent: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    agent = Agent(state, config, secret)
    if args.interval:
        agent.config.interval, agent.fixed_interval = args.interval, True
    return agent.run(stop)


def cmd_status(args: argparse.Namespace) -> int:
    from ninjait_agent.outbox import Outbox

    state = Path(args.state_dir)
    try:
        config, _ = cfg.load(state)
    except cfg.ConfigError as exc:
        print(f"ninjait-agent: {exc}", file=sys.stderr)
        return 1
    outbox = Outbox(state / "outbox.db")
    info = {"agent_id": config.agent_id, "server": config.server, "version": __version__,
            "interval": config.interval, "scripts": "disabled" if config.no_scripts else "enabled",
            "queued_batches": outbox.count(), "last_sequence": int(outbox.get("seq", "0"))}
    outbox.close()
    print(json.dumps(info, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in info.items()))
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    if not state.exists():
        print(f"nothing to remove: {state} does not exist")
        return 0
    shutil.rmtree(state)
    print(f"removed {state}; remove the package or service too (see docs/agent.md)")
    return 0


def build_parser() -> Parser:
    parser = Parser(prog="ninjait-agent", description="NinjaIT endpoint agent")
    parser.add_argument("--version", action="version", version=f"ninjait-agent {__version__}")
    parser.add_argument("--state-dir", default=str(cfg.default_dir()),
                        help=f"configuration and queue directory (default {cfg.default_dir()}, or ${cfg.ENV_DIR})")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    enroll = sub.add_parser("enroll", help="register this computer with the appliance")
    enroll.add_argument("--server", required=True, help="https://appliance:8443")
    enroll.add_argument("--token", required=True, help="enrollment token from the appliance")
    enroll.add_argument("--fingerprint", help="SHA-256 of the appliance's certificate (pinned from now on)")
    enroll.add_argument("--no-scripts", action="store_true", help="refuse every script this agent is sent")
    enroll.add_argument("--no-events", action="store_true",
                        help="do not send the errors this computer logs (journal / event log) to the appliance")
    enroll.add_argument("--reboot-command", help="command used for reboots (default: shutdown -r +1)")
    enroll.add_argument("--force", action="store_true", help="enroll again over an existing configuration")
    run = sub.add_parser("run", help="the service loop (what the system service runs)")
    run.add_argument("--interval", type=float, help="seconds between check-ins, overriding the server (debugging)")
    status = sub.add_parser("status", help="show enrollment and queue state")
    status.add_argument("--json", action="store_true")
    sub.add_parser("uninstall", help="remove the agent's configuration and queue")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.Formatter.converter = time.gmtime
    handler = {"enroll": cmd_enroll, "run": cmd_run, "status": cmd_status, "uninstall": cmd_uninstall}[args.command]
    return handler(args)
