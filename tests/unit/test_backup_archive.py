"""The backup file format: round trips, and every way a file can be wrong is refused before use."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import struct
import tarfile
from pathlib import Path
from typing import Any

import pytest

from ninjait.backup import archive
from ninjait.backup.archive import ArchiveError, Damaged, Member, WrongPassphrase

PASS = "a passphrase of some length"
FAST = {"time_cost": 1, "memory_kib": 1024}  # the tests' key derivation: cheap, same code path


def members(tmp_path: Path, contents: dict[str, bytes]) -> list[Member]:
    found = []
    for name, data in contents.items():
        src = tmp_path / "src" / name
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_bytes(data)
        found.append(Member(name, src, len(data), hashlib.sha256(data).hexdigest()))
    return found


def manifest_for(ms: list[Member]) -> dict[str, Any]:
    return {"format": 1, "created_at": 1_700_000_000, "schema_version": 4,
            "members": [{"path": m.path, "size": m.size, "sha256": m.sha256, "mode": 0o600} for m in ms]}


def build(tmp_path: Path, contents: dict[str, bytes], passphrase: str | None = PASS) -> bytes:
    ms = members(tmp_path, contents)
    out = io.BytesIO()
    if passphrase:
        # write_archive with the test's cheap KDF: the same writer, other costs.
        sealer = archive.EncryptingWriter(out, passphrase, kdf=FAST)
        plain = io.BytesIO()
        archive.write_archive(plain, manifest_for(ms), ms, None)
        sealer.write(plain.getvalue())
        sealer.finish()
    else:
        archive.write_archive(out, manifest_for(ms), ms, None)
    return out.getvalue()


def read_all(data: bytes, passphrase: str | None = PASS) -> dict[str, bytes]:
    reader = archive.Reader(io.BytesIO(data), passphrase)
    got = {}
    for path, size, digest, stream in reader.members():
        got[path] = stream.read()  # checksums are compared by the caller (service): here, the sizes
        assert len(got[path]) == size
    return got


def chunks_start(data: bytes) -> int:
    n = len(archive.MAGIC) + 1
    return n + 4 + struct.unpack(">I", data[n:n + 4])[0]


CONTENT = {"data/ninjait.db": os.urandom(2_600_000), "data/keys/secret.key": os.urandom(32), "data/empty": b""}


@pytest.mark.parametrize("passphrase", [PASS, None])
def test_it_round_trips(tmp_path: Path, passphrase: str | None) -> None:
    data = build(tmp_path, CONTENT, passphrase)
    assert read_all(data, passphrase) == CONTENT


def test_an_unencrypted_backup_is_a_plain_tar_gz(tmp_path: Path) -> None:
    data = build(tmp_path, CONTENT, None)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        assert tar.getnames() == ["manifest.json", *CONTENT]


def test_the_encrypted_file_shows_no_plaintext(tmp_path: Path) -> None:
    data = build(tmp_path, {"data/ninjait.toml": b"smtp_password = 'hunter2-hunter2'"})
    assert b"hunter2" not in data and b"manifest" not in data and data.startswith(archive.MAGIC)


def test_a_wrong_passphrase_is_named_as_such(tmp_path: Path) -> None:
    data = build(tmp_path, CONTENT)
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        read_all(data, "another passphrase entirely")
    with pytest.raises(ArchiveError, match="encrypted"):
        read_all(data, None)


def test_every_truncation_is_refused(tmp_path: Path) -> None:
    data = build(tmp_path, CONTENT)
    chunk = archive.CHUNK + archive.TAG
    start = chunks_start(data)
    cuts = {5, 20, start - 5, start, start + 10, len(data) - 1, len(data) - archive.TAG}
    cuts |= {start + chunk, start + 2 * chunk, start + chunk - 1}  # at and around chunk boundaries
    for cut in sorted(cuts):
        with pytest.raises(ArchiveError):
            read_all(data[:cut])


def test_a_changed_byte_anywhere_is_caught(tmp_path: Path) -> None:
    data = build(tmp_path, CONTENT)
    for pos in (9, 30, len(data) // 3, len(data) // 2, len(data) - 3):
        bad = bytearray(data)
        bad[pos] ^= 0x40
        with pytest.raises(ArchiveError):
            read_all(bytes(bad))


def test_reordered_or_appended_chunks_are_caught(tmp_path: Path) -> None:
    data = build(tmp_path, CONTENT)
    start = chunks_start(data)
    chunk = archive.CHUNK + archive.TAG
    first, second = data[start:start + chunk], data[start + chunk:start + 2 * chunk]
    swapped = data[:start] + second + first + data[start + 2 * chunk:]
    with pytest.raises(Damaged, match="chunk 0"):
        read_all(swapped)
    with pytest.raises(Damaged):
        read_all(data + b"more")


def test_a_header_asking_for_a_huge_key_derivation_is_refused_without_running_it(tmp_path: Path) -> None:
    head = json.dumps({"cipher": "AES-256-GCM", "chunk": archive.CHUNK, "nonce_prefix": base64.b64encode(b"1234567").decode(),
                       "key_check": base64.b64encode(b"x" * 16).decode(),
                       "kdf": {"name": "argon2id", "salt": base64.b64encode(b"s" * 16).decode(), "time_cost": 1,
                               "memory_kib": 64 * 1024 * 1024, "parallelism": 1}}).encode()
    data = archive.MAGIC + b"\x01" + struct.pack(">I", len(head)) + head
    with pytest.raises(Damaged, match="excessive"):
        read_all(data)


def test_a_newer_format_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    data = bytearray(build(tmp_path, CONTENT))
    data[len(archive.MAGIC)] = 9
    with pytest.raises(ArchiveError, match="newer"):
        read_all(bytes(data))


# --- hostile unencrypted archives: paths and types are never trusted ---------------------------------------

def crafted(entries: list[tuple[tarfile.TarInfo, bytes]], listed: list[dict[str, Any]] | None = None) -> bytes:
    listed = listed if listed is not None else [
        {"path": i.name, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()} for i, b in entries]
    body = json.dumps({"format": 1, "created_at": 0, "schema_version": 1, "members": listed}).encode()
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return raw.getvalue()


def reg(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def link(name: str, kind: bytes, target: str) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, b""


@pytest.mark.parametrize("name", ["../escape", "data/../../escape", "/etc/passwd", "data//x", "data/./x", ".hidden/../x",
                                  "data/a\\b", "data/\x00x", ""])
def test_unsafe_paths_in_the_manifest_are_refused(name: str) -> None:
    assert not archive.safe_member_path(name)
    with pytest.raises(Damaged):
        read_all(crafted([reg(name)]), None)


def test_links_and_devices_are_refused() -> None:
    for entry in (link("data/key", tarfile.SYMTYPE, "/etc/shadow"), link("data/key", tarfile.LNKTYPE, "manifest.json"),
                  link("data/dev", tarfile.CHRTYPE, "")):
        listed = [{"path": entry[0].name, "size": 0, "sha256": hashlib.sha256(b"").hexdigest()}]
        with pytest.raises(Damaged, match="not a regular file"):
            read_all(crafted([entry], listed), None)


def test_members_the_manifest_does_not_list_or_misstates_are_refused() -> None:
    with pytest.raises(Damaged, match="does not list"):
        read_all(crafted([reg("data/a")], listed=[]), None)
    with pytest.raises(Damaged, match="manifest"):
        read_all(crafted([reg("data/a", b"12345")], [{"path": "data/a", "size": 2, "sha256": "0" * 64}]), None)
    with pytest.raises(Damaged, match="missing data/b"):
        read_all(crafted([reg("data/a")], [{"path": "data/a", "size": 1, "sha256": "0"},
                                           {"path": "data/b", "size": 1, "sha256": "0"}]), None)
    with pytest.raises(Damaged, match="does not list"):
        read_all(crafted([reg("data/a"), reg("data/a")], [{"path": "data/a", "size": 1, "sha256": "0"}]), None)


def test_an_archive_that_does_not_start_with_its_manifest_is_refused() -> None:
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        info, data = reg("data/a")
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(Damaged, match="manifest"):
        read_all(raw.getvalue(), None)


def test_more_data_than_declared_is_refused_without_reading_it_all() -> None:
    # A tiny declared archive followed by a long run of compressible padding: a gzip bomb's shape.
    data = crafted([reg("data/a")])
    bomb = gzip.decompress(data)[:-1024] + b"\0" * (64 << 20)
    with pytest.raises(Damaged):
        reader = archive.Reader(io.BytesIO(gzip.compress(bomb, 1)), None)
        for _, _, _, stream in reader.members():
            stream.read()
        raise AssertionError("accepted")


def test_short_passphrases_are_refused() -> None:
    with pytest.raises(ArchiveError, match="at least 12"):
        archive.EncryptingWriter(io.BytesIO(), "short")
