"""`ninjait serve` as a real process on loopback."""

from __future__ import annotations

import hashlib
import re
import socket
import ssl

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
import pytest

from ninjait.core.edge import SECURITY_HEADERS
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import Browser, seed_world
from tests.support.net import free_port


def test_it_answers_health_and_readiness_over_verified_https(appliance: Appliance) -> None:
    with appliance.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


def test_it_serves_an_ecdsa_certificate_whose_fingerprint_it_prints(appliance: Appliance) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", appliance.port)) as raw, ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    printed = re.search(r"fingerprint: ([0-9A-F:]{95})", appliance.log())
    assert printed, appliance.log()
    assert printed.group(1) == hashlib.sha256(der).digest().hex(":").upper()
    key = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"


def test_every_response_carries_security_headers_and_a_request_id(appliance: Appliance) -> None:
    with appliance.client() as client:
        for path in ("/", "/healthz", "/no-such-page", "/static/app.css"):
            r = client.get(path, headers={"X-Request-ID": "trace-42"})
            for name, value in SECURITY_HEADERS:
                assert r.headers[name.decode()] == value.decode(), (path, name)
            assert r.headers["strict-transport-security"].startswith("max-age=")
            assert r.headers["x-request-id"] == "trace-42"
            assert "script-src 'self'" in r.headers["content-security-policy"]
            assert "unsafe-inline" not in r.headers["content-security-policy"]
        generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)


def test_the_home_page_asks_for_sign_in_first(appliance: Appliance) -> None:
    with appliance.client() as client:
        r = client.get("/")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F"
        login = client.get("/login")
    assert login.status_code == 200 and "Sign in to NinjaIT" in login.text
    assert "/vendor/tabler/css/tabler.min.css" in login.text


def test_the_home_page_renders_in_the_layout(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["a-technician"])
    page = browser.get("/")
    browser.close()
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for label in ("Devices", "Checks", "Alerts", "Automation", "Patching", "Tickets", "Billing", "Reports", "Settings"):
        assert f">{label}<" in page.text
    assert "/vendor/htmx/htmx.min.js" in page.text and "/vendor/tabler/css/tabler.min.css" in page.text
    assert "<script>" not in page.text  # CSP forbids inline scripts


def test_front_end_libraries_come_from_the_npm_install(appliance: Appliance) -> None:
    with appliance.client() as client:
        htmx = client.get("/vendor/htmx/htmx.min.js")
        css = client.get("/vendor/tabler/css/tabler.min.css")
        outside = client.get("/vendor/htmx/../../package.json")
    assert htmx.status_code == 200 and "htmx" in htmx.text
    assert css.status_code == 200 and len(css.content) > 10_000
    assert outside.status_code == 404


def test_unknown_pages_get_a_404_page_or_json(world_app) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    with app.client() as client:
        anonymous = client.get("/nowhere")
        api = client.get("/api/v1/nowhere")
    assert anonymous.status_code == 404 and "Page not found" in anonymous.text and ">Devices<" not in anonymous.text
    assert api.status_code == 404 and api.json()["status_code"] == 404
    browser = Browser(app).login(world.people["a-technician"])
    signed_in = browser.get("/nowhere")
    browser.close()
    assert signed_in.status_code == 404 and ">Devices<" in signed_in.text


def test_it_exposes_prometheus_metrics(appliance: Appliance) -> None:
    with appliance.client() as client:
        client.get("/healthz")
        client.get("/nowhere")
        for method in ("PROPFIND", "MKCOL", "UNLOCK"):  # WebDAV methods the HTTP parser knows
            client.request(method, "/healthz")
        text = client.get("/metrics").text
    assert 'ninjait_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "PROPFIND" not in text and re.search(r'method="OTHER",route="unmatched",status="405"\} 3', text)
    assert 'route="unmatched",status="404"' in text
    assert "ninjait_http_request_duration_seconds_bucket" in text
    assert re.search(r"^ninjait_queue_depth \d", text, re.M)
    assert re.search(r"^ninjait_database_size_bytes [1-9]", text, re.M)


