"""A real IMAP server for tests: Debian's Dovecot, started in the foreground with its own configuration in a
temporary directory (IMAPS on a free loopback port, a self-signed certificate, one mail user in a passwd file,
Maildir storage). Messages are put in with IMAP APPEND, as a mail delivery would."""

from __future__ import annotations

import imaplib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.net import free_port

DOVECOT = "/usr/sbin/dovecot"
NOBODY = 65534


class Dovecot:
    def __init__(self, user: str = "support@msp.test", password: str = "imap-secret-pass") -> None:
        # Its own directory under /tmp, readable by Dovecot's unprivileged auth and login processes (pytest's
        # temporary directories are private to the user running the tests).
        root = Path(tempfile.mkdtemp(prefix="ninjait-dovecot-"))
        root.chmod(0o755)
        self.root, self.user, self.password, self.port = root, user, password, free_port()
        for name in ("run", "state", "home"):
            (root / name).mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"), "-days", "2",
                        "-subj", "/CN=localhost"], check=True, capture_output=True)
        (root / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
        # Dovecot never runs mail processes as root: as root, the mail user is nobody; otherwise ourselves.
        uid, gid = (NOBODY, NOBODY) if os.getuid() == 0 else (os.getuid(), os.getgid())
        if os.getuid() == 0:
            shutil.chown(root / "home", NOBODY, NOBODY)
        (root / "dovecot.conf").write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(root / "dovecot.conf")], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        try:
            self._wait()
        except BaseException:
            self.close()  # a server that never answered must not outlive the test
            raise

    def _wait(self) -> None:
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client().logout()
                return
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    log = (self.root / "dovecot.log").read_text() if (self.root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not start: {log[-2000:]}") from None
                time.sleep(0.2)

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        client = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=10)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            status, detail = client.append(folder, None, None, raw)
            assert status == "OK", detail
        finally:
            client.logout()

    def count(self, folder: str, criteria: str = "ALL") -> int:
        client = self.client()
        try:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return 0
            _, found = client.uid("SEARCH", None, criteria)
            return len((found[0] or b"").split())
        finally:
            client.logout()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
