from __future__ import annotations

import re
from pathlib import Path

import pytest

from ninjait.settings import SPECS, SettingsError, load

ROOT = Path(__file__).resolve().parents[2]


def test_it_uses_defaults_when_nothing_is_given(tmp_path: Path) -> None:
    s = load({"data_dir": str(tmp_path)}, env={})
    assert s.port == 8443 and s.http_port == 0 and s.backend == "sqlite"
    assert s.sources["port"] == "default"


def test_it_applies_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    (tmp_path / "ninjait.toml").write_text('port = 9001\nlog_level = "warning"\nqueue_workers = 3\n')
    env = {"NINJAIT_PORT": "9002", "NINJAIT_LOG_LEVEL": "error"}
    s = load({"data_dir": str(tmp_path), "port": "9003"}, env=env)
    assert s.port == 9003 and s.sources["port"] == "flag"
    assert s.log_level == "error" and s.sources["log_level"] == "env"
    assert s.queue_workers == 3 and s.sources["queue_workers"] == "file"


def test_it_reads_the_data_dir_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "ninjait.toml").write_text("port = 9100\n")
    s = load({}, env={"NINJAIT_DATA_DIR": str(tmp_path)})
    assert s.data_dir == tmp_path and s.port == 9100


def test_it_reads_secrets_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "db-url"
    secret.write_text("postgresql://u:p@127.0.0.1:5432/x\n")
    s = load({"data_dir": str(tmp_path)}, env={"NINJAIT_DATABASE_URL_FILE": str(secret)})
    assert s.database_url == "postgresql://u:p@127.0.0.1:5432/x" and s.backend == "postgresql"


def test_it_names_the_setting_and_allowed_values_on_a_bad_value(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"setting log_level \(NINJAIT_LOG_LEVEL\).*'loud'.*one of debug, info, warning, error"):
        load({"data_dir": str(tmp_path)}, env={"NINJAIT_LOG_LEVEL": "loud"})
    with pytest.raises(SettingsError, match=r"setting port .*from 1 to 65535"):
        load({"data_dir": str(tmp_path), "port": "70000"}, env={})
    with pytest.raises(SettingsError, match=r"queue_in_process.*true or false"):
        load({"data_dir": str(tmp_path)}, env={"NINJAIT_QUEUE_IN_PROCESS": "maybe"})


def test_it_hides_secret_values_in_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load({"data_dir": str(tmp_path)}, env={"NINJAIT_DATABASE_URL": "mysql://root:hunter2@x/y"})
    assert "hunter2" not in str(err.value)


def test_it_refuses_unknown_settings_in_env_and_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="NINJAIT_PROT"):
        load({"data_dir": str(tmp_path)}, env={"NINJAIT_PROT": "1"})
    (tmp_path / "ninjait.toml").write_text("prot = 1\n")
    with pytest.raises(SettingsError, match="unknown setting.*prot"):
        load({"data_dir": str(tmp_path)}, env={})


def test_it_reports_a_broken_toml_file(tmp_path: Path) -> None:
    (tmp_path / "ninjait.toml").write_text("port = = 1\n")
    with pytest.raises(SettingsError, match="ninjait.toml"):
        load({"data_dir": str(tmp_path)}, env={})


def test_it_requires_cert_and_key_together(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="tls_cert and tls_key"):
        load({"data_dir": str(tmp_path), "tls_cert": "/x.pem"}, env={})


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(NINJAIT_[A-Z0-9_]+)`", readme))
    missing = [s.env for s in SPECS if s.env not in documented]
    assert not missing, f"settings missing from README.md: {missing}"


def test_the_readme_tables_are_current() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "build"))
    try:
        from readme_tables import TABLES
    finally:
        sys.path.pop(0)
    readme = (ROOT / "README.md").read_text()
    for name, make in TABLES.items():
        assert make() in readme, f"README.md's {name} table is behind: run .venv/bin/python build/readme_tables.py"
