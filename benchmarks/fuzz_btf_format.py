"""Coverage-guided fuzzing of format_c and the value codec with atheris (when installed).

    python benchmarks/fuzz_btf_format.py [format|values] [-runs=N]

``format``: any bytes are read as raw BTF (Spec.from_bytes) and written as C; both must
return or raise ValueError, never hang, recurse without bound or raise anything else.
The corpus starts from a small valid BTF blob with structs, bitfields, enums, a union,
typedefs and a prototype.

``values``: the first byte picks a type of a fixed small spec, the next bytes (cut or
zero-filled to its size) are its value: ``decode`` must succeed, and ``encode(decode(x))``
must give back ``x`` with its padding cleared. Not part of the test suite
(tests/test_btf_format.py and tests/test_btf_values.py hold the hypothesis versions).
"""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, os.path.dirname(HERE))

from benchmarks._common import fuzz_main  # noqa: E402
from bpfobj import btf  # noqa: E402
from bpfobj.btf.codec import _codec  # noqa: E402


def sample_types() -> list[btf.Type]:
    """A few types that exercise every branch of the formatter and the codec."""
    u8 = btf.Int("unsigned char", 1)
    u32 = btf.Int("unsigned int", 4)
    s32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
    char = btf.Int("char", 1, btf.IntEncoding.SIGNED)
    small = btf.Enum("small", 1, False, [btf.EnumValue("A", 0), btf.EnumValue("B", 200)])
    either = btf.Union("either", 4, [btf.Member("u", u32, 0),
                                     btf.Member("bytes", btf.Array(u8, u32, 4), 0)])
    node = btf.Struct("node", 32, [])
    node.members = [
        btf.Member("next", btf.Pointer(node), 0), btf.Member("a", u32, 64, 3),
        btf.Member("b", s32, 67, 9), btf.Member("e", small, 76, 2),
        btf.Member("name", btf.Array(char, u32, 6), 80), btf.Member("", either, 128),
        btf.Member("k", btf.Typedef("key_t", u32), 160)]
    proto = btf.Typedef("cb_t", btf.Pointer(btf.FuncProto(s32, [btf.FuncParam("n", btf.Pointer(
        node))])))
    packed = btf.Struct("packed", 5, [btf.Member("c", u8, 0), btf.Member("w", u32, 8)])
    return [node, either, small, proto, packed]


SAMPLE = btf.Spec(sample_types())
SEED = SAMPLE.marshal()
VALUE_TYPES = [t for t in SAMPLE if isinstance(t, (btf.Composite, btf.Enum, btf.Int))]


def target_format(data: bytes) -> None:
    try:
        btf.Spec.from_bytes(data).format_c()
    except ValueError:
        pass


def target_values(data: bytes) -> None:
    if not data:
        return
    t = VALUE_TYPES[data[0] % len(VALUE_TYPES)]
    size = btf.sizeof(t)
    raw = data[1:1 + size].ljust(size, b"\0")  # every input is a value of the right size
    v = btf.decode(t, raw)
    mask = _codec(t).mask
    want = (int.from_bytes(raw, "little") & mask).to_bytes(len(raw), "little")
    if btf.encode(t, v) != want:
        raise AssertionError("encode(decode(x)) is not x without padding")


TARGETS = {"format": target_format, "values": target_values}


def _corpus(name: str) -> str:
    corpus = os.path.join(HERE, "out", f"corpus-btf-{name}")
    os.makedirs(corpus, exist_ok=True)
    with open(os.path.join(corpus, "seed"), "wb") as f:
        f.write(SEED if name == "format" else bytes([0]) + bytes(btf.sizeof(VALUE_TYPES[0])))
    return corpus


def main() -> int:
    # bpfobj.btf is imported already: fuzz_main instruments what is loaded.
    return fuzz_main(TARGETS, {}, default="format", runs=100_000, corpus=_corpus)


if __name__ == "__main__":
    sys.exit(main())
