"""What a new inventory changes on a device's timeline (pure diffs, no database)."""

from __future__ import annotations

from typing import Any

from ninjait.devices.activity import inventory_changes


def base() -> dict[str, Any]:
    return {"hostname": "pc-1", "os_name": "Debian GNU/Linux", "os_version": "12", "kernel": "6.1", "ram_bytes": 8 << 30,
            "cpu_model": "Xeon", "boot_time": 1_000_000.0,
            "disks": [{"device": "/dev/sda1", "mount": "/", "fstype": "ext4", "total_bytes": 100, "free_bytes": 40}],
            "nics": [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": ["10.0.0.5"]}],
            "software": [{"name": "firefox", "version": "120"}, {"name": "vim", "version": "9.0"}],
            "services": [{"name": "ssh", "state": "running"}, {"name": "cups", "state": "running"}]}


def kinds(changes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["kind"]: c for c in changes}


def test_the_first_inventory_is_one_entry() -> None:
    [only] = inventory_changes(None, base())
    assert only["kind"] == "inventory" and only["details"] == {"software": 2, "disks": 1, "interfaces": 1}


def test_an_identical_inventory_changes_nothing_and_free_space_is_not_news() -> None:
    new = base()
    new["disks"][0]["free_bytes"] = 10
    new["boot_time"] += 30  # clock jitter, not a restart
    assert inventory_changes(base(), new) == []


def test_software_installed_removed_and_updated() -> None:
    new = base()
    new["software"] = [{"name": "firefox", "version": "121"}, {"name": "7zip", "version": "23"}]
    sw = kinds(inventory_changes(base(), new))["software"]
    assert sw["details"] == {"installed": [{"name": "7zip", "version": "23"}],
                             "removed": [{"name": "vim", "version": "9.0"}],
                             "updated": [{"name": "firefox", "from": "120", "to": "121"}]}
    assert sw["summary"] == "Software: 1 installed, 1 removed, 1 updated"


def test_disk_added_and_resized_ip_changed_os_upgraded_restart_and_services() -> None:
    new = base()
    new["disks"] = [{"device": "/dev/sda1", "mount": "/", "fstype": "ext4", "total_bytes": 200, "free_bytes": 1},
                    {"device": "/dev/sdb1", "mount": "/data", "fstype": "xfs", "total_bytes": 500, "free_bytes": 500}]
    new["nics"] = [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": ["10.0.0.9"]},
                   {"name": "wg0", "addresses": ["10.8.0.2"]}]
    new["os_version"], new["kernel"] = "13", "6.12"
    new["boot_time"] += 3600
    new["services"] = [{"name": "ssh", "state": "stopped"}, {"name": "nginx", "state": "running"}]
    found = kinds(inventory_changes(base(), new))
    assert set(found) == {"disks", "network", "os", "restart", "services"}
    assert found["disks"]["details"]["added"] == [{"mount": "/data", "device": "/dev/sdb1", "total_bytes": 500}]
    assert found["disks"]["details"]["resized"] == [{"mount": "/", "from": 100, "to": 200}]
    assert found["network"]["details"]["interfaces"] == [
        {"interface": "eth0", "change": "addresses", "removed": ["10.0.0.5"], "added": ["10.0.0.9"]},
        {"interface": "wg0", "change": "added", "removed": [], "added": ["10.8.0.2"]}]
    assert "eth0 10.0.0.5 → 10.0.0.9" in found["network"]["summary"]
    assert found["os"]["details"]["changed"] == [{"field": "os_version", "from": "12", "to": "13"},
                                                 {"field": "kernel", "from": "6.1", "to": "6.12"}]
    assert found["services"]["details"] == {"added": ["nginx"], "removed": ["cups"],
                                            "state": [{"name": "ssh", "from": "running", "to": "stopped"}]}


def test_hardware_and_host_name_changes() -> None:
    new = base()
    new["ram_bytes"], new["hostname"] = 16 << 30, "pc-renamed"
    found = kinds(inventory_changes(base(), new))
    assert found["hardware"]["details"]["changed"] == [{"field": "ram_bytes", "from": 8 << 30, "to": 16 << 30}]
    assert found["hostname"]["summary"] == "Host name: pc-1 → pc-renamed"
