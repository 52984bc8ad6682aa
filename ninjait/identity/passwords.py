"""Password hashing (argon2id) and the password policy.

Parameters: argon2id, memory 19 MiB (19,456 KiB), 2 iterations, 1 lane: OWASP's
minimum recommendation for argon2id. Hashes made with other parameters are
re-hashed at the next successful login. Policy (NIST SP 800-63B): 12 to 128
characters, no composition rules, refused when it is a common password (the
30,000-entry list shipped in the zxcvbn package) or when zxcvbn rates it
guessable (score below 3, counting the user's own e-mail and name, and rating the password
with and without the spaces and dashes between its words).
"""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ninjait.core.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 128
_SEPARATORS = re.compile(r"[\s._-]+")
_NAME_PARTS = re.compile(r"[\s._@-]+")

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
# Verifying against this when an account does not exist keeps timing the same.
_DUMMY_HASH = HASHER.hash("not a real password, only for timing")


class PasswordPolicyError(Invalid):
    def __init__(self, message: str) -> None:
        super().__init__(message, field="password")


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_policy(password: str, *, email: str = "", name: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in _common():
        raise PasswordPolicyError("this password is on a list of common passwords; choose another")
    if len(set(password)) < 4:
        raise PasswordPolicyError("password repeats too few characters; choose another")
    from zxcvbn import zxcvbn

    # zxcvbn prices a space or dash between words as a random character, and knows the user's name
    # only as a whole: "readonly readonly" or "Alice-Smith 2024!" passed for their owners. So the
    # password is rated with and without its separators (the worse score counts), and the user's
    # e-mail and name also count joined up and word by word.
    own = [x for x in (email, email.split("@")[0], name) if x]
    inputs = sorted({word for x in own for word in (x, _SEPARATORS.sub("", x), *_NAME_PARTS.split(x)) if len(word) > 1})
    candidates = {password[:64], _SEPARATORS.sub("", password)[:64]}  # scoring cost grows with length
    result = min((zxcvbn(c, user_inputs=inputs) for c in candidates), key=lambda r: r["score"])
    if result["score"] < 3:
        hint = result["feedback"].get("warning") or "it is too easy to guess"
        raise PasswordPolicyError(f"password is too weak: {hint.rstrip('.').lower()}; a few unrelated words work well")


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return HASHER.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return HASHER.check_needs_rehash(stored)
