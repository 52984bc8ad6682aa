"""First run: the setup page works only with the token from the log, and only until a user exists."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.support.appliance import ROOT, Appliance
from tests.support.identity import PASSWORD, Browser, Person

VARIANTS = ["/setup", "/setup/", "/SETUP", "/%73etup", "/setup?x=1", "//setup", "/setup%2F", "/./setup"]


def setup_token(app: Appliance) -> str:
    found = re.search(r"enter the setup token (\S+)", app.log())
    assert found, app.log()
    return found.group(1)


def form(token: str, email: str = "owner@new-msp.test") -> dict[str, str]:
    return {"token": token, "email": email, "password": PASSWORD, "name": "Owner", "tenant_name": "New MSP"}


def test_it_refuses_setup_without_the_logged_token(appliance: Appliance) -> None:
    with appliance.client() as client:
        assert client.get("/setup").status_code == 200
        r = client.post("/setup", data=form("guessed-token"))
        assert r.status_code == 403 and "setup token is wrong" in r.text
        r = client.post("/setup", data={**form(setup_token(appliance)), "password": "short"})
        assert r.status_code == 400 and "at least 12" in r.text
        assert client.get("/setup").status_code == 200  # still open: nothing was created


def test_setup_creates_a_super_admin_once_and_then_closes_for_good(appliance: Appliance) -> None:
    token = setup_token(appliance)
    with appliance.client() as client:
        r = client.post("/setup", data=form(token))
        assert r.status_code == 303 and r.headers["location"] == "/login?msg=setup-done"
        for variant in VARIANTS:
            for method in ("GET", "POST", "PUT"):
                answer = client.request(method, variant, data=form(token, f"second-{method}@x.test"))
                assert answer.status_code in (303, 403, 404, 405), (method, variant, answer.status_code)
                assert "Create the Super Admin" not in answer.text, (method, variant)
    # The first admin signs in and is made to set up MFA (Super Admins always need it).
    browser = Browser(appliance)
    r = browser.client.post("/login", data={"email": "owner@new-msp.test", "password": PASSWORD})
    assert r.headers["location"].startswith("/account/mfa/setup")
    # Nobody else got in through any variant.
    r = browser.client.post("/login", data={"email": "second-POST@x.test", "password": PASSWORD})
    assert r.status_code == 401
    browser.close()


def test_the_cli_creates_the_first_super_admin_and_the_setup_page_closes(data_dir, database_url) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    if database_url:
        env["NINJAIT_DATABASE_URL"] = database_url
    args = [sys.executable, "-m", "ninjait", "user", "create", "--super-admin", "--email", "Boss@MSP.test",
            "--data-dir", str(data_dir)]
    weak = subprocess.run(args, input="password123\n", text=True, capture_output=True, cwd=ROOT, env=env)
    assert weak.returncode == 1 and "at least 12 characters" in weak.stderr
    ok = subprocess.run(args, input=PASSWORD + "\n", text=True, capture_output=True, cwd=ROOT, env=env)
    assert ok.returncode == 0 and "created Super Admin boss@msp.test" in ok.stdout
    again = subprocess.run(args, input=PASSWORD + "\n", text=True, capture_output=True, cwd=ROOT, env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    app = Appliance(data_dir, database_url).start()
    try:
        assert "setup token" not in app.log()
        with app.client() as client:
            assert client.get("/setup").status_code == 303
            assert client.post("/setup", data=form("anything")).status_code == 403
        browser = Browser(app)
        r = browser.client.post("/login", data={"email": "boss@msp.test", "password": PASSWORD})
        assert r.status_code == 303
    finally:
        app.stop()


def test_cli_user_create_for_a_tenant_role(data_dir, database_url) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    if database_url:
        env["NINJAIT_DATABASE_URL"] = database_url
    base = [sys.executable, "-m", "ninjait", "user", "create", "--data-dir", str(data_dir)]
    run = lambda *a: subprocess.run([*base, *a], input=PASSWORD + "\n", text=True,  # noqa: E731
                                    capture_output=True, cwd=ROOT, env=env)
    assert run("--super-admin", "--email", "root@x.test").returncode == 0
    no_role = run("--email", "t@x.test", "--tenant", "msp")
    assert no_role.returncode == 2 and "--role" in no_role.stderr
    bad_role = run("--email", "t@x.test", "--tenant", "msp", "--role", "Wizard")
    assert bad_role.returncode == 1 and "unknown role" in bad_role.stderr
    bad_tenant = run("--email", "t@x.test", "--tenant", "nope", "--role", "Technician")
    assert bad_tenant.returncode == 1 and "no tenant" in bad_tenant.stderr
    assert run("--email", "t@x.test", "--tenant", "msp", "--role", "Technician").returncode == 0
