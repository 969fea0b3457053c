"""Programs against the real kernel: load, info, test_run, open by fd/id/pin, errors."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from typing import Any

import pytest

import bpfobj
from bpfobj import (
    BPFError,
    BPFPermissionError,
    ClosedError,
    Map,
    MapSpec,
    MapType,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    Program,
    ProgramInfo,
    ProgramSpec,
    ProgramType,
    VerifierError,
    asm,
    enable_stats,
)
from bpfobj.errors import ENOTSUPP

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")


def mov_r0(imm: int) -> bytes:
    return bytes([0xB7, 0, 0, 0]) + imm.to_bytes(4, "little", signed=True)


EXIT = bytes([0x95]) + bytes(7)


def ins(op: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """One 8-byte instruction: opcode, dst/src registers, offset, immediate."""
    return struct.pack("<BBhi", op, dst | (src << 4), off, imm)


def call(helper: int) -> bytes:
    return ins(0x85, imm=helper)


def mov_imm(reg: int, imm: int) -> bytes:
    return ins(0xB7, reg, imm=imm)


def ld_map_fd(reg: int, raw: int) -> bytes:
    # ld_imm64 with src_reg BPF_PSEUDO_MAP_FD: two slots.
    return bytes([0x18, (1 << 4) | reg, 0, 0]) + raw.to_bytes(4, "little") + bytes(8)


def xdp(ret: int = 2, name: str = "xdp_pass") -> Program:
    return Program.load(ProgramSpec(ProgramType.XDP, mov_r0(ret) + EXIT, name=name))


def test_load_info_and_text_forms() -> None:
    with xdp() as p:
        info = p.info()
        assert info.type is ProgramType.XDP
        assert info.name == "xdp_pass"
        assert len(info.tag) == 16 and int(info.tag, 16) >= 0
        assert info.map_ids == ()
        assert info.gpl_compatible is True
        assert info.xlated_len == 16
        assert info.id > 0 and info.load_time > 0
        assert repr(p) == f"XDP(xdp_pass)#{p.fd}"
        assert str(info) == f"Program(name=xdp_pass type=XDP tag={info.tag})"
        # The kernel's own view of the descriptor agrees.
        fdinfo = open(f"/proc/self/fdinfo/{p.fd}").read()
        assert f"prog_id:\t{info.id}" in fdinfo
        assert f"prog_tag:\t{info.tag}" in fdinfo


def test_map_ids_of_a_program_that_uses_maps() -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 1, name="a")) as a, \
            Map.create(MapSpec(MapType.HASH, 4, 8, 4, name="b")) as b:
        insns = ld_map_fd(1, a.fd) + ld_map_fd(2, b.fd) + mov_r0(0) + EXIT
        with Program.load(ProgramSpec(ProgramType.SOCKET_FILTER, insns, name="uses")) as p:
            assert sorted(p.info().map_ids) == sorted([a.info().id, b.info().id])


def test_many_map_ids_take_a_second_info_call() -> None:
    maps = [Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) for _ in range(40)]
    try:
        insns = b"".join(ld_map_fd(1, m.fd) for m in maps) + mov_r0(0) + EXIT
        with Program.load(ProgramSpec(ProgramType.SOCKET_FILTER, insns)) as p:
            assert sorted(p.info().map_ids) == sorted(m.info().id for m in maps)
    finally:
        for m in maps:
            m.close()


def test_test_run_returns_retval_data_and_duration() -> None:
    with xdp(1) as p:
        r = p.test_run(bytes(range(64)), repeat=100)
        assert r.retval == 1  # XDP_DROP
        assert r.data == bytes(range(64))
        assert r.duration_ns >= 0


def test_test_run_rejects_short_packets_before_the_kernel() -> None:
    with xdp() as p:
        with pytest.raises(ValueError, match="at least 14 bytes"):
            p.test_run(b"\0" * 13)
        with pytest.raises(ValueError):
            p.test_run(bytes(14), repeat=0)


def test_test_run_enotsupp_524_is_not_supported_error() -> None:
    with Program.load(ProgramSpec(ProgramType.KPROBE, mov_r0(0) + EXIT)) as p:
        with pytest.raises(NotSupportedError) as info:
            p.test_run()
        assert info.value.errno in (ENOTSUPP, errno.EOPNOTSUPP)
        assert "test run" in str(info.value)
        assert "Unknown error" not in str(info.value)


def test_test_run_survives_a_signal_flood() -> None:
    delivered = [0]

    def handler(signum: int, frame: object) -> None:
        delivered[0] += 1

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
    gave_up = 0
    try:
        # SCHED_CLS, not XDP: an XDP run with repeat > 1 swaps the kernel's XDP
        # dispatcher (an RCU grace period, ~0.1 s here), longer than the flood's interval.
        with Program.load(ProgramSpec(ProgramType.SCHED_CLS, mov_r0(2) + EXIT)) as p:
            for _ in range(200):
                assert p.test_run(bytes(64), repeat=20).retval == 2
            # A run longer than the signal interval restarts after every signal:
            # it must end with a clear error, not livelock.
            try:
                p.test_run(bytes(64), repeat=50_000_000)
            except BPFError as exc:
                assert exc.errno == errno.EINTR
                assert "smaller repeat" in str(exc)
                gave_up += 1
            for _ in range(30):
                xdp().close()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, old)
    print("signals delivered during test_run and loads:", delivered[0], "gave up:", gave_up)
    assert delivered[0] > 10


def test_verifier_error_carries_the_log() -> None:
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        Program.load(ProgramSpec(ProgramType.XDP, EXIT, name="bad"))  # r0 never set
    assert "R0 !read_ok" in info.value.log
    assert "R0 !read_ok" in str(info.value)
    assert info.value.errno == errno.EACCES
    assert open_fds() == before


def test_bad_specs_are_value_errors() -> None:
    with pytest.raises(ValueError):
        Program.load(ProgramSpec(ProgramType.XDP, b"\x95\0\0"))
    with pytest.raises(ValueError):
        Program.load(ProgramSpec(ProgramType.XDP, b""))
    with pytest.raises(ValueError):
        Program.load(ProgramSpec(ProgramType.XDP, mov_r0(0) + EXIT, name="x" * 16))
    with pytest.raises(TypeError):
        Program.load(ProgramSpec(ProgramType.XDP, 42))


def test_new_from_fd_duplicates_both_ways() -> None:
    p = xdp()
    raw = os.dup(p.fd)
    q = Program.new_from_fd(raw)
    assert q.fd != raw and q.fd >= 1
    assert fcntl.fcntl(q.fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC
    q.close()
    assert Program.new_from_fd(raw).info().id == p.info().id  # the caller's raw still works
    os.close(raw)
    r = Program.new_from_fd(p.fd)
    p.close()
    assert r.test_run(bytes(14)).retval == 2  # the duplicate outlives the original
    r.close()
    import gc

    gc.collect()


def test_new_from_id_and_clone() -> None:
    with xdp() as p:
        pid = p.info().id
        with Program.new_from_id(pid) as q, p.clone() as c:
            assert q.info().id == pid == c.info().id
            assert repr(c) == f"XDP(xdp_pass)#{c.fd}"
    with pytest.raises(BPFError) as info:
        Program.new_from_id(2**32 - 2)
    assert info.value.errno == errno.ENOENT


def test_pin_load_pinned_and_type_checks(pin_dir: str) -> None:
    path = os.path.join(pin_dir, "prog")
    with xdp() as p:
        p.pin(path)
        assert p.is_pinned
        with Program.load_pinned(path) as q:
            assert q.info().id == p.info().id
            assert q.is_pinned and q.pinned_path == path
        with bpfobj.load_pinned(path) as anyp:
            assert isinstance(anyp, Program)
        with pytest.raises(ObjectTypeError, match="bpf-prog, not a bpf-map"):
            Map.load_pinned(path)
        p.unpin()
        assert not os.path.exists(path)
    with Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m:
        m.pin(os.path.join(pin_dir, "map"))
        with pytest.raises(ObjectTypeError, match="bpf-map, not a bpf-prog"):
            Program.load_pinned(os.path.join(pin_dir, "map"))
        m.unpin()


def test_pin_outside_bpffs_and_missing_paths(tmp_path: object) -> None:
    with xdp() as p:
        with pytest.raises(NotBPFFSError):
            p.pin(os.path.join(str(tmp_path), "x"))
    with pytest.raises(BPFError) as info:
        Program.load_pinned("/nonexistent/prog")
    assert info.value.errno == errno.ENOENT


def test_closed_and_wrong_descriptors() -> None:
    p = xdp()
    p.close()
    p.close()
    with pytest.raises(ClosedError):
        p.info()
    with pytest.raises(ClosedError):
        p.test_run(bytes(14))
    with pytest.raises(ClosedError):
        _ = p.fd
    r, w = os.pipe()
    try:
        with pytest.raises(ObjectTypeError, match="non-bpf file"):
            Program.new_from_fd(r)
        with pytest.raises(ObjectTypeError):
            bpfobj.new_from_fd(r)
    finally:
        os.close(r)
        os.close(w)
    with pytest.raises(BPFError) as info:
        Program.new_from_fd(9999)
    assert info.value.errno == errno.EBADF


def test_xlated_instructions() -> None:
    with xdp(3) as p:
        raw = p.xlated_bytes()
        assert raw == mov_r0(3) + EXIT
        xl = p.xlated()
        assert isinstance(xl, asm.Instructions)
        assert xl.encode() == raw
        assert str(xl) == str(asm.Instructions([asm.mov_imm(asm.R0, 3), asm.exit_()]))
        assert "r0 = 3" in str(xl)
    p.close()
    with pytest.raises(ClosedError):
        p.xlated()


@pytest.mark.bpftool
def test_info_equals_bpftool(bpftool: str) -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 1, name="m")) as m, \
            Program.load(ProgramSpec(ProgramType.SOCKET_FILTER, ld_map_fd(1, m.fd) + mov_r0(0)
                                     + EXIT, name="sf")) as p:
        info = p.info()
        out = subprocess.run([bpftool, "-j", "prog", "show", "id", str(info.id)],
                             capture_output=True, text=True, check=True)
        j = json.loads(out.stdout)
        assert j["id"] == info.id
        assert j["type"] == info.type.kernel_name == "socket_filter"
        assert j["name"] == info.name
        assert j["tag"] == info.tag
        assert j["gpl_compatible"] == info.gpl_compatible
        assert j["uid"] == info.created_by_uid
        assert j["bytes_xlated"] == info.xlated_len
        assert j.get("bytes_jited", 0) == info.jited_len
        assert j["map_ids"] == list(info.map_ids)
        if "verified_insns" in j:
            assert j["verified_insns"] == info.verified_insns
        assert j.get("btf_id", 0) == info.btf_id


def test_test_run_grows_the_output_buffer_when_the_packet_grows() -> None:
    # bpf_xdp_adjust_tail(ctx, +1000) makes the packet longer than our first output
    # buffer (input + headroom): the kernel answers ENOSPC and test_run retries bigger.
    tail = mov_imm(2, 1000) + call(bpfobj.HelperFunc.xdp_adjust_tail) + mov_r0(2) + EXIT
    with Program.load(ProgramSpec(ProgramType.XDP, tail, name="grow_tail")) as p:
        r = p.test_run(bytes(range(64)))
        assert r.retval == 2
        assert len(r.data) == 64 + 1000
        assert r.data[:64] == bytes(range(64))
    # bpf_xdp_adjust_head(ctx, -200) grows the packet at its head.
    head = mov_imm(2, -200) + call(bpfobj.HelperFunc.xdp_adjust_head) + mov_r0(2) + EXIT
    with Program.load(ProgramSpec(ProgramType.XDP, head, name="grow_head")) as p:
        r = p.test_run(bytes(range(64)))
        assert len(r.data) == 264 and r.data[200:] == bytes(range(64))


def test_test_run_context_in_and_out() -> None:
    # struct xdp_md: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex
    md = struct.pack("<6I", 0, 64, 0, 0, 0, 0)
    with xdp() as p:
        r = p.test_run(bytes(64), ctx=md, ctx_size_out=len(md))
        data, data_end, *_ = struct.unpack("<6I", r.ctx)
        assert data_end - data == 64
        assert p.test_run(bytes(64), ctx=bytearray(md)).ctx == b""  # no ctx_size_out: none back
        with pytest.raises(BPFError) as info:  # egress_ifindex must be 0 on input
            p.test_run(bytes(64), ctx=struct.pack("<6I", 0, 64, 0, 0, 0, 5))
        assert info.value.errno == errno.EINVAL
        assert "test run" in str(info.value) and "XDP(xdp_pass)" in str(info.value)


def test_test_run_of_types_that_run_once_on_a_context() -> None:
    # A raw tracepoint program returns its first argument: r0 = *(u64 *)(r1 + 0).
    raw_tp = ins(0x79, 0, 1, 0) + EXIT
    with Program.load(ProgramSpec(ProgramType.RAW_TRACEPOINT, raw_tp)) as p:
        assert p.test_run(ctx=struct.pack("<Q", 1234)).retval == 1234
        bad_calls: list[Callable[[], object]] = [
            lambda: p.test_run(ctx=bytes(8), repeat=2),
            lambda: p.test_run(ctx=bytes(8), data=bytes(14)),
            lambda: p.test_run(ctx=bytes(8), ctx_size_out=8),
        ]
        for bad in bad_calls:
            with pytest.raises(ValueError, match="runs once"):
                bad()
    # A syscall program (sleepable) writes into its context: *(u32 *)(r1 + 0) = 42.
    syscall = ins(0x62, 1, off=0, imm=42) + mov_r0(7) + EXIT
    with Program.load(ProgramSpec(ProgramType.SYSCALL, syscall, flags=16)) as p:
        r = p.test_run(ctx=bytes(8))
        assert r.retval == 7
        assert r.ctx == struct.pack("<II", 42, 0)


def test_types_without_test_run_are_not_supported_even_with_short_input() -> None:
    # SK_SKB has no test_run in the kernel: NotSupportedError, not our packet-size ValueError.
    with Program.load(ProgramSpec(ProgramType.SK_SKB, mov_r0(0) + EXIT)) as p:
        with pytest.raises(NotSupportedError):
            p.test_run(b"")
    with Program.load(ProgramSpec(ProgramType.TRACEPOINT, mov_r0(0) + EXIT)) as p:
        with pytest.raises(NotSupportedError) as info:
            p.test_run()
        assert info.value.errno in (ENOTSUPP, errno.EOPNOTSUPP)


def test_program_names_types_and_licenses_are_checked_before_the_kernel() -> None:
    before = open_fds()
    for name in ("has-dash", "sp ace", "ümlaut"):
        with pytest.raises(ValueError, match="program name"):
            Program.load(ProgramSpec(ProgramType.XDP, mov_r0(0) + EXIT, name=name))
    with Program.load(ProgramSpec(ProgramType.XDP, mov_r0(0) + EXIT, name="ok.name_1")) as p:
        assert p.name == "ok.name_1"
    with pytest.raises(TypeError, match="ProgramType"):
        Program.load(ProgramSpec("XDP", mov_r0(0) + EXIT))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="license"):
        Program.load(ProgramSpec(ProgramType.XDP, mov_r0(0) + EXIT, license="GPL\0x"))
    assert open_fds() == before


def test_rejection_before_verification_says_so() -> None:
    # An SK_LOOKUP program needs expected_attach_type SK_LOOKUP: the kernel says EINVAL
    # before the verifier runs, so there is no log to show.
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        Program.load(ProgramSpec(ProgramType.SK_LOOKUP, mov_r0(0) + EXIT, name="nolookup"))
    assert info.value.errno == errno.EINVAL
    assert info.value.log == ""
    assert "before verification" in str(info.value)
    assert "SkLookup(nolookup)" in str(info.value)
    with Program.load(ProgramSpec(ProgramType.SK_LOOKUP, mov_r0(0) + EXIT,
                                  expected_attach_type=bpfobj.AttachType.SK_LOOKUP)) as p:
        assert p.type is ProgramType.SK_LOOKUP
    assert open_fds() == before


def test_eperm_while_privileged_does_not_say_needs_root() -> None:
    # LSM programs are refused (EPERM) without the bpf LSM, even for root: the message
    # must not send a root user off to get root.
    try:
        Program.load(ProgramSpec(ProgramType.LSM, mov_r0(0) + EXIT))
    except BPFPermissionError as exc:
        assert "needs root" not in str(exc)
        assert "CAP_BPF" in str(exc)
    except BPFError:
        pass  # refused for another reason on this kernel (no attach_btf_id): fine


def test_verifier_log_of_a_successful_load() -> None:
    spec = ProgramSpec(ProgramType.XDP, mov_r0(2) + EXIT, name="logged", log_level=2)
    with Program.load(spec) as p:
        assert "processed 2 insns" in p.verifier_log
    with xdp() as p:
        assert p.verifier_log == ""


def test_spec_and_info_text_forms() -> None:
    spec = ProgramSpec(ProgramType.XDP, mov_r0(2) + EXIT, name="xdp_pass")
    assert str(spec) == "XDP(xdp_pass, insns=2, license=GPL)"
    with Program.load(spec) as p:
        info = p.info()
    assert isinstance(info, ProgramInfo)
    with pytest.raises(FrozenInstanceError):
        info.name = "other"  # type: ignore[misc]
    assert not hasattr(info, "__dict__")
    assert abs(info.loaded_at - time.time()) < 60


def test_gpl_compatible_follows_the_license() -> None:
    with Program.load(ProgramSpec(ProgramType.XDP, mov_r0(2) + EXIT,
                                  license="Proprietary")) as p:
        assert p.info().gpl_compatible is False
    with Program.load(ProgramSpec(ProgramType.XDP, mov_r0(2) + EXIT,
                                  license="Dual BSD/GPL")) as p:
        assert p.info().gpl_compatible is True


def test_enable_stats_counts_runs() -> None:
    with xdp() as p:
        with enable_stats():
            p.test_run(bytes(14), repeat=50)
            info = p.info()
            assert info.run_count == 50
            assert info.run_time_ns > 0
        if open("/proc/sys/kernel/bpf_stats_enabled").read().strip() == "0":
            p.test_run(bytes(14), repeat=50)  # nobody else counts: stats are off again
            assert p.info().run_count == 50


@pytest.mark.bpftool
def test_info_with_statistics_equals_bpftool(bpftool: str) -> None:
    with xdp() as p, enable_stats():
        p.test_run(bytes(14), repeat=20)
        info = p.info()
        out = subprocess.run([bpftool, "-j", "prog", "show", "id", str(info.id)],
                             capture_output=True, text=True, check=True)
        j = json.loads(out.stdout)
        assert j["run_cnt"] == info.run_count == 20
        assert j["run_time_ns"] == info.run_time_ns
        assert abs(j["loaded_at"] - info.loaded_at) <= 2
        assert j["jited"] == (info.jited_len > 0)
        assert j.get("recursion_misses", 0) == info.recursion_misses
        assert j["type"] == "xdp" and j["name"] == "xdp_pass" and j["tag"] == info.tag


LOAD_UNDER_SIGNALS = """
import signal, sys, time
from bpfobj import Program, ProgramSpec, ProgramType
insns = bytes([0xB7, 0, 0, 0, 0, 0, 0, 0]) * 50000 + bytes([0x95]) + bytes(7)
seen = [0]
def handler(signum, frame):
    seen[0] += 1
