"""A stateful model test: random operation sequences on real maps against a dict model.

Hypothesis drives update/delete/lookup/lookup_and_delete and the batch
operations with every update flag on HASH (preallocated and not) and ARRAY
maps, interleaving clone, close, pin and load_pinned; after each step the map
must equal the model. The module's descriptor check proves nothing leaks.
"""

from __future__ import annotations

import errno
import os
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from bpfobj import (
    BPFError,
    KeyExistsError,
    KeyNotFoundError,
    Map,
    MapBatch,
    MapSpec,
    MapType,
    UpdateFlags,
)

pytestmark = pytest.mark.usefixtures("kernel")

MAX = 8
KEYS = st.integers(0, MAX + 1)  # includes keys past an ARRAY's end
VALUES = st.integers(0, 2**64 - 1)
FLAGS = st.sampled_from([UpdateFlags.ANY, UpdateFlags.NOEXIST, UpdateFlags.EXIST])

_BPFFS: list[str] = []


@pytest.fixture(autouse=True)
def _bpffs_root(bpffs: str) -> None:
    _BPFFS[:] = [bpffs]


def k(i: int) -> bytes:
    return i.to_bytes(4, "little")


def v(i: int) -> bytes:
    return i.to_bytes(8, "little")



def _plain(batch: MapBatch) -> dict[bytes, bytes]:
    """A batch of a map that is not per-CPU, as a dict (every value is one bytes)."""
    out: dict[bytes, bytes] = {}
    for key, value in batch:
        assert isinstance(value, bytes)
        out[key] = value
    return out

class MapModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.maps: list[Map] = []
        self.model: dict[bytes, bytes] = {}
        self.array = False
        self.pins: list[str] = []

    @initialize(kind=st.sampled_from(["hash", "hash_noprealloc", "array"]))
    def make(self, kind: str) -> None:
        self.array = kind == "array"
        spec = MapSpec(MapType.ARRAY if self.array else MapType.HASH, 4, 8, MAX,
                       flags=1 if kind == "hash_noprealloc" else 0)  # BPF_F_NO_PREALLOC
        self.maps.append(Map.create(spec))
        if self.array:
            self.model = {k(i): v(0) for i in range(MAX)}

    @property
    def m(self) -> Map:
        return self.maps[-1]

    def teardown(self) -> None:
        for m in self.maps:
            m.close()
        for p in self.pins:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass

    # -- single elements -----------------------------------------------------------

    @rule(key=KEYS, value=VALUES, flags=FLAGS)
    def update(self, key: int, value: int, flags: UpdateFlags) -> None:
        kb = k(key)
        present = kb in self.model
        if self.array and key >= MAX:
            with pytest.raises(BPFError) as info:
                self.m.update(kb, v(value), flags)
            assert info.value.errno == errno.E2BIG
            return
        if flags == UpdateFlags.NOEXIST and present:
            with pytest.raises(KeyExistsError):
                self.m.update(kb, v(value), flags)
            return
        if flags == UpdateFlags.EXIST and not present:
            with pytest.raises(KeyNotFoundError):
                self.m.update(kb, v(value), flags)
            return
        if not present and len(self.model) >= MAX:
            with pytest.raises(BPFError) as info:
                self.m.update(kb, v(value), flags)
            assert info.value.errno == errno.E2BIG
            return
        self.m.update(kb, v(value), flags)
        self.model[kb] = v(value)

    @rule(key=KEYS)
    def lookup(self, key: int) -> None:
        kb = k(key)
        if kb in self.model:
            assert self.m.lookup(kb) == self.model[kb]
        else:
            with pytest.raises(KeyNotFoundError):
                self.m.lookup(kb)
            assert self.m.get(kb) is None

    @rule(key=KEYS)
    def delete(self, key: int) -> None:
        kb = k(key)
        if self.array:
            with pytest.raises(BPFError) as info:
                self.m.delete(kb)
            assert info.value.errno == errno.EINVAL
        elif kb in self.model:
            self.m.delete(kb)
            del self.model[kb]
        else:
            with pytest.raises(KeyNotFoundError):
                self.m.delete(kb)

    @precondition(lambda self: not self.array)
    @rule(key=KEYS)
    def lookup_and_delete(self, key: int) -> None:
        kb = k(key)
        if kb in self.model:
            assert self.m.lookup_and_delete(kb) == self.model.pop(kb)
        else:
            with pytest.raises(KeyNotFoundError):
                self.m.lookup_and_delete(kb)

    # -- batches ------------------------------------------------------------------------

    @rule(pairs=st.dictionaries(st.integers(0, MAX - 1), VALUES, max_size=MAX))
    def batch_update(self, pairs: dict[int, int]) -> None:
        if not pairs:
            assert self.m.batch_update([], []) == 0
            return
        new = {k(a): v(b) for a, b in pairs.items()}
        if not self.array and len(self.model.keys() | new.keys()) > MAX:
            with pytest.raises(BPFError):
                self.m.batch_update(list(new), list(new.values()))
            # A partial batch may have landed: resynchronise the model from the map.
            self.model = _plain(self.m.batch_lookup())
            return
        assert self.m.batch_update(list(new), list(new.values())) == len(new)
        self.model.update(new)

    @precondition(lambda self: not self.array)
    @rule(keys=st.lists(st.integers(0, MAX - 1), unique=True, max_size=MAX))
    def batch_delete(self, keys: list[int]) -> None:
        kbs = [k(x) for x in keys]
        if all(kb in self.model for kb in kbs):
            assert self.m.batch_delete(kbs) == len(kbs)
            for kb in kbs:
                del self.model[kb]
        else:
            with pytest.raises(KeyNotFoundError):
                self.m.batch_delete(kbs)
            # The keys before the missing one are gone.
            self.model = _plain(self.m.batch_lookup())

    @rule()
    def batch_lookup(self) -> None:
        assert dict(self.m.batch_lookup(batch_size=3)) == self.model

    # -- descriptors --------------------------------------------------------------------

    @rule()
    def clone_and_close_original(self) -> None:
        clone = self.m.clone()
        self.maps.pop().close()
        self.maps.append(clone)

    @rule()
    def pin_and_reload(self) -> None:
        path = os.path.join(_BPFFS[0], "sm_" + uuid.uuid4().hex[:10])
        self.m.pin(path)
        self.pins.append(path)
        again = Map.load_pinned(path)
        self.maps.pop().close()
        self.maps.append(again)
        again.unpin()

    @rule()
    def new_from_fd(self) -> None:
        other = Map.new_from_fd(self.m.fd)
        self.maps.pop().close()
        self.maps.append(other)

    @invariant()
    def agrees(self) -> None:
        if self.maps:
            assert dict(self.m.items()) == self.model


MapModel.TestCase.settings = settings(
    max_examples=int(os.environ.get("BPFOBJ_STATEFUL_EXAMPLES", "100")),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TestMapModel = MapModel.TestCase
