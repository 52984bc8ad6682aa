"""build/install.sh into a DESTDIR, with the commands that change the system replaced by recorders.

Checks every file it creates (and nothing else), the unit's content and `systemd-analyze verify`,
the commands it would run, an upgrade (backup first, settings kept, refused when the backup fails),
and uninstall with and without --purge.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.appliance import ROOT

SCRIPT = ROOT / "build" / "install.sh"
SERVE_LOG = """NinjaIT 0.1.0 serving https://appliance.example:8443/
TLS certificate SHA-256 fingerprint: AB:CD:EF
First run: open https://appliance.example:8443/setup and enter the setup token tok-123"""

EXPECTED_FILES = {
    "etc/systemd/system/ninjait.service": 0o644,
    "etc/ninjait/ninjait.env": 0o640,
    "usr/local/bin/ninjait": 0o755,
    "opt/ninjait/ninjait": 0o755,
    "etc/passwd": 0o644,  # written by the recording useradd, as `useradd --root` would
}


class Box:
    """A DESTDIR plus recording stand-ins for systemctl, useradd, chown, runuser and journalctl."""

    def __init__(self, base: Path) -> None:
        self.root = base / "root"
        self.bin = base / "bin"
        self.calls = base / "calls.log"
        self.root.mkdir()
        self.bin.mkdir()
        record = f'echo "$(basename "$0") $*" >> {self.calls}\n'
        self.tool("systemctl", record + 'case "$1" in is-active) exit 0 ;; esac\n')
        self.tool("journalctl", record + f"cat <<'EOF'\n{SERVE_LOG}\nEOF\n")
        self.tool("useradd", record + 'mkdir -p "$DESTDIR/etc"; echo "ninjait:x:990:990::/var/lib/ninjait:'
                                      '/usr/sbin/nologin" >> "$DESTDIR/etc/passwd"\n')
        self.tool("userdel", record + 'sed -i "/^ninjait:/d" "$DESTDIR/etc/passwd"\n')
        for name in ("chown", "groupadd", "sleep"):
            self.tool(name, record)
        # runuser -u USER -- COMMAND...: record, then run the command as we are.
        self.tool("runuser", record + 'shift 3; exec "$@"\n')

    def tool(self, name: str, body: str) -> None:
        path = self.bin / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(0o755)

    def binary(self, name: str, backup_exit: int = 0) -> Path:
        """A stand-in for dist/ninjait that records how it is called (the upgrade's backup)."""
        path = self.bin.parent / name
        path.write_text(f'#!/bin/sh\necho "{name} $* (data $NINJAIT_DATA_DIR)" >> {self.calls}\nexit {backup_exit}\n')
        path.chmod(0o755)
        return path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {"PATH": f"{self.bin}:/usr/bin:/bin:/usr/sbin:/sbin", "DESTDIR": str(self.root),
               **{k: str(self.bin / k.lower().replace("runas", "runuser"))
                  for k in ("SYSTEMCTL", "JOURNALCTL", "USERADD", "USERDEL", "GROUPADD", "CHOWN", "RUNAS", "SLEEP")}}
        return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60)

    def files(self) -> dict[str, int]:
        found = {}
        for dirpath, _, names in os.walk(self.root):
            for n in names:
                p = Path(dirpath, n)
                found[str(p.relative_to(self.root))] = p.stat().st_mode & 0o777
        return found

    def take_calls(self) -> list[str]:
        lines = self.calls.read_text().splitlines() if self.calls.exists() else []
        self.calls.unlink(missing_ok=True)
        return lines


@pytest.fixture
def box(tmp_path: Path) -> Box:
    return Box(tmp_path)


def test_a_fresh_install_creates_exactly_these_files_and_starts_the_service(box: Box) -> None:
    done = box.run("--binary", str(box.binary("v1")))
    assert done.returncode == 0, done.stderr
    assert box.files() == EXPECTED_FILES
    assert (box.root / "opt/ninjait/ninjait").read_bytes() == (box.bin.parent / "v1").read_bytes()
    data = box.root / "var/lib/ninjait"
    assert data.is_dir() and data.stat().st_mode & 0o777 == 0o750
    calls = box.take_calls()
    assert calls[0].startswith("useradd --system --user-group --home-dir /var/lib/ninjait --no-create-home "
                               "--shell /usr/sbin/nologin")
    assert f"chown ninjait:ninjait {data}" in calls
    assert calls.index("systemctl daemon-reload") < calls.index("systemctl enable ninjait") < calls.index(
        "systemctl restart ninjait")
    assert not any(c.startswith("v1") for c in calls)  # nothing to back up on a fresh install
    for line in ("NinjaIT is running: https://appliance.example:8443/", "fingerprint (SHA-256): AB:CD:EF",
                 "setup token tok-123"):
        assert line in done.stdout


