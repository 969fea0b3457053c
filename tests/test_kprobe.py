"""Kprobes: this kernel has none (CONFIG_KPROBES unset), so the path is tested up to the refusal.

On a kernel with kprobes the first test attaches instead of expecting the
refusal; the others hold on any kernel.
"""

from __future__ import annotations

import os

import pytest

from bpfobj import Link, ProgramType
from bpfobj._internal import tracefs
from bpfobj.errors import NotSupportedError, ObjectTypeError
from bpfobj.link import kprobe as kprobe_mod
from bpfobj.link.uprobe import pmu_bit, pmu_type
from tests.conftest import open_fds
from tests.tracing_util import counter_map, counter_program

pytestmark = pytest.mark.usefixtures("kernel")


def _kernel_has_kprobes() -> bool:
    if pmu_type("kprobe") is not None:
        return True
    return os.path.exists(os.path.join(tracefs.mount_point(), "kprobe_events"))


@pytest.fixture
def kprog():  # type: ignore[no-untyped-def]
    m = counter_map()
    p = counter_program(ProgramType.KPROBE, m)
    yield p
    p.close()
    m.close()


def test_no_kprobes_is_not_supported_and_leaks_nothing(kprog) -> None:  # type: ignore[no-untyped-def]
    before = open_fds()
    if _kernel_has_kprobes():  # elsewhere: the same calls attach
        for ret in (False, True):
            Link.attach_kprobe(kprog, "do_sys_openat2", ret=ret).close()
        assert open_fds() == before
        return
    for ret in (False, True):
        with pytest.raises(NotSupportedError, match="CONFIG_KPROBES") as exc:
            Link.attach_kprobe(kprog, "do_sys_openat2", ret=ret)
        assert "kretprobe" in str(exc.value) if ret else "kprobe do_sys_openat2" in str(exc.value)
    assert open_fds() == before


def test_checks_come_before_the_refusal(kprog) -> None:  # type: ignore[no-untyped-def]
    m = counter_map()
    tp = counter_program(ProgramType.TRACEPOINT, m)
    try:
        with pytest.raises(ObjectTypeError, match="needs type kprobe"):
            Link.attach_kprobe(tp, "do_sys_openat2")
        for bad in ("", "a b", "x/../y", "f\0"):
            with pytest.raises(ValueError, match="invalid kernel symbol"):
                Link.attach_kprobe(kprog, bad)
        with pytest.raises(ValueError, match="kretprobe takes no offset"):
            Link.attach_kprobe(kprog, "do_sys_openat2", ret=True, offset=4)
    finally:
        tp.close()
        m.close()


def test_pmu_path_reads_type_and_retprobe_bit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A sysfs tree as a kernel with the kprobe PMU has it (the real one lacks it).
    fmt = tmp_path / "kprobe" / "format"
    fmt.mkdir(parents=True)
    (tmp_path / "kprobe" / "type").write_text("6\n")
    (fmt / "retprobe").write_text("config:0\n")
    assert pmu_type("kprobe", str(tmp_path)) == 6
    assert pmu_bit("kprobe", "retprobe", str(tmp_path)) == 0
    assert pmu_type("absent", str(tmp_path)) is None
    (fmt / "retprobe").write_text("config1:0-3\n")
    with pytest.raises(ValueError, match="one-bit config"):
        pmu_bit("kprobe", "retprobe", str(tmp_path))
    # The real uprobe PMU has the same layout.
    assert isinstance(pmu_type("uprobe"), int)
    assert pmu_bit("uprobe", "retprobe") == 0


def test_pmu_path_reaches_perf_event_open(kprog, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # With a sysfs claiming a kprobe PMU of the uprobe PMU's type, the attach
    # goes as far as perf_event_open, which this kernel refuses (the function
    # name is no file path): the error comes from the kernel, nothing leaks.
    real = pmu_type("uprobe")
    fmt = tmp_path / "kprobe" / "format"
    fmt.mkdir(parents=True)
    (tmp_path / "kprobe" / "type").write_text(f"{real}\n")
    (fmt / "retprobe").write_text("config:0\n")
    before = open_fds()
    with pytest.raises(OSError) as exc:
        kprobe_mod.attach_kprobe(kprog, "do_sys_openat2", sysfs_root=str(tmp_path))
    assert "perf event open kprobe do_sys_openat2" in str(exc.value)
    assert open_fds() == before


def test_tracefs_event_line() -> None:
    line = kprobe_mod.kprobe_event_line("bpfobj", "kp_1", "do_sys_openat2", 8, ret=False)
    assert line == "p:bpfobj/kp_1 do_sys_openat2+8"
    assert kprobe_mod.kprobe_event_line("bpfobj", "kr", "vfs_read", 0, ret=True) == \
        "r:bpfobj/kr vfs_read"
    with pytest.raises(ValueError):
        kprobe_mod.kprobe_event_line("bpfobj", "bad/name", "vfs_read", 0, ret=False)
    with pytest.raises(ValueError):
        kprobe_mod.kprobe_event_line("bpfobj", "kr", "vfs_read", 4, ret=True)
