"""`ninjait serve` freezes the start-up heap and collects young objects less often (cycles are still collected),
and hands the GIL over sooner."""

from __future__ import annotations

import gc
import sys
import weakref
from collections.abc import Iterator

import pytest

from ninjait.server import GC_YOUNG_THRESHOLD, GIL_SWITCH_SECONDS, settle_heap


@pytest.fixture
def restored_gc() -> Iterator[None]:
    threshold, switch = gc.get_threshold(), sys.getswitchinterval()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    sys.setswitchinterval(switch)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_start_up_objects_leave_the_collections_and_later_cycles_are_still_freed(restored_gc: None) -> None:
    loaded_at_start = Node()
    settle_heap()
    # Frozen objects are in no generation: collections (and get_objects) no longer walk them.
    assert not any(o is loaded_at_start for o in gc.get_objects())
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD > 700
    assert gc.isenabled()
    made_later = Node()
    assert any(o is made_later for o in gc.get_objects())
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    del a, b
    gc.collect()
    assert gone() is None


def test_a_thread_waiting_for_the_gil_gets_it_sooner(restored_gc: None) -> None:
    sys.setswitchinterval(0.005)  # CPython's default
    settle_heap()
    assert sys.getswitchinterval() == pytest.approx(GIL_SWITCH_SECONDS)
    assert GIL_SWITCH_SECONDS < 0.005
