"""Fuzzing every parser and decoder: only the documented exception, never a crash or a hang.

Hypothesis feeds random input to Instructions.decode, the fdinfo, mountinfo
and /proc fd-link parsers, and random argument lists to the CLI. Each must
return or raise its documented error (ValueError for the parsers and the
decoder; an exit status for the CLI), in bounded time, leaking nothing.
benchmarks/fuzz_atheris.py runs the same targets under atheris when it is
installed.
"""

from __future__ import annotations

import io
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bpfobj import asm, bpffs, procfs

FUZZ = settings(max_examples=400, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

FDINFO_KEYS = [b"pos", b"flags", b"mnt_id", b"ino", b"map_type", b"key_size", b"value_size",
               b"max_entries", b"map_flags", b"map_extra", b"memlock", b"map_id", b"frozen",
               b"prog_type", b"prog_jited", b"prog_tag", b"prog_id", b"link_type", b"link_id",
               b"btf_id", b"attach_type", b"ifindex"]

fdinfo_lines = st.lists(
    st.tuples(st.sampled_from(FDINFO_KEYS) | st.binary(max_size=12),
              st.sampled_from([b":\t", b":", b" ", b""]),
              st.binary(max_size=20) | st.integers(-2**70, 2**70).map(lambda i: str(i).encode())),
    max_size=25,
).map(lambda lines: b"".join(k + sep + v + b"\n" for k, sep, v in lines))

TARGETS = ["anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link",
           "anon_inode:bpf-link", "anon_inode:btf", "anon_inode:bpf_iter", "/dev/null",
           "socket:[123]", "pipe:[4]", "anon_inode:[eventfd]"]


@FUZZ
@given(fdinfo_lines | st.binary(max_size=400))
def test_parse_fdinfo_only_valueerror(data: bytes) -> None:
    try:
        out = procfs.parse_fdinfo(data)
    except ValueError:
        return
    assert isinstance(out, dict)


@FUZZ
@given(st.sampled_from(TARGETS) | st.text(max_size=40),
       fdinfo_lines | st.binary(max_size=300), st.integers(0, 2**31))
def test_fd_record_only_valueerror(target: str, data: bytes, fd: int) -> None:
    try:
        procfs.parse_fd_target(target)
        rec = procfs.fd_record(fd, target, data)
    except ValueError:
        return
    if rec is not None:
        assert rec.fd == fd


mount_fields = st.lists(st.binary(max_size=15) | st.sampled_from(
    [b"-", b"bpf", b"/sys/fs/bpf", b"rw", b"shared:1", b"\\040", b"\\134", b"0:23", b"36"]),
    max_size=14).map(b" ".join)


@FUZZ
@given(mount_fields | st.binary(max_size=200))
def test_parse_mountinfo_only_valueerror(line: bytes) -> None:
    try:
        bpffs.parse_mountinfo_line(line)
    except ValueError:
        pass
    try:
        bpffs.parse_mountinfo(line + b"\n" + line)
    except ValueError:
        pass


@FUZZ
@given(st.binary(max_size=256))
def test_instruction_decode_only_valueerror(raw: bytes) -> None:
    try:
        insns = asm.Instructions.decode(raw)
    except ValueError:
        return
    str(insns)
    assert insns.encode() == raw


CLI_WORDS = ["prog", "map", "link", "btf", "show", "dump", "pinned", "fds", "leak", "id",
             "--json", "--bpffs", "--watch", "--count", "-1", "0", "999999999", "self",
             "/nonexistent", "/proc", "{}", "[]", '{"id": 1}', "null", "1e9", "--help-me"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(CLI_WORDS) | st.text(string.printable, max_size=12),
                max_size=6))
def test_cli_arguments_exit_cleanly(argv: list[str]) -> None:
    from bpfobj import cli

    if "demo" in argv or "--watch" in argv:  # long-running by design
        return
    out = io.StringIO()
    try:
        rc = cli.main(argv, out=out)
    except SystemExit as exc:  # argparse: usage errors and --help
        rc = exc.code if isinstance(exc.code, int) else 2
    assert isinstance(rc, int) and 0 <= rc < 16
