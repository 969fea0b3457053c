"""Programs against the real kernel: load, info, test_run, open by fd/id/pin, errors."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import subprocess

import pytest

import bpfobj
from bpfobj import (
    BPFError,
    ClosedError,
    Map,
    MapSpec,
    MapType,
    NotBPFFSError,
    NotSupportedError,
    ObjectTypeError,
    Program,
    ProgramSpec,
    ProgramType,
    VerifierError,
)

from .conftest import open_fds

pytestmark = pytest.mark.usefixtures("kernel")


def mov_r0(imm: int) -> bytes:
    return bytes([0xB7, 0, 0, 0]) + imm.to_bytes(4, "little", signed=True)


EXIT = bytes([0x95]) + bytes(7)


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
        assert info.value.errno in (524, errno.EOPNOTSUPP)
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


def test_generic_new_from_fd_picks_the_class() -> None:
    with xdp() as p, Map.create(MapSpec(MapType.ARRAY, 4, 4, 1)) as m, \
            bpfobj.BTF.new_from_id(1) as b:
        for obj, cls in ((p, Program), (m, Map), (b, bpfobj.BTF)):
            with bpfobj.new_from_fd(obj.fd) as again:
                assert type(again) is cls


def test_xlated_instructions() -> None:
    with xdp(3) as p:
        raw = p.xlated_bytes()
        assert raw == mov_r0(3) + EXIT


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
