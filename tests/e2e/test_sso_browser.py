"""Single sign-on in a real browser: the sign-in page's form, the provider, and back, under our CSP.

Chromium applies the page's `form-action 'self'` to redirects that follow a form, so this is
where a 303 from the form straight to the provider would fail; the integration tests cover
the rules, this covers the browser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from ninjait.core import runtime as rt_mod
from ninjait.identity import oidc
from ninjait.identity.principal import SYSTEM
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import World, admin_principal, seed_world
from tests.support.oidc_provider import Provider

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sso_world(tmp_path_factory: pytest.TempPathFactory,
              request: pytest.FixtureRequest) -> Iterator[tuple[Appliance, World, Provider]]:
    from tests.conftest import BACKEND

    provider = Provider().start()
    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    data_dir = tmp_path_factory.mktemp("sso") / "data"
    data_dir.mkdir(parents=True)
    settings = Settings(data_dir=data_dir, database_url=database_url)
    world = seed_world(settings)
    runtime = rt_mod.start(settings)
    try:
        oidc.set_config(runtime, admin_principal(world.tenants["a"]), SYSTEM, issuer=provider.issuer,
                        client_id=provider.client_id, client_secret=provider.client_secret, enabled=True,
                        create_users=False, default_role_id=None)
    finally:
        rt_mod.stop()
    app = Appliance(data_dir, database_url).start()
    yield app, world, provider
    app.stop()
    provider.stop()


@pytest.fixture
def appliance(sso_world: tuple[Appliance, World, Provider]) -> Appliance:
    return sso_world[0]


def test_it_signs_in_from_the_sign_in_page(new_page: Callable[..., Page],
                                           sso_world: tuple[Appliance, World, Provider]) -> None:
    app, world, provider = sso_world
    person = world.people["a-technician"]
    provider.sign_in_as(person.email)
    # The host the redirect URI names (public_url defaults to https://localhost:<port>): the state
    # cookie must be there when the provider sends the browser back.
    page = new_page(base_url=f"https://localhost:{app.port}")
    page.goto("/login?next=/settings")
    page.get_by_label("Tenant").fill("msp-a")
    page.get_by_role("button", name="Sign in with single sign-on").click()
    page.wait_for_url(f"https://localhost:{app.port}/settings")
    expect(page.get_by_test_id("user-menu")).to_contain_text("Technician")
    assert provider.authorize_requests[-1]["code_challenge_method"] == "S256"
