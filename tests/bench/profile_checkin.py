"""Profile the check-in hot path in-process: decode, authenticate, ingest in the writer, encode the reply.

    .venv/bin/python tests/bench/profile_checkin.py [--checkins 3000] [--agents 200]

Enrolls agents straight through the service, then runs gateway.check_in for the fleet simulator's
check-ins (`--samples` samplings each, 1 by default as the agent sends) under cProfile (the HTTP stack is left out: fleet_sim.py's baseline measures that part) and
prints the throughput of the handler alone and the functions where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ninjait_agent import wire  # noqa: E402

from ninjait.agents import gateway, service  # noqa: E402
from ninjait.core import runtime as rt_mod  # noqa: E402
from ninjait.identity.principal import SYSTEM  # noqa: E402
from ninjait.settings import Settings  # noqa: E402
from tests.bench.fleet_sim import body_of, metrics_json  # noqa: E402
from tests.support.identity import admin_principal, seed_world  # noqa: E402


async def run(rt: rt_mod.Runtime, creds: list[tuple[str, str]], n: int, concurrency: int, samplings: int) -> float:
    metrics = metrics_json(time.time() - 600, samplings)
    seqs = dict.fromkeys((uid for uid, _ in creds), 1)
    todo = iter(range(n))

    async def one(worker: int) -> None:
        for i in todo:
            uid, secret = creds[(i * 7 + worker) % len(creds)]
            seqs[uid] += 1
            body = body_of(seqs[uid], metrics)

            async def read_body(body: bytes = body) -> bytes:
                return body

            await gateway.check_in(rt, f"Agent {uid}:{secret}", read_body, "")

    t = time.perf_counter()
    await asyncio.gather(*(one(w) for w in range(concurrency)))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkins", type=int, default=3000)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--samples", type=int, default=1, help="samplings per check-in")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--no-profile", action="store_true", help="time the handler without cProfile's overhead")
    parser.add_argument("--pragma", action="append", default=[],
                        help="try a PRAGMA on the writer connection, e.g. cache_size=-32000 (experiments)")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="ninjait-profile-")) / "data"
    data.mkdir(parents=True)
    world = seed_world(Settings(data_dir=data))
    rt = rt_mod.start(Settings(data_dir=data))
    for pragma in args.pragma:
        rt.db.write(lambda c, pragma=pragma: c.raw.execute(f"PRAGMA {pragma}").fetchall())
    try:
        token = service.create_enrollment_token(rt, admin_principal(world.tenants["a"]), SYSTEM, world.sites["a"],
                                                "profile", max_uses=10_000)["token"]
        creds = []
        for i in range(args.agents):
            reply = service.enroll(rt, wire.EnrollRequest(token=token, hostname=f"p-{i}", platform="linux",
                                                          agent_version="sim-1"), "127.0.0.1")
            creds.append((reply.agent_id, reply.secret))
        asyncio.run(run(rt, creds, 200, args.concurrency, args.samples))  # warm-up: caches, first inserts
        profiler = cProfile.Profile()
        writer = cProfile.Profile()
        original = rt.db._commit_batch

        def profiled_commit(*a: object) -> None:  # runs in the writer thread: profile it there
            writer.enable()
            try:
                original(*a)  # type: ignore[arg-type]
            finally:
                writer.disable()

        if not args.no_profile:
            rt.db._commit_batch = profiled_commit  # type: ignore[method-assign]
            profiler.enable()
        seconds = asyncio.run(run(rt, creds, args.checkins, args.concurrency, args.samples))
        profiler.disable()
        rt.db._commit_batch = original  # type: ignore[method-assign]
    finally:
        rt_mod.stop()
        shutil.rmtree(data.parent, ignore_errors=True)
    for name, prof in () if args.no_profile else (("event loop thread", profiler), ("writer thread (group commits)", writer)):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
        if prof is writer:
            pstats.Stats(prof, stream=out).sort_stats("tottime").print_callers("execute")
        print(f"=== {name} ===\n{out.getvalue()}")
    print(f"profile_checkin: {args.checkins} check-ins of 20 samples in {seconds:.2f} s "
          f"{'' if args.no_profile else 'under cProfile '}= {args.checkins / seconds:.0f}/s (handler only, one process)")


if __name__ == "__main__":
    main()