signal.signal(signal.SIGALRM, handler)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
for _ in range(5):
    Program.load(ProgramSpec(ProgramType.XDP, insns)).close()
before = seen[0]
time.sleep(0.05)
signal.setitimer(signal.ITIMER_REAL, 0, 0)
assert seen[0] > before, "signals still blocked after the load"
assert not signal.pthread_sigmask(signal.SIG_BLOCK, []), "signal mask not restored"
print("loaded", seen[0])
"""


def test_load_finishes_under_signals_faster_than_the_verifier() -> None:
    # Verifying 50000 instructions takes longer than the 0.5 ms between two SIGALRMs:
    # the kernel gives up with EAGAIN on every try, and an unbounded retry never ends.
    # A child process, so that a livelock is a timeout, not a hung test run.
    out = subprocess.run([sys.executable, "-c", LOAD_UNDER_SIGNALS], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("loaded")


#: What each key of ``bpftool -j prog show`` must equal in ProgramInfo.
BPFTOOL_KEYS: dict[str, Callable[[Any], object]] = {
    "id": lambda i: i.id,
    "type": lambda i: i.type.kernel_name,
    "name": lambda i: i.name,
    "tag": lambda i: i.tag,
    "gpl_compatible": lambda i: i.gpl_compatible,
    "uid": lambda i: i.created_by_uid,
    "bytes_xlated": lambda i: i.xlated_len,
    "jited": lambda i: i.jited_len > 0,
    "bytes_jited": lambda i: i.jited_len,
    "map_ids": lambda i: list(i.map_ids),
    "btf_id": lambda i: i.btf_id,
    "run_time_ns": lambda i: i.run_time_ns,
    "run_cnt": lambda i: i.run_count,
    "recursion_misses": lambda i: i.recursion_misses,
    "verified_insns": lambda i: i.verified_insns,
}
#: Keys bpftool prints from elsewhere than bpf_prog_info (fdinfo, its own clock, pins).
BPFTOOL_OTHER = {"bytes_memlock", "loaded_at", "pids", "pinned"}


@pytest.mark.bpftool
@pytest.mark.parametrize(("ptype", "extra"), [
    (ProgramType.SOCKET_FILTER, {}),
    (ProgramType.XDP, {"license": "Proprietary"}),
    (ProgramType.KPROBE, {}),
    (ProgramType.SCHED_CLS, {"license": "Dual MIT/GPL"}),
    (ProgramType.CGROUP_SKB, {"expected_attach_type": bpfobj.AttachType.CGROUP_INET_INGRESS}),
    (ProgramType.RAW_TRACEPOINT, {}),
])
def test_every_bpftool_key_equals_info(bpftool: str, ptype: ProgramType,
                                       extra: dict[str, Any]) -> None:
    with Map.create(MapSpec(MapType.HASH, 4, 8, 4, name="parity")) as m, enable_stats():
        insns = ld_map_fd(1, m.fd) + mov_r0(1) + EXIT
        spec = ProgramSpec(ptype, insns, name=f"p_{ptype.kernel_name}"[:15], **extra)
        with Program.load(spec) as p:
            if ptype in (ProgramType.SOCKET_FILTER, ProgramType.SCHED_CLS):
                p.test_run(bytes(14), repeat=3)
            info = p.info()
            map_id = m.info().id
            out = subprocess.run([bpftool, "-j", "prog", "show", "id", str(info.id)],
                                 capture_output=True, text=True, check=True)
    j = json.loads(out.stdout)
    unknown = set(j) - set(BPFTOOL_KEYS) - BPFTOOL_OTHER
    assert not unknown, f"bpftool prints keys we do not compare: {unknown}"
    for key, value in j.items():
        if key in BPFTOOL_KEYS:
            assert value == BPFTOOL_KEYS[key](info), key
    assert abs(j["loaded_at"] - info.loaded_at) <= 2
    assert info.map_ids == (map_id,)
    if ptype in (ProgramType.SOCKET_FILTER, ProgramType.SCHED_CLS):
        assert j["run_cnt"] == info.run_count == 3


@pytest.mark.parametrize(("insns", "reason"), [
    (mov_r0(0) + call(99999) + EXIT, "invalid func unknown#99999"),
    (mov_r0(0) + ins(0xFF) + EXIT, "unknown opcode ff"),
    (mov_r0(0) + ins(0x05, off=5) + EXIT, "jump out of range"),
    (mov_r0(0), "last insn is not an exit or jmp"),
    (ins(0x61, 0, 1, 4096) + EXIT, "invalid bpf_context access"),
])
def test_invalid_instructions_give_the_verifiers_reason(insns: bytes, reason: str) -> None:
    before = open_fds()
    with pytest.raises(VerifierError) as info:
        Program.load(ProgramSpec(ProgramType.XDP, insns, name="bad"))
    assert reason in info.value.log
    assert reason in str(info.value)
    assert str(info.value).startswith("program load XDP(bad): verifier rejected the program")
    assert open_fds() == before


def test_too_many_instructions() -> None:
    with pytest.raises(VerifierError, match=r"too many instructions \(1000002;") as info:
        Program.load(ProgramSpec(ProgramType.XDP, mov_r0(0) * 1000001 + EXIT))
    assert info.value.errno == errno.E2BIG


@pytest.mark.bpftool
def test_helper_calls_in_xlated_are_named_as_bpftool_names_them(bpftool: str,
                                                                tmp_path: object) -> None:
    from bpfobj.prog import kernel_call_names

    insns = (mov_imm(2, 1000) + call(bpfobj.HelperFunc.xdp_adjust_tail)
             + call(bpfobj.HelperFunc.ktime_get_ns) + call(bpfobj.HelperFunc.get_prandom_u32)
             + mov_r0(2) + EXIT)
    with Program.load(ProgramSpec(ProgramType.XDP, insns, name="calls")) as p:
        names = p.xlated_call_names()
        raw = p.xlated_bytes()
        out = subprocess.run([bpftool, "prog", "dump", "xlated", "id", str(p.info().id)],
                             capture_output=True, text=True, check=True).stdout
    want = {}
    for line in out.splitlines():
        if ") call " in line:
            name, _, imm = line.split(") call ", 1)[1].rpartition("#")
            want[int(imm)] = name
    assert names == want
    # get_prandom_u32 is implemented by bpf_user_rnd_u32: the symbol, not the helper's name.
    assert len(names) == 3
    assert {"bpf_ktime_get_ns", "bpf_xdp_adjust_tail"} <= set(names.values())
    # kallsyms with zeroed addresses (kptr_restrict) names nothing; no calls need no file.
    hidden = os.path.join(str(tmp_path), "kallsyms")
    with open(hidden, "w") as f:
        f.write("0000000000000000 T __bpf_call_base\n0000000000000000 T bpf_ktime_get_ns\n")
    assert kernel_call_names(raw, hidden) == {}
    assert kernel_call_names(mov_r0(0) + EXIT, "/nonexistent") == {}


def _xlated_programs(m: Map) -> dict[str, bytes]:
    """Hand-encoded programs that cover the disassembler's forms (see test below)."""
    st_dw = ins(0x7A, 10, off=-8, imm=0)  # *(u64 *)(r10 -8) = 0
    st_w = ins(0x62, 10, off=-16, imm=0)  # *(u32 *)(r10 -16) = 0
    return {
        # skb->len is unknown to the verifier, so no branch is folded away.
        "jumps": (mov_r0(0) + ins(0x61, 2, 1, 0) + mov_imm(3, 5)
                  + ins(0x15, 2, off=2, imm=0) + ins(0x2D, 2, 3, off=1) + mov_r0(1)
                  + ins(0x16, 2, off=1, imm=7) + ins(0x65, 2, off=1, imm=-1)
                  + ins(0xA5, 2, off=-3, imm=3) + ins(0x05, off=0) + EXIT),
        "calls": (call(bpfobj.HelperFunc.ktime_get_ns) + call(bpfobj.HelperFunc.get_prandom_u32)
                  + ins(0x18, 1, 1, imm=m.fd) + ins(0) + ins(0xBF, 2, 10) + ins(0x07, 2, imm=-4)
                  + ins(0x62, 10, off=-4, imm=0) + call(bpfobj.HelperFunc.map_lookup_elem)
                  + mov_r0(0) + EXIT),
        "maps": (ins(0x18, 1, 1, imm=m.fd) + ins(0) + ins(0x18, 2, 2, imm=m.fd)
                 + ins(0, imm=0) + mov_r0(0) + EXIT),
        "alu": (mov_imm(1, 40) + ins(0xBF, 0, 1) + ins(0x07, 0, imm=5) + ins(0x04, 0, imm=3)
                + ins(0xDC, 0, imm=16) + ins(0xD4, 0, imm=32) + ins(0x77, 0, imm=3)
                + ins(0xC7, 0, imm=1) + ins(0x87, 0) + ins(0xAF, 0, 0) + ins(0xB4, 0, imm=9)
                + EXIT),
        "memory": (st_dw + st_w + ins(0x79, 0, 10, -8) + ins(0x61, 2, 10, -16)
                   + ins(0x69, 3, 10, -16) + ins(0x71, 4, 10, -16) + ins(0x73, 10, 4, -1)
                   + ins(0x6B, 10, 3, -4) + ins(0x63, 10, 2, -12) + ins(0x7B, 10, 0, -24)
                   + mov_r0(0) + EXIT),
        "atomics": (st_dw + st_w + mov_imm(1, 1)
                    + ins(0xDB, 10, 1, -8, 0x00) + ins(0xDB, 10, 1, -8, 0x01)
                    + ins(0xC3, 10, 1, -16, 0x50) + ins(0xC3, 10, 1, -16, 0xA1)
                    + ins(0xDB, 10, 1, -8, 0x40) + ins(0xDB, 10, 1, -8, 0xE1)
                    + ins(0xC3, 10, 1, -16, 0xE1) + mov_r0(0)
                    + ins(0xDB, 10, 1, -8, 0xF1) + ins(0xC3, 10, 1, -16, 0xF1)
                    + mov_r0(0) + EXIT),
    }


@pytest.mark.bpftool
def test_xlated_text_equals_bpftool_dump(bpftool: str) -> None:
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 1, name="xl")) as m:
        for name, insns in _xlated_programs(m).items():
            with Program.load(ProgramSpec(ProgramType.SOCKET_FILTER, insns, name=name)) as p:
                xl = p.xlated()
                assert isinstance(xl, asm.Instructions)
                out = subprocess.run(
                    [bpftool, "prog", "dump", "xlated", "id", str(p.info().id)],
                    capture_output=True, text=True, check=True).stdout
                want = [line.rstrip() for line in out.splitlines() if line.strip()]
                got = [line.rstrip() for line in str(xl).splitlines() if line.strip()]
                assert got == want, name
                assert xl.encode() == p.xlated_bytes()


def test_xlated_programs_load() -> None:
    # The programs of the bpftool comparison load (so that test fails only on text).
    with Map.create(MapSpec(MapType.ARRAY, 4, 8, 1, name="xl")) as m:
        for name, insns in _xlated_programs(m).items():
            with Program.load(ProgramSpec(ProgramType.SOCKET_FILTER, insns, name=name)) as p:
                assert len(p.xlated_bytes()) % 8 == 0 and p.xlated_bytes()
