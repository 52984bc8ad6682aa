"""What the agent reports: inventory (when it changes) and metric samples."""

from __future__ import annotations

import os
import platform
import socket
import time
from pathlib import Path

import psutil

from ninjait_agent import software, wire

SKIP_FS = {"tmpfs", "devtmpfs", "squashfs", "overlay", "proc", "sysfs", "cgroup", "cgroup2", "devfs", "autofs"}


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _cpu_model() -> str:
    if platform.system() == "Linux":
        for line in _read("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _os() -> tuple[str, str, str]:
    system = platform.system()
    if system == "Linux":
        fields = dict(line.split("=", 1) for line in _read("/etc/os-release").splitlines() if "=" in line)
        name = fields.get("NAME", "Linux").strip('"')
        return name, fields.get("VERSION_ID", "").strip('"'), fields.get("VERSION", "").strip('"')
    if system == "Darwin":
        return "macOS", platform.mac_ver()[0], ""
    if system == "Windows":
        return "Windows", platform.release(), platform.version()
    return system, platform.release(), ""


def _disks() -> list[wire.Disk]:
    disks = []
    for part in psutil.disk_partitions(all=False):
        if part.fstype in SKIP_FS:
            continue
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        disks.append(wire.Disk(device=part.device[:256], mount=part.mountpoint[:256], fstype=part.fstype[:256],
                               total_bytes=usage.total, free_bytes=usage.free))
    return disks[:128]


def _nics() -> list[wire.Nic]:
    nics = []
    for name, addrs in psutil.net_if_addrs().items():
        mac = next((a.address for a in addrs if a.family == psutil.AF_LINK), "")
        ips = [a.address for a in addrs if a.family in (socket.AF_INET, socket.AF_INET6)]
        nics.append(wire.Nic(name=name[:256], mac=mac[:256], addresses=[ip[:256] for ip in ips[:64]]))
    return nics[:128]


def inventory() -> wire.Inventory:
    os_name, os_version, os_build = _os()
    users = sorted({u.name for u in psutil.users()})
    return wire.Inventory(
        hostname=socket.gethostname()[:253], os_name=os_name, os_version=os_version, os_build=os_build[:256],
        kernel=platform.release()[:256], architecture=platform.machine(), cpu_model=_cpu_model()[:256],
        cpu_cores=psutil.cpu_count(logical=False) or 0, cpu_threads=psutil.cpu_count() or 0,
        ram_bytes=psutil.virtual_memory().total, boot_time=psutil.boot_time(),
        serial=_read("/sys/class/dmi/id/product_serial")[:256],
        manufacturer=_read("/sys/class/dmi/id/sys_vendor")[:256], model=_read("/sys/class/dmi/id/product_name")[:256],
        disks=_disks(), nics=_nics(), users=users[:256],
        software=software.installed()[:20000], services=software.services()[:5000],
    )


class Sampler:
    """Takes metric samples; rates (disk and network bytes/s) come from the previous sample."""

    def __init__(self) -> None:
        self._last: tuple[float, object, object] | None = None
        psutil.cpu_percent(None)  # the first call only primes the counter

    def _rates(self, now: float) -> tuple[float, float, float, float]:
        disk, net = psutil.disk_io_counters(), psutil.net_io_counters()
        rates = (0.0, 0.0, 0.0, 0.0)
        if self._last is not None and disk is not None and net is not None:
            then, d0, n0 = self._last
            span = max(now - then, 0.001)
            rates = (max(disk.read_bytes - d0.read_bytes, 0) / span,  # type: ignore[attr-defined]
                     max(disk.write_bytes - d0.write_bytes, 0) / span,  # type: ignore[attr-defined]
                     max(net.bytes_recv - n0.bytes_recv, 0) / span,  # type: ignore[attr-defined]
                     max(net.bytes_sent - n0.bytes_sent, 0) / span)  # type: ignore[attr-defined]
        self._last = (now, disk, net)
        return rates

    @staticmethod
    def _top() -> tuple[list[wire.Proc], list[wire.Proc]]:
        procs = []
        for p in psutil.process_iter(["pid", "name", "cpu_percent", "memory_info"]):
            info = p.info
            mem = info.get("memory_info")
            procs.append(wire.Proc(pid=info["pid"], name=(info.get("name") or "?")[:256],
                                   cpu_percent=min(info.get("cpu_percent") or 0.0, 100000.0),
                                   memory_mb=(mem.rss / 1048576) if mem else 0.0))
        by_cpu = sorted(procs, key=lambda x: x.cpu_percent, reverse=True)[:5]
        by_mem = sorted(procs, key=lambda x: x.memory_mb, reverse=True)[:5]
        return by_cpu, by_mem

    def sample(self) -> wire.MetricSample:
        now = time.time()
        load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
        disks = []
        for d in _disks():
            used = 100.0 * (d.total_bytes - d.free_bytes) / d.total_bytes if d.total_bytes else 0.0
            disks.append(wire.DiskUsage(mount=d.mount, used_percent=round(min(max(used, 0.0), 100.0), 2)))
        read_bps, write_bps, rx_bps, tx_bps = self._rates(now)
        top_cpu, top_mem = self._top()
        return wire.MetricSample(
            ts=now, cpu_percent=min(psutil.cpu_percent(None), 100.0), load1=load[0], load5=load[1], load15=load[2],
            mem_percent=psutil.virtual_memory().percent, swap_percent=psutil.swap_memory().percent,
            process_count=len(psutil.pids()), disks=disks, disk_read_bps=read_bps, disk_write_bps=write_bps,
            net_rx_bps=rx_bps, net_tx_bps=tx_bps, top_cpu=top_cpu, top_mem=top_mem)
