"""Coverage-guided fuzzing of bpfobj's parsers and decoder with atheris (when installed).

    python benchmarks/fuzz_atheris.py [TARGET] [-runs=N]
    # TARGET: decode, fdinfo, mountinfo, btf, btf_ext, all

Each target accepts any bytes and must return or raise ValueError; anything
else is a finding (atheris stops and prints the input). libFuzzer prints the number
of executions per target. Not part of the test suite (tests/unit/test_fuzz.py
is the hypothesis version that CI runs).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks._common import fuzz_main  # noqa: E402


def target_decode(data: bytes) -> None:
    from bpfobj.asm import Instructions

    try:
        insns = Instructions.decode(data)
    except ValueError:
        return
    str(insns)
    if insns.encode() != data:
        raise AssertionError("decode/encode round trip changed the bytes")


def target_fdinfo(data: bytes) -> None:
    from bpfobj import procfs

    try:
        procfs.parse_fdinfo(data)
        cut = data.find(b"\n")
        target = data[:cut].decode("utf-8", "replace") if cut >= 0 else "anon_inode:bpf-map"
        procfs.fd_record(7, target, data[cut + 1:] if cut >= 0 else data)
    except ValueError:
        pass


def target_mountinfo(data: bytes) -> None:
    from bpfobj import bpffs

    try:
        bpffs.parse_mountinfo(data)
    except ValueError:
        pass


def _btf_blob(data: bytes) -> bytes:
    """Raw BTF from fuzz bytes: as they are (first byte even), or behind a valid header with
    the rest split into a type and a string section, so that the search reaches the records."""
    import struct

    if not data or data[0] % 2 == 0:
        return data
    body = data[1:]
    cut = len(body) // 2 // 4 * 4
    types, strings = body[:cut], b"\0" + body[cut:] + b"\0"
    return struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, len(types), len(types),
                       len(strings)) + types + strings


def target_btf(data: bytes) -> None:
    from bpfobj import btf
    from bpfobj.btf.dump import dump_json, dump_raw

    try:  # decoding is lazy: a bad record raises when it is first read
        spec = btf.Spec.from_bytes(_btf_blob(data))
        for t in spec:
            try:
                btf.sizeof(t)
            except ValueError:
                pass
        dump_json(spec)
        dump_raw(spec)
    except ValueError:
        return
    if btf.Spec.from_bytes(spec.marshal()) != spec:
        raise AssertionError("marshal/from_bytes round trip changed the types")


def target_btf_ext(data: bytes) -> None:
    import struct

    from bpfobj import btf
    from bpfobj.btf.ext import BTFExt

    strings = b"\0xdp\0f.c\0"
    types = struct.pack("<III", 0, 2 << 24, 0)
    spec = btf.Spec.from_bytes(struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12,
                                           len(strings)) + types + strings)
    try:
        BTFExt.from_bytes(data, spec)
    except ValueError:
        pass


TARGETS = {"decode": target_decode, "fdinfo": target_fdinfo, "mountinfo": target_mountinfo,
           "btf": target_btf, "btf_ext": target_btf_ext}
MODULES = {"decode": "bpfobj.asm", "fdinfo": "bpfobj.procfs", "mountinfo": "bpfobj.bpffs",
           "btf": "bpfobj.btf.spec", "btf_ext": "bpfobj.btf.ext"}


def main() -> int:
    return fuzz_main(TARGETS, MODULES, default="all", runs=200_000)


if __name__ == "__main__":
    sys.exit(main())
