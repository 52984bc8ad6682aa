"""TOTP second factor and backup codes."""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno

STEP = 30
WINDOW = 1  # accept the previous and next 30-second step too (clock drift)
BACKUP_CODES = 10
ISSUER = "NinjaIT"


def new_secret() -> str:
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """An inline <svg> of the otpauth:// URI, rendered on the server."""
    return segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff", omitsize=False)


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step the code belongs to, within the window, or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int((time.time() if now is None else now) // STEP)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_backup_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
    codes = []
    for _ in range(BACKUP_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalise_backup_code(code: str) -> str:
    raw = code.strip().lower().replace("-", "").replace(" ", "")
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else raw
