"""The appliance's certificate: generated on first start, or supplied by the MSP."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ninjait.settings import Settings

CERT_FILE = "tls/cert.pem"
KEY_FILE = "tls/key.pem"
VALID_DAYS = 825  # the longest validity browsers accept for a leaf certificate


class TlsError(Exception):
    pass


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the DER certificate, colon-separated hex
    generated: bool


def fingerprint_of(cert_pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _names(extra: tuple[str, ...]) -> list[x509.GeneralName]:
    seen: list[x509.GeneralName] = []
    for name in ("localhost", socket.gethostname(), "127.0.0.1", "::1", *extra):
        try:
            general: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(name))
        except ValueError:
            general = x509.DNSName(name)
        if general not in seen:
            seen.append(general)
    return seen


def generate_self_signed(cert_path: Path, key_path: Path, hostnames: tuple[str, ...]) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, socket.gethostname() or "localhost"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "NinjaIT appliance"),
    ])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_names(hostnames)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # Write both to temporary names first: a crash never leaves a cert without its key.
    tmp_key, tmp_cert = key_path.with_suffix(".tmp"), cert_path.with_suffix(".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_bytes)
    tmp_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp_key, key_path)
    os.replace(tmp_cert, cert_path)


def ensure_certificate(settings: Settings) -> TlsFiles:
    if settings.tls_cert is not None and settings.tls_key is not None:
        for label, path in (("tls_cert", settings.tls_cert), ("tls_key", settings.tls_key)):
            if not path.is_file():
                raise TlsError(f"setting {label}: file {path} does not exist")
        try:
            pem = settings.tls_cert.read_bytes()
            fp = fingerprint_of(pem)
            serialization.load_pem_private_key(settings.tls_key.read_bytes(), password=None)
        except (ValueError, TypeError, OSError) as exc:
            raise TlsError(f"setting tls_cert/tls_key: cannot load the certificate or key: {exc}") from None
        return TlsFiles(settings.tls_cert, settings.tls_key, fp, generated=False)

    cert_path = settings.data_dir / CERT_FILE
    key_path = settings.data_dir / KEY_FILE
    generated = False
    if not (cert_path.is_file() and key_path.is_file()):
        generate_self_signed(cert_path, key_path, settings.tls_hostnames)
        generated = True
    try:
        fp = fingerprint_of(cert_path.read_bytes())
    except ValueError as exc:
        raise TlsError(f"{cert_path} is not a PEM certificate ({exc}); delete it to generate a new one") from None
    return TlsFiles(cert_path, key_path, fp, generated=generated)
