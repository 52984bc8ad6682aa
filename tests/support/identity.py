"""Seed tenants and users straight into the appliance's storage, and sign in over HTTPS like a browser."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp

from ninjait.core import runtime as rt_mod
from ninjait.identity import authn, service
from ninjait.identity.permissions import PERMISSIONS
from ninjait.identity.principal import SYSTEM, Principal
from ninjait.settings import Settings
from tests.support.appliance import Appliance

PASSWORD = "violet tractor humming 42 lanterns"


@dataclass
class Person:
    email: str
    password: str = PASSWORD
    totp_secret: str | None = None
    user_id: int = 0
    tenant_id: int = 0


@dataclass
class World:
    """Two tenants, A and B, each with staff of every built-in role and one organization with a site."""

    people: dict[str, Person] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)
    tenants: dict[str, int] = field(default_factory=dict)


def admin_principal(tenant_id: int) -> Principal:
    return Principal(user_id=0, tenant_id=tenant_id, email="seed", name="seed", is_super_admin=True,
                     everywhere=frozenset(PERMISSIONS))


def enrol_totp(runtime: rt_mod.Runtime, user_id: int) -> str:
    enrolment = authn.start_enrolment(runtime, user_id)
    authn.confirm_enrolment(runtime, user_id, fresh_code(enrolment["secret"]), "127.0.0.1", "seed")
    return enrolment["secret"]


def seed_world(settings: Settings) -> World:
    """Create the world in the appliance's storage (the appliance may be running)."""
    runtime = rt_mod.start(settings)
    world = World()
    try:
        admin_id = authn.create_super_admin(runtime, "root@msp-a.test", PASSWORD, "Root", "MSP A", "msp-a")
        tenant_a = runtime.db.write(lambda c: c.value("SELECT tenant_id FROM users WHERE id = ?", (admin_id,)))
        world.people["root"] = Person("root@msp-a.test", user_id=admin_id, tenant_id=tenant_a,
                                      totp_secret=enrol_totp(runtime, admin_id))
        tenant_b = service.create_tenant(runtime, SYSTEM, "MSP B", "msp-b", mfa_required=False)["id"]
        world.tenants = {"a": tenant_a, "b": tenant_b}
        service.update_tenant_settings(runtime, admin_principal(tenant_a), SYSTEM, mfa_required=False)
        for key, tenant_id in world.tenants.items():
            boss = admin_principal(tenant_id)
            org = service.create_organization(runtime, boss, SYSTEM, f"Customer {key.upper()}")
            other = service.create_organization(runtime, boss, SYSTEM, f"Other customer {key.upper()}")
            site = service.create_site(runtime, boss, SYSTEM, org["id"], "Head office")
            world.orgs[key] = org["id"]
            world.orgs[f"{key}-other"] = other["id"]
            world.sites[key] = site["id"]
            for role in ("Organization Admin", "Technician", "Help Desk", "Billing Manager", "Read-Only"):
                slug = role.lower().replace(" ", "").replace("-", "")
                email = f"{slug}@msp-{key}.test"
                user = service.create_user(runtime, boss, SYSTEM, email, role, PASSWORD,
                                           [{"role": role, "organization_ids": None}])
                world.people[f"{key}-{slug}"] = Person(email, user_id=user["id"], tenant_id=tenant_id)
            limited = service.create_user(runtime, boss, SYSTEM, f"limited@msp-{key}.test", "Limited tech", PASSWORD,
                                          [{"role": "Technician", "organization_ids": [org["id"]]}])
            world.people[f"{key}-limited"] = Person(f"limited@msp-{key}.test", user_id=limited["id"],
                                                    tenant_id=tenant_id)
    finally:
        rt_mod.stop()
    return world


def start_world(data_dir: Path, database_url: str = "", env: dict[str, str] | None = None) -> tuple[Appliance, World]:
    """Seed a world into a new data directory, then start an appliance on it (extra `env` settings)."""
    data_dir.mkdir(parents=True)
    world = seed_world(Settings(data_dir=data_dir, database_url=database_url))
    return Appliance(data_dir, database_url, env=env).start(), world


class Browser:
    """An httpx client that signs in through the login form and keeps the CSRF token."""

    def __init__(self, appliance: Appliance) -> None:
        self.client = appliance.client(follow_redirects=False)
        self.csrf = ""

    def login(self, person: Person) -> Browser:
        r = self.client.post("/login", data={"email": person.email, "password": person.password, "next": "/"})
        assert r.status_code == 303, r.text[:500]
        if r.headers["location"].startswith("/login/mfa"):
            self._refresh_csrf("/login/mfa")
            assert person.totp_secret, f"{person.email} needs a TOTP code"
            code = fresh_code(person.totp_secret)
            r = self.client.post("/login/mfa", data={"code": code, "_csrf": self.csrf, "next": "/"})
            assert r.status_code == 303, r.text[:500]
        self._refresh_csrf("/account")
        return self

    def _refresh_csrf(self, path: str) -> None:
        page = self.client.get(path)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert found, f"no CSRF token on {path}: {page.status_code}"
        self.csrf = found.group(1)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def close(self) -> None:
        self.client.close()


_used_steps: dict[str, int] = {}


def fresh_code(secret: str) -> str:
    """A TOTP code for a step this secret has not used yet (each is accepted once; the server
    accepts the next step too, so two sign-ins per 30 s need no waiting)."""
    totp = pyotp.TOTP(secret)
    while True:
        now = int(time.time() // 30)
        for step in (now, now + 1):
            if _used_steps.get(secret, -10) < step:
                _used_steps[secret] = step
                return totp.generate_otp(step)
        time.sleep(1)
