"""Sample a running appliance with py-spy and say where the GIL's time goes.

    .venv/bin/python tests/bench/gil_profile.py --pid PID --seconds 30        (or: fleet_sim.py --profile)

`py-spy record --gil` samples only the thread holding the GIL: in one Python process that is the
resource every request, the writer thread and the mover share, so its shares are where a check-in's
CPU goes. Prints the share of samples per file and per line (self) and the heaviest call sites
(inclusive). py-spy needs ptrace (root, or CAP_SYS_PTRACE); it comes with the dev extra.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

_FRAME = re.compile(r"^(?P<fn>.*) \((?P<file>.*?):(?P<line>\d+)\)$")


def record(pid: int, seconds: float, rate: int = 100) -> list[tuple[list[str], int]]:
    """py-spy's raw (collapsed) stacks of the GIL holder: [(frames root first, samples)]."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stacks.txt"
        subprocess.run([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(rate),
                        "--gil", "--format", "raw", "--output", str(out)], check=True, capture_output=True)
        stacks = []
        for line in out.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            stacks.append((stack.split(";"), int(count)))
    return stacks


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if not m:
        return frame
    file = re.sub(r"^.*site-packages/", "", m["file"])
    return f"{m['fn']} ({file}:{m['line']})"


def summarize(stacks: list[tuple[list[str], int]], top: int = 25) -> dict[str, Any]:
    total = sum(n for _, n in stacks) or 1
    by_file: collections.Counter[str] = collections.Counter()
    by_line: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        leaf = _short(frames[-1])
        by_line[leaf] += n
        by_file[leaf.rpartition("(")[2].rpartition(":")[0] or leaf] += n
        for frame in set(frames[1:]):
            inclusive[_short(frame)] += n

    def shares(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(name, round(100 * n / total, 1)) for name, n in counter.most_common(top)]

    return {"samples": total, "by_file": shares(by_file), "self": shares(by_line), "inclusive": shares(inclusive)}


def print_summary(summary: dict[str, Any]) -> None:
    print(f"GIL profile: {summary['samples']} samples of the thread holding the GIL")
    for title in ("by_file", "self", "inclusive"):
        print(f"-- {title}")
        for name, share in summary[title]:
            print(f"{share:5.1f}%  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print_summary(summarize(record(args.pid, args.seconds), args.top))


if __name__ == "__main__":
    main()
