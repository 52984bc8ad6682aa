"""The agent's service loop: sample, seal a batch, send everything queued, act on the answer."""

from __future__ import annotations

import logging
import random
import threading
import time
from pathlib import Path

from ninjait_agent import __version__, collect, config as cfg, events, update, wire
from ninjait_agent.checks import CheckRunner
from ninjait_agent.commands import Executor, Refused, verify
from ninjait_agent.outbox import Outbox
from ninjait_agent.transport import PinMismatch, Transport, TransportError

log = logging.getLogger("ninjait_agent")
MAX_BACKOFF = 300.0
INVENTORY_EVERY = 6 * 3600


class Revoked(Exception):
    """The server no longer accepts this agent's credentials."""


class Agent:
    def __init__(self, state: Path, config: cfg.Config, secret: str, *, transport: Transport | None = None) -> None:
        self.state = state
        self.config = config
        self.secret = secret
        self.outbox = Outbox(state / "outbox.db")
        self.transport = transport or Transport(config.server, config.fingerprint)
        self.sampler = collect.Sampler()
        self.samples: list[wire.MetricSample] = []
        self._inventory_due = threading.Event()
        self._inventory_due.set()
        self.executor = Executor(self.outbox, no_scripts=config.no_scripts, reboot_command=config.reboot_command,
                                 on_refresh_inventory=self._inventory_due.set,
                                 on_update=lambda cmd: update.apply(self, cmd.id, cmd.payload))
        self.checks = CheckRunner(self.outbox, agent_id=config.agent_id, signing_key=config.signing_key,
                                  no_scripts=config.no_scripts)
        self.backoff = 0.0
        self.restart_requested = False
        self.fixed_interval = False  # set by `run --interval` (tests, debugging): ignore the server's value

    # --- one round ----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Agent {self.config.agent_id}:{self.secret}"}

    def _inventory(self) -> tuple[wire.Inventory | None, str]:
        """The inventory to send (None when unchanged) and its hash."""
        inventory, digest = None, self.outbox.get("inventory_hash")
        last = float(self.outbox.get("inventory_at", "0"))
        if self._inventory_due.is_set() or time.time() - last > INVENTORY_EVERY:
            self._inventory_due.clear()
            inv = collect.inventory()
            new_digest = wire.inventory_hash(inv)
            if new_digest != digest or self.outbox.get("inventory_wanted") == "1":
                inventory = inv
            digest = new_digest
            self.outbox.put("inventory_hash", digest)
            self.outbox.put("inventory_at", str(time.time()))
            self.outbox.put("inventory_wanted", "0")
        return inventory, digest

    def _events(self) -> list[wire.AgentEvent]:
        """Errors logged since the last round (none on the first: no history is sent)."""
        now = time.time()
        since = float(self.outbox.get("events_since", "0"))
        self.outbox.put("events_since", str(now))
        if not since or self.config.no_events:
            return []
        return events.collect(since)

    def seal(self) -> int:
        inventory, digest = self._inventory()
        samples = self.samples
        logged = self._events()

        def build(seq: int, results: list[dict], checks: list[dict]) -> bytes:  # type: ignore[type-arg]
            return wire.ENCODER.encode(wire.CheckIn(
                seq=seq, sent_at=time.time(), agent_version=__version__, metrics=samples,
                results=[wire.CommandResult(**r) for r in results], inventory=inventory, inventory_hash=digest,
                checks_version=self.checks.version, check_results=[wire.CheckReport(**r) for r in checks],
                events=logged))

        seq = self.outbox.seal_batch(build)
        self.samples = []
        return seq

    def flush(self) -> int:
        """Send queued batches oldest first; returns how many the server acknowledged."""
        sent = 0
        while True:
            pending = self.outbox.pending()
            if not pending:
                return sent
            for seq, body in pending:
                try:
                    raw = self.transport.request("POST", "/agent/v1/checkin", body, self._headers(), compress=True)
                except TransportError as exc:
                    if exc.status == 401:
                        raise Revoked(str(exc)) from None
                    raise
                reply = wire.REPLY_DECODER.decode(raw)
                self.outbox.acknowledge(seq)
                sent += 1
                self._handle(reply)

    def _handle(self, reply: wire.CheckInReply) -> None:
        if not self.fixed_interval and reply.interval != self.config.interval and 5 <= reply.interval <= 3600:
            self.config.interval = reply.interval
            cfg.save(self.state, self.config)
        if reply.send_inventory:
            self.outbox.put("inventory_wanted", "1")
            self._inventory_due.set()
        if reply.rotate_secret:
            self._rotate()
        if reply.checks is not None:
            self.checks.replace(reply.checks)
        update.after_check_in(self)
        for cmd in reply.commands:
            try:
                verify(cmd, agent_id=self.config.agent_id, public_key_b64=self.config.signing_key,
                       outbox=self.outbox)
            except Refused as exc:
                self.executor.refuse(cmd, str(exc))
                continue
            self.executor.start(cmd)

    def _rotate(self) -> None:
        raw = self.transport.request("POST", "/agent/v1/rotate", b"{}", self._headers())
        new_secret = wire.ROTATE_REPLY_DECODER.decode(raw).secret
        cfg.save(self.state, self.config, new_secret)
        self.secret = new_secret
        log.info("agent secret rotated")

    def round(self) -> None:
        self.samples.append(self.sampler.sample())
        self.checks.run_due()
        self.seal()
        self.flush()

    # --- the loop ---------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> int:
        log.info("agent %s %s reporting to %s every %ss", self.config.agent_id, __version__, self.config.server,
                 self.config.interval)
        while not stop.is_set():
            if update.probation_over(self.state):
                self.restart_requested = True  # the previous build is back in place: let it start
            if self.restart_requested and self.executor.idle():
                try:
                    self.seal()
                    self.flush()  # report the update before the new build takes over
                except TransportError:
                    pass
                log.info("exiting %d: the service manager starts the executable again (updated or restored)",
                         update.RESTART_EXIT_CODE)
                self._close()
                return update.RESTART_EXIT_CODE
            try:
                self.samples.append(self.sampler.sample())
                self.checks.run_due()  # results reach the server in a later batch
                self.seal()
                self.flush()
                self.backoff = 0.0
                wait = self.config.interval * random.uniform(0.9, 1.1)  # jitter: agents do not march in step
            except Revoked as exc:
                log.error("the server refused this agent's credentials (revoked or unknown): %s; stopping", exc)
                return 3
            except PinMismatch:
                self.backoff = min(max(self.backoff * 2, self.config.interval), MAX_BACKOFF)
                wait = self.backoff * random.uniform(0.5, 1.0)
            except TransportError as exc:
                self.backoff = min(max(self.backoff * 2, 5.0), MAX_BACKOFF)
                wait = self.backoff * random.uniform(0.5, 1.0)
                log.warning("check-in failed (%s); %d batch(es) queued; next try in %.0fs", exc,
                            self.outbox.count(), wait)
            stop.wait(wait)
        self._close()
        return 0

    def _close(self) -> None:
        self.checks.close()
        self.executor.wait()
        self.transport.close()
        self.outbox.close()
