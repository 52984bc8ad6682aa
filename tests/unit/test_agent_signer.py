"""The command-signing key is created once, even when the first enrollments arrive together."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from ninjait.agents import service, signing


def test_concurrent_first_use_creates_one_key(tmp_path: Path) -> None:
    for attempt in range(5):
        data_dir = tmp_path / f"data-{attempt}"
        rt = SimpleNamespace(settings=SimpleNamespace(data_dir=data_dir))
        start = threading.Barrier(16)
        keys: list[str] = []
        failures: list[BaseException] = []

        def enroll_one() -> None:
            start.wait()
            try:
                keys.append(service.signer(rt).public_key_b64)  # type: ignore[arg-type]
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

        threads = [threading.Thread(target=enroll_one) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        # Every agent got the key the appliance signs with, and the one it will load after a restart.
        assert set(keys) == {signing.load_or_create(data_dir).public_key_b64}
