"""The backup file format. No policy here: what goes in is decided by ``service.py``.

A backup is a gzip-compressed tar whose first member is ``manifest.json``
(app version, schema version, creation time, and the size and SHA-256 of every
other member). Unencrypted, that is the whole file: ``tar xzf`` opens it.

Encrypted (the default), the same bytes are sealed in chunks::

    "NINJAITB" | version (1 byte) | header length (4 bytes, big-endian) | header (JSON)
    chunk 0 | chunk 1 | ... | final chunk

The header names the key derivation (argon2id with its salt and costs), the
chunk size, a random nonce prefix and a key check value. Each chunk is
AES-256-GCM over up to ``chunk`` bytes of plaintext with the whole header as
associated data and the nonce ``prefix (7) | counter (4) | last (1)``: a
changed, dropped, reordered or appended chunk fails its tag, and a file cut at
a chunk boundary lacks the chunk marked last (the STREAM construction of Hoang,
Reyhanitabar, Rogaway and Vizár). The final chunk is always shorter than a full
one, possibly empty, which is how a reader knows it is the last.

The key check value (an HMAC of the derived key, not of the passphrase) lets a
reader say "wrong passphrase" rather than "damaged archive" before it reads
any data.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import io
import json
import re
import secrets
import struct
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT = 1
MAGIC = b"NINJAITB"
MANIFEST = "manifest.json"
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 20
TAG = 16
# argon2id at 64 MiB, 3 passes: about half a second on the appliance's class of machine. A backup is
# decrypted rarely, so this buys offline guessing resistance cheaply.
KDF_DEFAULTS = {"name": "argon2id", "time_cost": 3, "memory_kib": 64 * 1024, "parallelism": 1}
# Bounds on what a header may ask of us: a crafted file must not make us allocate gigabytes.
KDF_LIMITS = {"time_cost": 20, "memory_kib": 1024 * 1024, "parallelism": 8}
MAX_HEADER = 4096
MAX_MANIFEST = 1 << 20
MAX_MEMBERS = 10_000
MAX_TOTAL = 1 << 42  # 4 TiB: far beyond any appliance, small enough to catch nonsense
MIN_PASSPHRASE = 12
# Member paths are plain relative names: no "." or "..", no leading "/", no backslashes, spaces or
# control bytes; a short list of punctuation (version strings like 1.2.3+build, e-mail-like names).
_SAFE_PART = re.compile(r"^[A-Za-z0-9._+@~=,%-]{1,128}$")


class ArchiveError(Exception):
    """The archive cannot be used; the message says why in one line."""


class WrongPassphrase(ArchiveError):
    pass


class Damaged(ArchiveError):
    pass


def safe_member_path(name: str) -> bool:
    """True for a relative path made only of plain names (checked before anything is written)."""
    if not name or len(name) > 512 or name.startswith("/"):
        return False
    parts = name.split("/")
    return all(_SAFE_PART.match(p) and p not in (".", "..") for p in parts)


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ArchiveError(f"the backup passphrase must have at least {MIN_PASSPHRASE} characters")


# --- encryption -------------------------------------------------------------------------------------------

def _derive(passphrase: str, kdf: dict[str, Any]) -> tuple[bytes, bytes]:
    try:
        salt = base64.b64decode(kdf["salt"], validate=True)
        t, m, p = int(kdf["time_cost"]), int(kdf["memory_kib"]), int(kdf["parallelism"])
    except (KeyError, ValueError, TypeError):
        raise Damaged("the archive header is damaged (key derivation parameters)") from None
    if kdf.get("name") != "argon2id" or len(salt) < 16 or not (
            1 <= t <= KDF_LIMITS["time_cost"] and 8 * p <= m <= KDF_LIMITS["memory_kib"]
            and 1 <= p <= KDF_LIMITS["parallelism"]):
        raise Damaged("the archive header asks for an unsupported or excessive key derivation")
    master = hash_secret_raw(passphrase.encode(), salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32,
                             type=Type.ID)
    key = hmac.new(master, b"ninjait-backup aes-256-gcm", hashlib.sha256).digest()
    check = hmac.new(master, b"ninjait-backup key check", hashlib.sha256).digest()[:16]
    return key, check


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """Seals what is written into ``raw`` chunk by chunk; :meth:`finish` writes the final chunk."""

    def __init__(self, raw: BinaryIO, passphrase: str, kdf: dict[str, Any] | None = None) -> None:
        check_passphrase(passphrase)
        self._raw = raw
        params = {**KDF_DEFAULTS, **(kdf or {}), "salt": base64.b64encode(secrets.token_bytes(16)).decode()}
        key, check = _derive(passphrase, params)
        self._prefix = secrets.token_bytes(7)
        header = json.dumps({"cipher": "AES-256-GCM", "kdf": params, "chunk": CHUNK,
                             "nonce_prefix": base64.b64encode(self._prefix).decode(),
                             "key_check": base64.b64encode(check).decode()}, sort_keys=True).encode()
        self._aad = MAGIC + bytes([FORMAT]) + struct.pack(">I", len(header)) + header
        raw.write(self._aad)
        self._aead = AESGCM(key)
        self._buf = bytearray()
        self._counter = 0
        self._finished = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buf += data
        while len(self._buf) > CHUNK:  # strictly more: the last chunk must stay short
            self._seal(bytes(self._buf[:CHUNK]), last=False)
            del self._buf[:CHUNK]
        return len(data)

    def _seal(self, chunk: bytes, *, last: bool) -> None:
        if self._counter >= 2**32 - 1:
            raise ArchiveError("archive too large for one nonce sequence")
        self._raw.write(self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self._aad))
        self._counter += 1

    def finish(self) -> None:
        if self._finished:
            return
        if len(self._buf) == CHUNK:  # a full chunk cannot be the last: send it, then an empty last one
            self._seal(bytes(self._buf), last=False)
            self._buf.clear()
        self._seal(bytes(self._buf), last=True)
        self._buf.clear()
        self._finished = True


class DecryptingReader(io.RawIOBase):
    """Opens what :class:`EncryptingWriter` sealed; raises :class:`Damaged` at the first bad chunk."""

    def __init__(self, raw: BinaryIO, passphrase: str) -> None:
        self._raw = raw
        head = raw.read(len(MAGIC) + 5)
        if len(head) < len(MAGIC) + 5 or head[:len(MAGIC)] != MAGIC:
            raise Damaged("not an encrypted NinjaIT backup")
        if head[len(MAGIC)] != FORMAT:
            raise ArchiveError(f"backup format {head[len(MAGIC)]} is newer than this NinjaIT understands ({FORMAT})")
        (size,) = struct.unpack(">I", head[len(MAGIC) + 1:])
        if size > MAX_HEADER:
            raise Damaged("the archive header is damaged (too long)")
        header_bytes = raw.read(size)
        try:
            header = json.loads(header_bytes)
            self._prefix = base64.b64decode(header["nonce_prefix"], validate=True)
            expected_check = base64.b64decode(header["key_check"], validate=True)
            self._chunk = int(header["chunk"])
            kdf = header["kdf"]
        except (ValueError, KeyError, TypeError):
            raise Damaged("the archive header is damaged") from None
        if header.get("cipher") != "AES-256-GCM" or len(self._prefix) != 7 or not 1024 <= self._chunk <= 64 << 20:
            raise Damaged("the archive header is damaged (cipher parameters)")
        key, check = _derive(passphrase, kdf)
        if not hmac.compare_digest(check, expected_check):
            raise WrongPassphrase("wrong passphrase for this backup")
        self._aad = head + header_bytes
        self._aead = AESGCM(key)
        self._counter = 0
        self._plain = b""
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def _next_chunk(self) -> None:
        sealed = _read_full(self._raw, self._chunk + TAG)
        if not sealed:
            raise Damaged("the archive is truncated (its final chunk is missing)")
        last = len(sealed) < self._chunk + TAG
        if len(sealed) < TAG:
            raise Damaged("the archive is truncated (a chunk is cut short)")
        try:
            self._plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed, self._aad)
        except InvalidTag:
            if last:  # a file cut short ends in what looks like a short final chunk
                raise Damaged(f"the archive is truncated, damaged or was tampered with (its last chunk, "
                              f"{self._counter}, fails authentication)") from None
            raise Damaged(f"the archive is damaged or was tampered with (chunk {self._counter} fails "
                          "authentication)") from None
        self._pos = 0
        self._counter += 1
        if last:
            if self._raw.read(1):
                raise Damaged("the archive has data after its final chunk")
            self._done = True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while self._pos >= len(self._plain):
            if self._done:
                return 0
            self._next_chunk()
        n = min(len(view), len(self._plain) - self._pos)
        view[:n] = self._plain[self._pos:self._pos + n]
        self._pos += n
        return n


def _read_full(raw: BinaryIO, n: int) -> bytes:
    parts, got = [], 0
    while got < n:
        part = raw.read(n - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return b"".join(parts)


class _Limited(io.RawIOBase):
    """Fails once more than ``limit`` bytes came out of a decompressor: no gzip bombs."""

    def __init__(self, inner: BinaryIO, limit: int) -> None:
        self._inner = inner
        self.limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise Damaged("the archive holds more data than its manifest declares")
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)


def kind_of(path: Path) -> str:
    """"encrypted", "plain", or raises: which reader a file needs."""
    with path.open("rb") as fh:
        head = fh.read(len(MAGIC))
    if head.startswith(MAGIC):
        return "encrypted"
    if head.startswith(GZIP_MAGIC):
        return "plain"
    raise ArchiveError(f"{path} is not a NinjaIT backup")


# --- the tar inside ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    path: str  # inside the archive, e.g. "data/ninjait.db"
    source: Path  # where the bytes are now (a staging copy)
    size: int
    sha256: str
    mode: int = 0o600


def write_archive(out: BinaryIO, manifest: dict[str, Any], members: list[Member], passphrase: str | None,
                  compresslevel: int = 1) -> None:
    """Write the whole backup to ``out``: manifest first, then the members, gzip, then (optionally) sealed."""
    sealer = EncryptingWriter(out, passphrase) if passphrase else None
    # mtime=0 and no file name: the gzip header carries nothing about where or when.
    gz = gzip.GzipFile(filename="", mode="wb", fileobj=sealer or out, compresslevel=compresslevel, mtime=0)
    with tarfile.open(fileobj=gz, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(body), 0o600, int(manifest["created_at"])
        tar.addfile(info, io.BytesIO(body))
        for m in members:
            info = tarfile.TarInfo(m.path)
            info.size, info.mode, info.mtime = m.size, m.mode, int(manifest["created_at"])
            with m.source.open("rb") as fh:
                tar.addfile(info, fh)
    gz.close()
    if sealer is not None:
        sealer.finish()


class Reader:
    """Reads a backup member by member, trusting nothing: every path, type, size and checksum is checked."""

    def __init__(self, fileobj: BinaryIO, passphrase: str | None) -> None:
        head = fileobj.read(len(MAGIC))
        fileobj.seek(0)
        if head.startswith(MAGIC):
            if not passphrase:
                raise ArchiveError("this backup is encrypted: give its passphrase (--passphrase-file)")
            source: BinaryIO = io.BufferedReader(DecryptingReader(fileobj, passphrase), CHUNK)  # type: ignore[arg-type]
            self.encrypted = True
        elif head.startswith(GZIP_MAGIC):
            source = fileobj
            self.encrypted = False
        else:
            raise ArchiveError("this file is not a NinjaIT backup")
        self._limited = _Limited(gzip.GzipFile(fileobj=source, mode="rb"), MAX_MANIFEST + 64 * 1024)  # type: ignore[arg-type]
        self._tar = tarfile.open(fileobj=io.BufferedReader(self._limited, 1 << 16), mode="r|")  # type: ignore[arg-type]
        self._iter = iter(self._tar)
        first = self._next()
        if first is None or first.name != MANIFEST or not first.isreg() or first.size > MAX_MANIFEST:
            raise Damaged("the archive does not start with its manifest")
        try:
            self.manifest = json.loads(self._read(first))
            listed = self.manifest["members"]
            self.expected = {m["path"]: (int(m["size"]), str(m["sha256"])) for m in listed}
        except (ValueError, KeyError, TypeError):
            raise Damaged("the manifest is damaged") from None
        if not isinstance(self.manifest.get("format"), int):
            raise Damaged("the manifest is damaged (no format)")
        if self.manifest["format"] > FORMAT:
            raise ArchiveError(f"this backup uses format {self.manifest['format']}, newer than this NinjaIT "
                               f"understands ({FORMAT}): restore it with the release that made it")
        if len(listed) > MAX_MEMBERS or len(self.expected) != len(listed):
            raise Damaged("the manifest lists too many or duplicate members")
        if any(not 0 <= size <= MAX_TOTAL for size, _ in self.expected.values()):
            raise Damaged("the manifest declares an impossible member size")
        for path in self.expected:
            if not safe_member_path(path):
                raise Damaged(f"the manifest names an unsafe path {path!r}")
        self.total = sum(size for size, _ in self.expected.values())
        if self.total > MAX_TOTAL:
            raise Damaged("the manifest declares more data than any backup holds")
        # Tar headers and padding: 512-byte blocks plus a PAX header per member, with room to spare.
        self._limited.limit = self._limited.count + self.total + (len(self.expected) + 4) * 4096 + 1024 * 1024

    def _next(self) -> tarfile.TarInfo | None:
        try:
            return next(self._iter, None)
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise Damaged(f"the archive is damaged or truncated ({exc})") from None

    def _read(self, info: tarfile.TarInfo) -> bytes:
        fh = self._tar.extractfile(info)
        assert fh is not None
        try:
            return fh.read()
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise Damaged(f"the archive is damaged or truncated ({exc})") from None

    def members(self) -> Iterator[tuple[str, int, str, BinaryIO]]:
        """(path, size, sha256, stream) for each member, in archive order; each stream must be read to
        its end before the next member. Raises when the archive holds anything the manifest does not."""
        seen: set[str] = set()
        while True:
            info = self._next()
            if info is None:
                break
            if not info.isreg():
                raise Damaged(f"the archive holds {info.name!r}, which is not a regular file (links and "
                              "devices are refused)")
            if info.name not in self.expected or info.name in seen:
                raise Damaged(f"the archive holds {info.name!r}, which its manifest does not list")
            size, digest = self.expected[info.name]
            if info.size != size:
                raise Damaged(f"{info.name}: the archive says {info.size} bytes, the manifest {size}")
            seen.add(info.name)
            stream = self._tar.extractfile(info)
            assert stream is not None
            yield info.name, size, digest, _Guarded(stream)  # type: ignore[misc]
        missing = sorted(set(self.expected) - seen)
        if missing:
            raise Damaged(f"the archive is truncated: missing {', '.join(missing)}")
        # The gzip trailer (CRC-32 and length) is checked when the stream is drained.
        try:
            while self._limited.read(1 << 16):
                pass
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise Damaged(f"the archive is damaged or truncated ({exc})") from None


class _Guarded(io.RawIOBase):
    """A member stream whose low-level failures read as one-line archive errors."""

    def __init__(self, inner: BinaryIO) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise Damaged(f"the archive is damaged or truncated ({exc})") from None
        memoryview(buffer).cast("B")[:len(data)] = data
        return len(data)
