"""The one-file binary: built once with PyInstaller from ninjait.spec, then run as an operator would.

Everything the appliance reads at run time (migrations, templates, static files,
the vendored front-end libraries) must come from inside the binary, and the
modules uvicorn, huey and friends import by name must be in it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pyotp
import pytest

from ninjait import __version__
from ninjait.core.migrate import discover
from tests.support.appliance import ROOT, Appliance
from tests.support.net import free_port

# The build alone takes about two minutes on two cores; the first test pays for it.
pytestmark = [pytest.mark.binary, pytest.mark.timeout(1200)]

# Tripwires, not targets: about 58 MB and 75 MiB when this was written, then about 95 MB once
# pyarrow came in for the bulk metric moves. Crossing them means something big got bundled by
# accident (all of node_modules, a test suite, a second runtime).
MAX_BINARY_MB = 115
MAX_IDLE_RSS_MIB = 250

# Every asset the pages load (see web/templates/base.html), paired with its source file.
ASSETS = {
    "/vendor/htmx/htmx.min.js": "web/node_modules/htmx.org/dist/htmx.min.js",
    "/vendor/tabler/css/tabler.min.css": "web/node_modules/@tabler/core/dist/css/tabler.min.css",
    "/vendor/tabler/js/tabler.min.js": "web/node_modules/@tabler/core/dist/js/tabler.min.js",
    "/static/app.css": "web/static/app.css",
    "/static/app.js": "web/static/app.js",
    "/static/theme.js": "web/static/theme.js",
}


@dataclass
class Built:
    path: Path
    seconds: float


@dataclass
class Running:
    app: Appliance
    http_port: int
    startup_seconds: float
    idle_rss_mib: float
    unpack_dir: Path


def _env(unpack_dir: Path) -> dict[str, str]:
    # The one-file bootloader unpacks itself under TMPDIR: a private one shows what it leaves behind.
    env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
    env["TMPDIR"] = str(unpack_dir)
    return env


def _tree_rss_mib(pid: int) -> float:
    # The bootloader process plus the Python process it starts.
    parent = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)]) / 2**20


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("pyinstaller")
    log = out / "build.log"
    started = time.perf_counter()
    with log.open("wb") as fh:
        proc = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
             "--distpath", str(out / "dist"), "--workpath", str(out / "work"), "ninjait.spec"],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, timeout=1100,
        )
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, f"PyInstaller failed:\n{log.read_text(errors='replace')[-5000:]}"
    path = out / "dist" / "ninjait"
    assert path.is_file() and os.access(path, os.X_OK)
    return Built(path, seconds)


@pytest.fixture(scope="module")
def running(binary: Built, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    base = tmp_path_factory.mktemp("binary-serve")
    unpack = base / "tmp"
    unpack.mkdir()
    http_port = free_port()
    app = Appliance(base / "data", command=[str(binary.path)], env=_env(unpack),
                    args=["--http-port", str(http_port)])
    started = time.perf_counter()
    app.start(timeout=120)
    startup = time.perf_counter() - started
    time.sleep(2)  # let start-up work (queue consumer, first requests) settle before measuring
    rss = _tree_rss_mib(app.proc.pid)  # type: ignore[union-attr]
    yield Running(app, http_port, startup, rss, unpack)
    app.stop()


def run_binary(binary: Built, *args: str, unpack_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary.path), *args], env=_env(unpack_dir), capture_output=True,
                          text=True, timeout=120)


def test_it_answers_healthz_over_verified_https(running: Running) -> None:
    with running.app.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_it_renders_the_dashboard_after_a_full_sign_in(binary: Built, running: Running) -> None:
    # The first Super Admin comes from the binary's own CLI; signing in enrols TOTP on the way:
    # argon2, pyotp, segno and the templates all run from inside the bundle.
    password = "quartz lantern 44 orchard wheel"
    created = subprocess.run([str(binary.path), "user", "create", "--super-admin", "--email", "owner@bin.test",
                              "--data-dir", str(running.app.data_dir)], input=password + "\n",
                             env=_env(running.unpack_dir), capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr
    with running.app.client() as client:
        assert client.get("/").status_code == 303
        assert "<title>Sign in · NinjaIT</title>" in client.get("/login").text
        r = client.post("/login", data={"email": "owner@bin.test", "password": password})
        assert r.headers["location"].startswith("/account/mfa/setup")
        enrol = client.get(r.headers["location"])
        assert "<svg" in enrol.text
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', enrol.text).group(1)  # type: ignore[union-attr]
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', enrol.text).group(1)  # type: ignore[union-attr]
        done = client.post("/account/mfa/setup", data={"code": pyotp.TOTP(secret).now(), "_csrf": csrf})
        assert done.status_code == 200 and "backup-codes" in done.text
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Dashboard · NinjaIT</title>" in response.text
    assert 'data-testid="db-backend">sqlite<' in response.text


@pytest.mark.parametrize("url", ASSETS)
def test_it_serves_static_and_vendor_files_from_inside_the_binary(running: Running, url: str) -> None:
    with running.app.client() as client:
        response = client.get(url)
    assert response.status_code == 200
    assert response.content, f"{url} is empty"
    assert response.content == (ROOT / ASSETS[url]).read_bytes()


def test_it_leaves_source_maps_out(running: Running) -> None:
    # The source tree has the map, so a 404 also shows the files come from the bundle.
    assert (ROOT / "web/node_modules/@tabler/core/dist/css/tabler.min.css.map").is_file()
    with running.app.client() as client:
        assert client.get("/vendor/tabler/css/tabler.min.css.map").status_code == 404


def test_it_redirects_plain_http_to_https(running: Running) -> None:
    # The redirect port runs uvicorn's h11 protocol, which uvicorn imports by name.
    response = httpx.get(f"http://127.0.0.1:{running.http_port}/healthz?x=1", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == f"https://127.0.0.1:{running.app.port}/healthz?x=1"


def test_it_ran_the_migrations(binary: Built, running: Running, tmp_path: Path) -> None:
    assert (running.app.data_dir / "ninjait.db").is_file()
    latest = discover()[-1].version
    result = run_binary(binary, "migrate", "--data-dir", str(running.app.data_dir), unpack_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"schema is up to date at version {latest}"


def test_it_prints_its_version(binary: Built, tmp_path: Path) -> None:
    result = run_binary(binary, "version", unpack_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ninjait {__version__}\n"


def test_it_stops_on_sigterm_and_removes_what_it_unpacked(binary: Built, tmp_path: Path) -> None:
    unpack = tmp_path / "tmp"
    unpack.mkdir()
    app = Appliance(tmp_path / "data", command=[str(binary.path)], env=_env(unpack)).start(timeout=120)
    assert [p.name for p in unpack.iterdir() if p.name.startswith("_MEI")], "nothing unpacked under TMPDIR"
    status = app.stop(signal.SIGTERM)
    assert status == 0, app.log()
    assert '"msg": "NinjaIT stopped"' in app.log()  # logged once the server drained and storage closed
    assert list(unpack.iterdir()) == []


def test_it_stays_within_size_and_memory_budgets(binary: Built, running: Running,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    size_mb = binary.path.stat().st_size / 1e6
    figures = (f"binary: {size_mb:.1f} MB, built in {binary.seconds:.0f} s; "
               f"start to first 200 on /healthz: {running.startup_seconds:.2f} s; "
               f"idle RSS (bootloader + app): {running.idle_rss_mib:.0f} MiB")
    with capsys.disabled():
        print(f"\n[binary] {figures}")
    assert size_mb < MAX_BINARY_MB, figures
    assert running.idle_rss_mib < MAX_IDLE_RSS_MIB, figures


def test_it_backs_up_while_serving_and_restores(binary: Built, running: Running, tmp_path: Path) -> None:
    # The CLI process asks the serving one over its control socket; both are the bundle.
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("binary backup passphrase\n")
    out = tmp_path / "backup.tar.gz.enc"
    made = run_binary(binary, "backup", "--data-dir", str(running.app.data_dir), "--passphrase-file",
                      str(passphrase), "--out", str(out), unpack_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    checked = run_binary(binary, "backup", "verify", str(out), "--passphrase-file", str(passphrase),
                         unpack_dir=tmp_path)
    assert checked.returncode == 0 and "integrity_check ok" in checked.stdout, checked.stderr
    done = run_binary(binary, "restore", str(out), "--passphrase-file", str(passphrase), "--data-dir",
                      str(tmp_path / "restored"), unpack_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "restored" / "tls" / "cert.pem").read_bytes() == (
        running.app.data_dir / "tls" / "cert.pem").read_bytes()
