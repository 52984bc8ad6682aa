"""`ninjait agent-release publish|list`: the agent builds this appliance serves."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ninjait.core.errors import ServiceError
from ninjait.settings import Settings


def cmd_publish(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.agents import releases, service
    from ninjait.core import runtime as rt_mod
    from ninjait.identity.principal import Actor
    from ninjait.wiring import connect_subscribers

    runtime = rt_mod.start(settings)  # for the signing key and the audit log
    try:
        connect_subscribers(runtime)
        release = releases.publish(settings.data_dir, service.signer(runtime), args.platform, args.version,
                                   Path(args.file))
        runtime.bus.emit("agent_release.published", None, Actor(None, "cli").as_dict(), object_type="agent_release",
                         object_id=f"{release.platform}/{release.version}",
                         summary={"sha256": release.sha256, "size": release.size})
    except ServiceError as exc:
        print(f"ninjait: {exc.message}", file=sys.stderr)
        return 1
    finally:
        rt_mod.stop()
    print(f"published agent {release.version} for {release.platform}: {release.size} bytes, "
          f"sha256 {release.sha256}, served at {release.url}")
    return 0


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.agents import releases

    found = releases.list_releases(settings.data_dir, args.platform)
    for r in found:
        print(f"{r.platform}\t{r.version}\t{r.size}\t{r.sha256}")
    if not found:
        print("no agent builds published", file=sys.stderr)
    return 0


def add_commands(sub: argparse._SubParsersAction, add_settings_flags) -> dict[str, object]:  # type: ignore[type-arg]
    release = sub.add_parser("agent-release", help="agent builds served for self-update",
                             description="agent builds this appliance serves to its agents for self-update")
    release_sub = release.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(release))
    publish = release_sub.add_parser(
        "publish", help="sign a build and serve it", description=(
            "copy FILE into <data_dir>/agent-releases/PLATFORM/VERSION/, sign its SHA-256 with the key that "
            "signs commands, and serve it to agents; roll it out from a device's page or the REST API"))
    publish.add_argument("--platform", required=True, choices=["linux", "windows", "darwin"])
    publish.add_argument("--version", required=True, help="the version the build reports (`ninjait-agent --version`)")
    publish.add_argument("file", metavar="FILE", help="the one-file agent binary, e.g. dist/ninjait-agent")
    add_settings_flags(publish)
    listing = release_sub.add_parser("list", help="list published builds", description="list published builds")
    listing.add_argument("--platform", choices=["linux", "windows", "darwin"])
    add_settings_flags(listing)
    return {("agent-release", "publish"): cmd_publish, ("agent-release", "list"): cmd_list}