def test_the_openapi_schema_is_served(appliance: Appliance) -> None:
    with appliance.client() as client:
        schema = client.get("/api/schema/openapi.json").json()
    assert schema["info"]["title"] == "NinjaIT API"
    assert "/healthz" in schema["paths"] and "/readyz" in schema["paths"]


def test_the_http_port_only_redirects_to_https(data_dir, database_url) -> None:  # type: ignore[no-untyped-def]
    http_port = free_port()
    app = Appliance(data_dir, database_url, env={"NINJAIT_HTTP_PORT": str(http_port)}).start()
    try:
        r = httpx.get(f"http://127.0.0.1:{http_port}/devices?page=2", follow_redirects=False)
        assert r.status_code == 308
        assert r.headers["location"] == f"https://127.0.0.1:{app.port}/devices?page=2"
    finally:
        app.stop()


def test_it_stops_cleanly_on_sigterm(appliance: Appliance) -> None:
    assert appliance.stop() == 0
    assert '"msg": "NinjaIT stopped"' in appliance.log()
    errors = [line for line in appliance.log().splitlines() if '"level": "error"' in line]
    assert not errors, errors


@pytest.mark.parametrize("sig_name", ["SIGINT"])
def test_it_stops_cleanly_on_ctrl_c(data_dir, database_url, sig_name: str) -> None:  # type: ignore[no-untyped-def]
    import signal

    app = Appliance(data_dir, database_url).start()
    assert app.stop(getattr(signal, sig_name)) == 0


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_either_https_server_serves_the_appliance_alike(data_dir, database_url, server: str) -> None:  # type: ignore[no-untyped-def]
    data_dir.mkdir(parents=True)
    world = seed_world(Settings(data_dir=data_dir, database_url=database_url))
    app = Appliance(data_dir, database_url, env={"NINJAIT_HTTP_SERVER": server}).start()
    try:
        with app.client() as client:
            health = client.get("/healthz")
            assert health.status_code == 200 and health.headers["strict-transport-security"]
            refused = client.post("/agent/v1/checkin", json={"seq": 1, "sent_at": 1, "agent_version": "x"})
            assert refused.status_code == 401 and refused.json()["status_code"] == 401
            # A reverse proxy on this host is believed about the client's address (uvicorn's default, kept).
            client.post("/login", data={"email": world.people["a-technician"].email, "password": "not it at all"},
                        headers={"X-Forwarded-For": "203.0.113.9"})
        admin = Browser(app).login(world.people["a-organizationadmin"])
        failed = admin.get("/api/v1/audit", params={"action": "auth.login_failed"}).json()
        assert [e["ip"] for e in failed] == ["203.0.113.9"]
        page = admin.get("/devices")
        assert page.status_code == 200 and "<html" in page.text
        admin.close()
    finally:
        assert app.stop() == 0
    assert '"level": "error"' not in app.log()


@pytest.mark.parametrize("server", ["granian", "uvicorn"])
def test_an_operators_own_rsa_certificate_is_served(data_dir, database_url, tmp_path, server: str) -> None:  # type: ignore[no-untyped-def]
    import datetime

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rmm.msp.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "own.pem", tmp_path / "own.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))  # "BEGIN RSA PRIVATE KEY" (PKCS#1)
    app = Appliance(data_dir, database_url, env={"NINJAIT_TLS_CERT": str(cert_path), "NINJAIT_TLS_KEY": str(key_path),
                                                 "NINJAIT_HTTP_SERVER": server}).start()
    try:
        ctx = ssl.create_default_context(cafile=str(cert_path))
        with httpx.Client(verify=ctx) as client:
            assert client.get(f"https://localhost:{app.port}/healthz").status_code == 200
    finally:
        assert app.stop() == 0
