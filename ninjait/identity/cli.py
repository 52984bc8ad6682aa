"""`ninjait user ...` and `ninjait audit verify`."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from ninjait.core import runtime as rt_mod
from ninjait.core.errors import ServiceError
from ninjait.settings import Settings


def _read_password(args: argparse.Namespace) -> str:
    if args.password_file:
        try:
            return Path(args.password_file).read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise SystemExit(f"ninjait: cannot read --password-file: {exc.strerror}") from None
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise SystemExit("ninjait: the two passwords differ")
    return first


def cmd_user_create(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.identity import authn, service
    from ninjait.identity.permissions import PERMISSIONS
    from ninjait.identity.principal import Actor, Principal

    password = _read_password(args)
    runtime = rt_mod.start(settings)
    try:
        from ninjait.wiring import connect_subscribers

        connect_subscribers(runtime)
        if args.super_admin:
            user_id = authn.create_super_admin(runtime, args.email, password, args.name or "",
                                               args.tenant_name or "My MSP", args.tenant or "msp")
        else:
            if not args.tenant or not args.role:
                print("ninjait: a user that is not a Super Admin needs --tenant SLUG and --role NAME", file=sys.stderr)
                return 2
            with runtime.db.read() as c:
                from ninjait.identity import store

                tenant = store.tenant_by_slug(c, args.tenant)
            if tenant is None:
                print(f"ninjait: no tenant with slug {args.tenant!r}", file=sys.stderr)
                return 1
            # The shell user of the appliance acts with a tenant admin's rights here.
            operator = Principal(user_id=0, tenant_id=tenant["id"], email="cli", name="command line",
                                 is_super_admin=True, everywhere=frozenset(PERMISSIONS))
            user_id = service.create_user(runtime, operator, Actor(None, "cli"), args.email, args.name or "",
                                          password, [{"role": args.role, "organization_ids": None}])["id"]
    except ServiceError as exc:
        print(f"ninjait: {exc.message}", file=sys.stderr)
        return 1
    finally:
        rt_mod.stop()
    kind = "Super Admin" if args.super_admin else "user"
    print(f"created {kind} {args.email.strip().lower()} (id {user_id})")
    if args.super_admin:
        print("they set up two-factor authentication at their first sign-in")
    return 0


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from ninjait.audit import service as audit_service

    runtime = rt_mod.start(settings, run_migrations=False)
    try:
        checked, problems = audit_service.verify(runtime.db, runtime.keyring)
    finally:
        rt_mod.stop()
    for problem in problems:
        chain = "appliance" if problem.tenant_id is None else f"tenant {problem.tenant_id}"
        print(f"problem: {chain}, entry {problem.entry_id}: {problem.problem}")
    if problems:
        print(f"audit log TAMPERED: {len(problems)} problem(s) in {checked} entries")
        return 1
    print(f"ok: {checked} audit entries, every hash chain intact")
    return 0


def add_commands(sub: argparse._SubParsersAction, add_settings_flags) -> dict[str, object]:  # type: ignore[type-arg]
    user = sub.add_parser("user", help="manage users", description="manage users")
    user_sub = user.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(user))
    create = user_sub.add_parser("create", help="create a user (e.g. the first Super Admin)",
                                 description="create a user; the password is read from --password-file, "
                                             "standard input, or a prompt")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="")
    create.add_argument("--super-admin", action="store_true", help="appliance-wide administrator (MFA required)")
    create.add_argument("--tenant", help="tenant slug (default for a Super Admin: msp, created if missing)")
    create.add_argument("--tenant-name", help="name of the tenant when it is created")
    create.add_argument("--role", help="role name for a user that is not a Super Admin, e.g. Technician")
    create.add_argument("--password-file", help="file holding the password (first line)")
    add_settings_flags(create)

    audit = sub.add_parser("audit", help="audit log tools", description="audit log tools")
    audit_sub = audit.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(audit))
    verify = audit_sub.add_parser("verify", help="check the audit log's hash chains",
                                  description="recompute every audit hash chain; exit 1 when tampering shows")
    add_settings_flags(verify)
    return {("user", "create"): cmd_user_create, ("audit", "verify"): cmd_audit_verify}
