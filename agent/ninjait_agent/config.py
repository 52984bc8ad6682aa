"""The agent's state directory: config.json, the secret (mode 0600) and the outbox database."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENV_DIR = "NINJAIT_AGENT_DIR"


def default_dir() -> Path:
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    if os.name == "nt":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "NinjaIT Agent"
    if os.geteuid() != 0:
        return Path.home() / ".ninjait-agent"
    # Where the .deb's systemd unit and the launchd job (build/agent/) point the service.
    if sys.platform == "darwin":
        return Path("/Library/Application Support/NinjaIT Agent")
    return Path("/var/lib/ninjait-agent")


class ConfigError(Exception):
    pass


@dataclass
class Config:
    server: str
    agent_id: str
    signing_key: str  # base64 Ed25519 public key of the server
    fingerprint: str = ""  # SHA-256 of the server certificate; empty = public CA validation
    interval: int = 30
    no_scripts: bool = False
    no_events: bool = False  # do not send the errors the endpoint logs
    reboot_command: list[str] = field(default_factory=lambda: ["shutdown", "-r", "+1"])
    status: str = "active"


def config_path(state: Path) -> Path:
    return state / "config.json"


def secret_path(state: Path) -> Path:
    return state / "secret"


def load(state: Path) -> tuple[Config, str]:
    try:
        data = json.loads(config_path(state).read_text())
        secret = secret_path(state).read_text().strip()
    except FileNotFoundError:
        raise ConfigError(f"not enrolled: no configuration in {state} (run `ninjait-agent enroll` first)") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the configuration in {state}: {exc}") from None
    return Config(**data), secret


def save(state: Path, config: Config, secret: str | None = None) -> None:
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write(config_path(state), json.dumps(asdict(config), indent=2).encode(), 0o600)
    if secret is not None:
        _write(secret_path(state), secret.encode(), 0o600)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