def test_the_unit_restarts_on_failure_and_is_hardened(box: Box, tmp_path: Path) -> None:
    assert box.run("--binary", str(box.binary("v1")), "--port", "443").returncode == 0
    unit = (box.root / "etc/systemd/system/ninjait.service").read_text()
    for line in ("User=ninjait", "ExecStart=/opt/ninjait/ninjait serve", "Restart=on-failure",
                 "Environment=NINJAIT_DATA_DIR=/var/lib/ninjait", "EnvironmentFile=-/etc/ninjait/ninjait.env",
                 "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ninjait", "PrivateTmp=yes",
                 "ProtectHome=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "WantedBy=multi-user.target"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.M), line
    assert "NINJAIT_PORT=443" in (box.root / "etc/ninjait/ninjait.env").read_text()
    wrapper = (box.root / "usr/local/bin/ninjait").read_text()
    assert "runuser -u ninjait -- /opt/ninjait/ninjait" in wrapper and "!= restore" in wrapper
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    # Verify a copy whose ExecStart points into the DESTDIR (verify checks that the program exists).
    copy = tmp_path / "ninjait.service"
    copy.write_text(unit.replace("/opt/ninjait/", f"{box.root}/opt/ninjait/"))
    checked = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True)
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr
    scored = subprocess.run(["systemd-analyze", "security", "--offline=yes", str(copy)], capture_output=True,
                            text=True)
    level = re.search(r"Overall exposure level for ninjait.service: ([0-9.]+)", scored.stdout)
    if level:  # older systemd lacks --offline
        assert float(level.group(1)) < 3.0, scored.stdout[-500:]


def test_running_it_again_backs_up_then_upgrades_keeping_the_settings(box: Box) -> None:
    assert box.run("--binary", str(box.binary("v1"))).returncode == 0
    env = box.root / "etc/ninjait/ninjait.env"
    env.write_text(env.read_text() + "NINJAIT_SMTP_HOST=mail.example\n")
    box.take_calls()
    done = box.run("--binary", str(box.binary("v2")))
    assert done.returncode == 0, done.stderr
    calls = box.take_calls()
    backup = next(i for i, c in enumerate(calls) if c.startswith("v1 backup"))
    assert calls[backup] == f"v1 backup --no-encrypt --label before-upgrade (data {box.root}/var/lib/ninjait)"
    assert any(c.startswith("runuser -u ninjait -- sh -c") for c in calls[:backup])  # as the service's user
    assert backup < calls.index("systemctl restart ninjait")
    assert not any(c.startswith("useradd") for c in calls)
    assert (box.root / "opt/ninjait/ninjait").read_bytes() == (box.bin.parent / "v2").read_bytes()
    assert "NINJAIT_SMTP_HOST=mail.example" in env.read_text()
    assert box.files() == EXPECTED_FILES

    # With a backup passphrase in the settings, the upgrade's backup is encrypted with it.
    env.write_text(env.read_text() + "NINJAIT_BACKUP_PASSPHRASE_FILE=/etc/ninjait/backup.passphrase\n")
    assert box.run("--binary", str(box.binary("v3"))).returncode == 0
    assert f"v2 backup --label before-upgrade (data {box.root}/var/lib/ninjait)" in box.take_calls()


def test_a_failed_backup_stops_the_upgrade(box: Box) -> None:
    assert box.run("--binary", str(box.binary("v1", backup_exit=1))).returncode == 0
    box.take_calls()
    done = box.run("--binary", str(box.binary("v2")))
    assert done.returncode == 1 and "backup before the upgrade failed; nothing was changed" in done.stderr
    assert (box.root / "opt/ninjait/ninjait").read_bytes() == (box.bin.parent / "v1").read_bytes()
    assert not any(c.startswith("systemctl") for c in box.take_calls())


def test_uninstall_keeps_the_data_unless_purged(box: Box) -> None:
    assert box.run("--binary", str(box.binary("v1"))).returncode == 0
    data = box.root / "var/lib/ninjait"
    (data / "ninjait.db").write_text("precious")
    box.take_calls()
    done = box.run("--uninstall")
    assert done.returncode == 0, done.stderr
    assert "systemctl disable --now ninjait" in box.take_calls()
    assert box.files() == {"var/lib/ninjait/ninjait.db": 0o644, "etc/ninjait/ninjait.env": 0o640,
                           "etc/passwd": 0o644}
    assert "data stays in /var/lib/ninjait" in done.stdout
    done = box.run("--uninstall", "--purge")
    assert done.returncode == 0 and not data.exists() and not (box.root / "etc/ninjait").exists()
    assert any(c.startswith("userdel") for c in box.take_calls())


def test_bad_options_are_one_line(box: Box) -> None:
    for args, words in ((["--port", "x"], "--port must be a number"), (["--purge"], "--purge goes with --uninstall"),
                        (["--frobnicate"], "unknown option"), (["--binary", "/nonexistent"], "no binary at")):
        done = box.run(*args)
        assert done.returncode == 1 and done.stderr.count("\n") == 1 and words in done.stderr, done.stderr
