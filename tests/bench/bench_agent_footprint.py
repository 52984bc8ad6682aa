"""The agent's footprint: RSS and CPU of a real agent checking in to a real appliance.

    .venv/bin/python tests/bench/bench_agent_footprint.py                  # 3 minutes at 30 s
    .venv/bin/python tests/bench/bench_agent_footprint.py --minutes 1 --interval 10
    .venv/bin/python tests/bench/bench_agent_footprint.py --binary dist/ninjait-agent --no-source

Starts the appliance on loopback with `agent_interval` set to --interval (the agent
takes its interval from the appliance, as in production), enrolls one agent run from
source and, when a one-file build exists (`make agent-binary`, or --binary), one run
from it; both run side by side. Every second it samples each agent's process tree
with psutil (the one-file build is two processes: the bootloader and Python).

Goal (the issue): < 50 MB RSS and < 1 % of one core at the 30 s interval. CPU is
reported over the whole run (start-up and the first inventory included) and in the
steady state after the first two intervals; both count the CPU of the programs the
agent runs to collect inventory (dpkg-query, systemctl), which it waits for.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ninjait.settings import Settings  # noqa: E402
from tests.support.agent import AgentProcess, fingerprint  # noqa: E402
from tests.support.appliance import Appliance  # noqa: E402
from tests.support.identity import Browser, seed_world  # noqa: E402

GOAL_RSS_MB = 50
GOAL_CPU_PCT = 1.0


@dataclass
class Measured:
    name: str
    agent: AgentProcess
    rss_mb: list[float] = field(default_factory=list)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (monotonic time, CPU seconds so far)

    def sample(self) -> None:
        assert self.agent.proc is not None
        try:
            top = psutil.Process(self.agent.proc.pid)
            # The agent's own processes: Python, and for the one-file build its bootloader parent (same
            # name). Not the tools it runs for inventory: their CPU is counted once they exit (waited-for
            # children's times), their memory is theirs.
            own = [top, *(c for c in top.children() if c.name() == top.name())]
            rss = sum(p.memory_info().rss for p in own)
            cpu = sum(sum(p.cpu_times()[:4]) for p in own)  # user, system, waited-for children's user, system
        except psutil.NoSuchProcess:
            return
        self.rss_mb.append(rss / 1e6)
        self.cpu.append((time.monotonic(), cpu))

    def cpu_pct(self, after: float = 0.0) -> float:
        points = [p for p in self.cpu if p[0] >= self.cpu[0][0] + after] or self.cpu
        (t0, c0), (t1, c1) = points[0], points[-1]
        return 100 * (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="how long the agents run (default 3)")
    parser.add_argument("--interval", type=int, default=30, help="check-in interval in seconds (default 30, min 5)")
    parser.add_argument("--binary", type=Path, default=ROOT / "dist" / "ninjait-agent",
                        help="one-file build to measure too, if it exists (default dist/ninjait-agent)")
    parser.add_argument("--no-source", action="store_true", help="measure only the binary")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, state) and print it")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    data = base / "data"
    data.mkdir()
    world = seed_world(Settings(data_dir=data))
    app = Appliance(data, env={"NINJAIT_AGENT_INTERVAL": str(args.interval)}).start()
    runs: list[Measured] = []
    try:
        admin = Browser(app).login(world.people["a-organizationadmin"])
        variants: list[tuple[str, list[str] | None]] = [] if args.no_source else [("source", None)]
        if args.binary.is_file():
            variants.append((f"binary ({args.binary.name})", [str(args.binary.resolve())]))
        elif args.no_source:
            parser.error(f"{args.binary} does not exist (make agent-binary)")
        for i, (name, command) in enumerate(variants):
            (base / f"tmp{i}").mkdir()
            agent = AgentProcess(base / f"agent{i}", app.url, command=command, env={"TMPDIR": str(base / f"tmp{i}")})
            token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
            enrolled = agent.enroll(token, fingerprint(app))
            if enrolled.returncode != 0:
                raise SystemExit(f"enrollment failed: {enrolled.stderr}")
            runs.append(Measured(name, agent))
        admin.close()
        for run in runs:
            run.agent.start(interval=None, log_level="info")  # as in production: the appliance's interval
        print(f"measuring {', '.join(r.name for r in runs)} for {args.minutes:g} min at a {args.interval} s "
              f"interval (pids {', '.join(str(r.agent.proc.pid) for r in runs if r.agent.proc)})", flush=True)
        deadline = time.monotonic() + args.minutes * 60
        while time.monotonic() < deadline:
            for run in runs:
                run.sample()
            time.sleep(1.0)
        print()
        print(f"{'agent':<26} {'check-ins':>9} {'peak RSS':>9} {'avg RSS':>8} {'CPU all':>8} {'CPU steady':>10}")
        ok = True
        for run in runs:
            sequence = run.agent.status()["last_sequence"]
            peak, avg = max(run.rss_mb), statistics.fmean(run.rss_mb)
            overall, steady = run.cpu_pct(), run.cpu_pct(after=2 * args.interval)
            print(f"{run.name:<26} {sequence:>9} {peak:>6.1f} MB {avg:>5.1f} MB {overall:>7.2f}% {steady:>9.2f}%")
            ok = ok and peak < GOAL_RSS_MB and steady < GOAL_CPU_PCT
        print(f"\ngoal: < {GOAL_RSS_MB} MB RSS and < {GOAL_CPU_PCT:g} % of one core: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        for run in runs:
            run.agent.stop()
        app.stop()
        if args.keep:
            print(f"logs and state: {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
