"""One typed settings object.

Precedence, highest first: CLI flag > environment ``NINJAIT_<NAME>`` (or
``NINJAIT_<NAME>_FILE`` for secrets) > ``ninjait.toml`` in the data directory
> built-in default. Every value is validated once, at start, and a bad one
names the setting and what it accepts.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "NINJAIT_"
TOML_NAME = "ninjait.toml"


class SettingsError(ValueError):
    """A setting has a value we cannot use; the message names it."""


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError("expected a whole number")
    if isinstance(raw, int):
        return raw
    return int(str(raw).strip())


def _parse_str(raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValueError("expected text")
    return raw.strip()


def _parse_path(raw: Any) -> Path | None:
    text = _parse_str(raw)
    return Path(text).expanduser() if text else None


def _parse_list(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, (list, tuple)):
        items = [str(x).strip() for x in raw]
    else:
        items = [x.strip() for x in str(raw).split(",")]
    return tuple(x for x in items if x)


@dataclass(frozen=True)
class Spec:
    """How one setting is named, parsed, checked and documented."""

    name: str
    parse: Callable[[Any], Any]
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def allowed(self) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.minimum is not None or self.maximum is not None:
            return f"a whole number from {self.minimum} to {self.maximum}"
        if self.parse is _parse_bool:
            return "true or false"
        return {
            _parse_path: "a file system path",
            _parse_list: "a comma-separated list",
        }.get(self.parse, "text")

    def convert(self, raw: Any, source: str) -> Any:
        try:
            value = self.parse(raw)
        except (TypeError, ValueError):
            value = _INVALID
        if value is not _INVALID:
            if self.choices and value not in self.choices:
                value = _INVALID
            elif isinstance(value, int) and not isinstance(value, bool):
                if (self.minimum is not None and value < self.minimum) or (
                    self.maximum is not None and value > self.maximum
                ):
                    value = _INVALID
        if value is _INVALID:
            shown = "(hidden)" if self.secret else repr(raw)
            raise SettingsError(
                f"setting {self.name} ({self.env}) from {source}: {shown} is not valid; "
                f"expected {self.allowed()}"
            )
        return value


_INVALID = object()

SPECS: tuple[Spec, ...] = (
    Spec("data_dir", _parse_path, Path("data"),
         "Directory holding every piece of state: databases, keys, certificates, queue, backups."),
    Spec("host", _parse_str, "127.0.0.1",
         "Address the HTTPS server listens on. Set 0.0.0.0 to accept agents and browsers from the network."),
    Spec("port", _parse_int, 8443, "HTTPS port.", minimum=1, maximum=65535),
    Spec("http_port", _parse_int, 0,
         "Optional plain-HTTP port that only redirects to HTTPS; 0 disables it.",
         minimum=0, maximum=65535),
    Spec("http_server", _parse_str, "granian",
         "HTTPS server: granian (HTTP and TLS outside Python's GIL; faster) or uvicorn.",
         choices=("granian", "uvicorn")),
    Spec("public_url", _parse_str, "",
         "URL agents and e-mails use to reach this appliance; defaults to https://<host>:<port>."),
    Spec("tls_cert", _parse_path, None,
         "PEM certificate (chain) to serve instead of the generated self-signed one."),
    Spec("tls_key", _parse_path, None, "PEM private key for tls_cert."),
    Spec("tls_hostnames", _parse_list, (),
         "Extra DNS names / IPs for the generated certificate (localhost and the host name are always in it)."),
    Spec("database_url", _parse_str, "",
         "Empty for embedded SQLite in the data directory, or postgresql://user:pass@host:port/db.",
         secret=True),
    Spec("db_readers", _parse_int, 4, "SQLite reader connections in the pool.", minimum=1, maximum=64),
    Spec("db_busy_timeout_ms", _parse_int, 5000,
         "How long SQLite waits on a lock before failing, in milliseconds.", minimum=0, maximum=600000),
    Spec("queue_workers", _parse_int, 2, "Background task worker threads.", minimum=1, maximum=32),
    Spec("queue_in_process", _parse_bool, True,
         "Run the task consumer inside `ninjait serve`; set false when `ninjait worker` runs separately."),
    Spec("agent_interval", _parse_int, 30, "Seconds between agent check-ins.", minimum=5, maximum=3600),
    Spec("metrics_raw_days", _parse_int, 7, "Days raw metric samples are kept.", minimum=1, maximum=90),
    Spec("metrics_5m_days", _parse_int, 90, "Days 5-minute metric aggregates are kept.", minimum=1, maximum=730),
    Spec("metrics_1h_days", _parse_int, 730, "Days 1-hour metric aggregates are kept.", minimum=1, maximum=3650),
    Spec("analytics_memory_mb", _parse_int, 128,
         "Memory DuckDB (metrics, reports) may use, in MiB; beyond it, it spills to disk.", minimum=32,
         maximum=65536),
    Spec("check_evaluate_seconds", _parse_int, 2,
         "Seconds between passes of the check evaluator over devices that sent data.", minimum=1, maximum=300),
    Spec("check_results_days", _parse_int, 30, "Days check results (history) are kept.", minimum=1, maximum=730),
    Spec("session_idle_minutes", _parse_int, 60,
         "A browser session ends after this many minutes without a request.", minimum=5, maximum=1440),
    Spec("session_max_hours", _parse_int, 12,
         "A browser session ends this many hours after login, whatever its activity.", minimum=1, maximum=720),
    Spec("backup_dir", _parse_path, None,
         "Directory for backups (a mounted share works); empty: `backups` in the data directory."),
    Spec("backup_schedule_hours", _parse_int, 24,
         "Hours between scheduled backups; 0 turns scheduled backups off.", minimum=0, maximum=720),
    Spec("backup_keep", _parse_int, 7,
         "How many backups to keep in backup_dir; the oldest are deleted after each scheduled backup.",
         minimum=1, maximum=1000),
    Spec("backup_passphrase_file", _parse_path, None,
         "File holding the passphrase that encrypts scheduled backups (keep a copy off the appliance); "
         "empty: scheduled backups are not encrypted."),
    Spec("backup_s3_url", _parse_str, "",
         "Also copy every backup to S3-compatible storage: https://endpoint/bucket[/prefix] (path-style; "
         "AWS, Backblaze B2, Wasabi, MinIO...). Empty: backups stay in backup_dir only."),
    Spec("backup_s3_region", _parse_str, "us-east-1", "Region the S3 signature names (any value for most non-AWS stores)."),
    Spec("backup_s3_access_key_id", _parse_str, "", "S3 access key id."),
    Spec("backup_s3_secret_access_key", _parse_str, "", "S3 secret access key.", secret=True),
    Spec("backup_s3_keep", _parse_int, 30,
         "How many backups to keep in the bucket; older ones are deleted after each upload.", minimum=1,
         maximum=10000),
    Spec("backup_s3_ca_file", _parse_path, None,
         "CA certificate (PEM) the S3 endpoint's certificate must chain to; empty: the system's trusted CAs."),
    Spec("plugins_dir", _parse_path, None,
         "Directory of plugins (*.py files or packages) loaded at start; empty: the plugins folder shipped "
         "with NinjaIT (the built-in notification channels)."),
    Spec("notify_private_networks", _parse_bool, False,
         "Let notification channels (webhooks, chat, ntfy) reach private and loopback addresses, e.g. an internal "
         "ntfy server. Off: public addresses only, so a tenant cannot make the appliance call its own network. "
         "Link-local addresses (cloud metadata) are refused either way."),
    Spec("smtp_host", _parse_str, "", "SMTP server for outgoing e-mail (password resets, notifications); empty disables e-mail."),
    Spec("smtp_port", _parse_int, 587, "SMTP port.", minimum=1, maximum=65535),
    Spec("smtp_security", _parse_str, "starttls", "SMTP transport security.", choices=("starttls", "tls", "none")),
    Spec("smtp_username", _parse_str, "", "SMTP login name; empty for none."),
    Spec("smtp_password", _parse_str, "", "SMTP password.", secret=True),
    Spec("smtp_from", _parse_str, "ninjait@localhost", "Sender address of outgoing e-mail."),
    Spec("mail_receiver_port", _parse_int, 0,
         "Port of the built-in SMTP receiver for inbound ticket e-mail (mailboxes of kind smtp); 0 turns it off. "
         "Point a mail forward or your MX's relay at it.", minimum=0, maximum=65535),
    Spec("mail_receiver_host", _parse_str, "127.0.0.1",
         "Address the built-in SMTP receiver listens on (0.0.0.0 for every interface)."),
    Spec("attachment_max_mib", _parse_int, 20,
         "Largest file (MiB) that may be attached to a ticket or comment.", minimum=1, maximum=100),
    Spec("log_level", _parse_str, "info", "Log level.", choices=("debug", "info", "warning", "error")),
    Spec("log_format", _parse_str, "auto",
         "Log format: json lines, human text, or auto (text on a terminal, json otherwise).",
         choices=("auto", "json", "text")),
)

SPEC_BY_NAME: dict[str, Spec] = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8443
    http_port: int = 0
    http_server: str = "granian"
    public_url: str = ""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_hostnames: tuple[str, ...] = ()
    database_url: str = ""
    db_readers: int = 4
    db_busy_timeout_ms: int = 5000
    queue_workers: int = 2
    queue_in_process: bool = True
    agent_interval: int = 30
    metrics_raw_days: int = 7
    metrics_5m_days: int = 90
    metrics_1h_days: int = 730
    analytics_memory_mb: int = 128
    check_evaluate_seconds: int = 2
    check_results_days: int = 30
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    backup_dir: Path | None = None
    backup_schedule_hours: int = 24
    backup_keep: int = 7
    backup_passphrase_file: Path | None = None
    backup_s3_url: str = ""
    backup_s3_region: str = "us-east-1"
    backup_s3_access_key_id: str = ""
    backup_s3_secret_access_key: str = ""
    backup_s3_keep: int = 30
    backup_s3_ca_file: Path | None = None
    plugins_dir: Path | None = None
    notify_private_networks: bool = False
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "ninjait@localhost"
    mail_receiver_port: int = 0
    mail_receiver_host: str = "127.0.0.1"
    attachment_max_mib: int = 20
    log_level: str = "info"
    log_format: str = "auto"
    # Where each value came from, for `ninjait check`.
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def backend(self) -> str:
        return "postgresql" if self.database_url.startswith(("postgresql://", "postgres://")) else "sqlite"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in {"0.0.0.0", "127.0.0.1", "::"} else self.host
        return f"https://{host}:{self.port}"

    @property
    def backup_directory(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.data_dir / "backups"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _read_secret_file(spec: Spec, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(
            f"setting {spec.name}: cannot read {spec.env}_FILE {path!r}: {exc.strerror}"
        ) from None


def _read_toml(data_dir: Path) -> dict[str, Any]:
    path = data_dir / TOML_NAME
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {exc}") from None
    unknown = sorted(set(table) - set(SPEC_BY_NAME) - {"data_dir"})
    if unknown:
        raise SettingsError(
            f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(SPEC_BY_NAME)}"
        )
    table.pop("data_dir", None)
    return table


def load(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from CLI values (None = not given), environment and the TOML file."""
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    env = os.environ if env is None else env
    unknown_env = sorted(
        k for k in env
        if k.startswith(ENV_PREFIX)
        and k.removeprefix(ENV_PREFIX).removesuffix("_FILE").lower() not in SPEC_BY_NAME
        and not k.startswith(ENV_PREFIX + "TEST_")
    )
    if unknown_env:
        raise SettingsError(f"unknown environment setting(s): {', '.join(unknown_env)}")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    def from_env(spec: Spec) -> tuple[Any, str] | None:
        if spec.secret and spec.env + "_FILE" in env:
            return _read_secret_file(spec, env[spec.env + "_FILE"]), spec.env + "_FILE"
        if spec.env in env:
            return env[spec.env], spec.env
        return None

    data_spec = SPEC_BY_NAME["data_dir"]
    if "data_dir" in cli:
        values["data_dir"] = data_spec.convert(cli["data_dir"], "--data-dir")
        sources["data_dir"] = "flag"
    elif (found := from_env(data_spec)) is not None:
        values["data_dir"] = data_spec.convert(found[0], found[1])
        sources["data_dir"] = "env"
    else:
        values["data_dir"] = data_spec.default
        sources["data_dir"] = "default"

    toml = _read_toml(values["data_dir"])
    for spec in SPECS[1:]:
        if spec.name in cli:
            values[spec.name] = spec.convert(cli[spec.name], spec.flag)
            sources[spec.name] = "flag"
        elif (found := from_env(spec)) is not None:
            values[spec.name] = spec.convert(found[0], found[1])
            sources[spec.name] = "env"
        elif spec.name in toml:
            values[spec.name] = spec.convert(toml[spec.name], TOML_NAME)
            sources[spec.name] = "file"
        else:
            values[spec.name] = spec.default
            sources[spec.name] = "default"

    settings = Settings(**values, sources=sources)
    _check_combinations(settings)
    return settings


def _check_combinations(s: Settings) -> None:
    if (s.tls_cert is None) != (s.tls_key is None):
        raise SettingsError("settings tls_cert and tls_key must be given together")
    if s.http_port and s.http_port == s.port:
        raise SettingsError(f"setting http_port ({s.http_port}) must differ from port")
    if s.backup_s3_url:
        _check_s3(s)
    if s.database_url and s.backend != "postgresql":
        raise SettingsError(
            "setting database_url (NINJAIT_DATABASE_URL): expected empty (embedded SQLite) "
            "or a postgresql:// URL"
        )


def _check_s3(s: Settings) -> None:
    from urllib.parse import urlsplit

    from ninjait.backup.s3 import Target

    try:
        Target.parse(s.backup_s3_url, s.backup_s3_region, "", "")
    except ValueError as exc:
        raise SettingsError(f"setting backup_s3_url: {exc}") from None
    parts = urlsplit(s.backup_s3_url)
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "::1", "localhost"):
        raise SettingsError("setting backup_s3_url: plain http only to this machine (127.0.0.1); use https")
    if not (s.backup_s3_access_key_id and s.backup_s3_secret_access_key):
        raise SettingsError("setting backup_s3_url needs backup_s3_access_key_id and backup_s3_secret_access_key")
