"""Installed software and services, one interface over each platform's own tools."""

from __future__ import annotations

import platform
import shutil
import subprocess

from ninjait_agent import wire
from ninjait_agent.commands import child_env


def _run(cmd: list[str], timeout: float = 60) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False,
                              env=child_env()).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _cut(text: str) -> str:
    return text.strip()[:256]


def installed() -> list[wire.Software]:
    system = platform.system()
    if system == "Linux":
        if shutil.which("dpkg-query"):
            out = _run(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${Maintainer}\t${db:Status-Abbrev}\n"])
            return [wire.Software(name=_cut(p[0]), version=_cut(p[1]), publisher=_cut(p[2]))
                    for p in (line.split("\t") for line in out.splitlines()) if len(p) >= 4 and p[3].startswith("ii")]
        if shutil.which("rpm"):
            out = _run(["rpm", "-qa", "--qf", "%{NAME}\t%{VERSION}-%{RELEASE}\t%{VENDOR}\n"])
            return [wire.Software(name=_cut(p[0]), version=_cut(p[1]), publisher=_cut(p[2]))
                    for p in (line.split("\t") for line in out.splitlines()) if len(p) >= 3]
        return []
    if system == "Darwin":
        return [wire.Software(name=_cut(pkg)) for pkg in _run(["pkgutil", "--pkgs"]).splitlines() if pkg.strip()]
    if system == "Windows":
        return _windows_software()
    return []


def _windows_software() -> list[wire.Software]:  # pragma: no cover - Windows only
    import winreg  # type: ignore[import-not-found]

    found: dict[str, wire.Software] = {}
    roots = [(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall"),
             (winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall")]
    for hive, path in roots:
        try:
            key = winreg.OpenKey(hive, path)
        except OSError:
            continue
        for i in range(winreg.QueryInfoKey(key)[0]):
            try:
                sub = winreg.OpenKey(key, winreg.EnumKey(key, i))
                name = winreg.QueryValueEx(sub, "DisplayName")[0]
            except OSError:
                continue

            def value(field: str) -> str:
                try:
                    return str(winreg.QueryValueEx(sub, field)[0])
                except OSError:
                    return ""

            found[name] = wire.Software(name=_cut(name), version=_cut(value("DisplayVersion")),
                                        publisher=_cut(value("Publisher")))
    return list(found.values())


def services() -> list[wire.Service]:
    system = platform.system()
    if system == "Linux" and shutil.which("systemctl"):
        out = _run(["systemctl", "list-units", "--type=service", "--all", "--no-legend", "--no-pager", "--plain"])
        result = []
        for line in out.splitlines():
            parts = line.split(None, 4)
            if len(parts) >= 4:
                result.append(wire.Service(name=_cut(parts[0]), state=_cut(parts[3])))
        return result
    if system == "Windows":  # pragma: no cover - Windows only
        import psutil

        return [wire.Service(name=_cut(s.name()), state=_cut(s.status()), start_mode=_cut(s.start_type()))
                for s in psutil.win_service_iter()]
    if system == "Darwin":
        out = _run(["launchctl", "list"])
        return [wire.Service(name=_cut(p[2]), state="running" if p[0] != "-" else "stopped")
                for p in (line.split("\t") for line in out.splitlines()[1:]) if len(p) == 3]
    return []
