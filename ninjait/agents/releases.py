"""Agent builds the appliance serves, and rolling one out to a device.

A build lives in ``<data_dir>/agent-releases/<platform>/<version>/``: the file
``ninjait-agent`` and ``signature.json`` with its SHA-256 and the appliance's
Ed25519 signature over ``wire.update_signed_bytes(platform, version, sha256)``,
made with the key that signs commands (every agent got its public half at
enrollment). Builds are files, not rows: they belong to the appliance, not to a
tenant, and the operator publishes them from the shell (`ninjait agent-release`).
A version, once published, is never rewritten: agents compare versions, not bytes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ninjait_agent import wire

from ninjait.agents import service, signing
from ninjait.core.errors import Conflict, Invalid
from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.identity.principal import Actor, Principal

DIR = "agent-releases"
FILE = "ninjait-agent"
SIGNATURE = "signature.json"
PLATFORMS = ("linux", "windows", "darwin")
VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}")  # fits wire.CheckIn.agent_version; no path tricks
MAX_BYTES = 512 * 1024 * 1024
# The first bytes of an executable for each platform: publishing a Windows build as linux fails here.
MAGIC = {"linux": (b"\x7fELF",), "windows": (b"MZ",),
         "darwin": (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")}
UPDATE_EXPIRY = 86400  # an update waits a day for a device that is off


@dataclass(frozen=True)
class Release:
    platform: str
    version: str
    sha256: str
    size: int
    signature: str
    published_at: int
    path: Path

    @property
    def url(self) -> str:
        return f"/agent/v1/updates/{self.platform}/{self.version}"

    def as_dict(self) -> dict[str, Any]:
        return {"platform": self.platform, "version": self.version, "sha256": self.sha256, "size": self.size,
                "published_at": self.published_at, "url": self.url}


def _valid(platform: str, version: str) -> bool:
    return platform in PLATFORMS and VERSION.fullmatch(version) is not None


def _root(data_dir: Path) -> Path:
    return data_dir / DIR


def publish(data_dir: Path, signer: signing.Signer, platform: str, version: str, source: Path) -> Release:
    if platform not in PLATFORMS:
        raise Invalid(f"platform must be one of {', '.join(PLATFORMS)}", field="platform")
    if not VERSION.fullmatch(version):
        raise Invalid("version must be 1 to 32 of 0-9 A-Z a-z . + _ - (starting with a letter or digit)",
                      field="version")
    try:
        size = source.stat().st_size
        with source.open("rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise Invalid(f"cannot read {source}: {exc.strerror}", field="file") from None
    if not 0 < size <= MAX_BYTES:
        raise Invalid(f"{source} is empty or larger than {MAX_BYTES // 2**20} MiB", field="file")
    if not head.startswith(MAGIC[platform]):
        raise Invalid(f"{source} is not a {platform} executable", field="file")
    target = _root(data_dir) / platform / version
    if target.exists():
        raise Conflict(f"agent {version} for {platform} is already published; publish a new version")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Built in a hidden sibling and renamed into place: a half-copied build is never served.
    work = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with source.open("rb") as src, (work / FILE).open("wb") as dst:
            while chunk := src.read(1024 * 1024):
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(work / FILE, 0o644)
        sha256 = digest.hexdigest()
        meta = {"platform": platform, "version": version, "sha256": sha256, "size": size,
                "signature": signer.sign(wire.update_signed_bytes(platform, version, sha256)),
                "public_key": signer.public_key_b64, "published_at": int(time.time())}
        (work / SIGNATURE).write_text(json.dumps(meta, indent=2) + "\n")
        os.chmod(work, 0o755)
        os.rename(work, target)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        if target.exists():
            raise Conflict(f"agent {version} for {platform} is already published; publish a new version") from None
        raise
    found = get(data_dir, platform, version)
    assert found is not None
    return found


def get(data_dir: Path, platform: str, version: str) -> Release | None:
    if not _valid(platform, version):
        return None
    folder = _root(data_dir) / platform / version
    try:
        meta = json.loads((folder / SIGNATURE).read_text())
    except (OSError, ValueError):
        return None
    if not (folder / FILE).is_file():
        return None
    return Release(platform=platform, version=version, sha256=meta["sha256"], size=int(meta["size"]),
                   signature=meta["signature"], published_at=int(meta["published_at"]), path=folder / FILE)


def list_releases(data_dir: Path, platform: str | None = None) -> list[Release]:
    """Newest published first."""
    found = []
    for plat in [platform] if platform else PLATFORMS:
        folder = _root(data_dir) / plat
        if plat in PLATFORMS and folder.is_dir():
            found += [r for d in folder.iterdir() if (r := get(data_dir, plat, d.name)) is not None]
    return sorted(found, key=lambda r: (r.published_at, r.version), reverse=True)


def _verifies(release: Release, public_key_b64: str) -> bool:
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    try:
        key.verify(base64.b64decode(release.signature),
                   wire.update_signed_bytes(release.platform, release.version, release.sha256))
    except (InvalidSignature, ValueError):
        return False
    return True


def roll_out(rt: Runtime, p: Principal, actor: Actor, device_id: int, version: str = "") -> dict[str, Any]:
    """Queue an `update_agent` command for the device: the given version, or the latest published."""
    device = devices.get_device(rt, p, device_id, "devices.write")
    platform = device["platform"]
    data_dir = rt.settings.data_dir
    release = get(data_dir, platform, version) if version else next(iter(list_releases(data_dir, platform)), None)
    if release is None:
        wanted = f"agent {version} for {platform}" if version else f"an agent build for {platform}"
        raise Invalid(f"no {wanted} is published; publish one with `ninjait agent-release publish`",
                      field="version")
    if device["agent_version"] == release.version:
        raise Conflict(f"this device's agent already runs {release.version}")
    if not _verifies(release, service.signer(rt).public_key_b64):
        raise Conflict(f"agent {release.version} for {platform} was not signed with this appliance's key; "
                       "publish it again under a new version")
    payload = {"version": release.version, "platform": platform, "sha256": release.sha256,
               "signature": release.signature, "url": release.url}
    return service.queue_command(rt, p, actor, device_id, "update_agent", payload, expires_in_seconds=UPDATE_EXPIRY)
