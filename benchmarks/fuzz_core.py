"""Coverage-guided fuzzing of the CO-RE engine and the Kconfig parser with atheris.

    python benchmarks/fuzz_core.py [core|kconfig] [-runs=N]

core: the input becomes a list of .BTF.ext-like relocations (type id, kind, access string
and instruction) applied to a fixed local and target spec; kconfig: the input is a config
file, parsed and encoded into externs of every kind. Each target must return or raise
ValueError; anything else is a finding (atheris stops and prints the input).
tests/unit/test_core_unit.py and test_kconfig_unit.py hold the hypothesis versions that CI
runs.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from typing import Any

from benchmarks._common import fuzz_main, seed_corpus  # noqa: E402

_STATE: dict[str, Any] = {}


def _specs() -> tuple[Any, Any]:
    if "specs" not in _STATE:
        from bpfobj import btf

        s32 = btf.Int("int", 4, btf.IntEncoding.SIGNED)
        u8 = btf.Int("unsigned char", 1)
        enum = btf.Enum("k", 4, values=[btf.EnumValue("X", 1), btf.EnumValue("Y___v", -1)])
        local = btf.Spec([btf.Struct("foo", 24, [
            btf.Member("a", s32, 0), btf.Member("arr", btf.Array(u8, s32, 4), 32),
            btf.Member("", btf.Union("", 4, [btf.Member("u", s32, 0)]), 64),
            btf.Member("bf", s32, 96, bitfield_size=5), btf.Member("e", enum, 128),
            btf.Member("p", btf.Pointer(btf.Typedef("t", s32)), 192)]),
            btf.Struct("foo___v2", 4, [btf.Member("a", s32, 0)])])
        target = btf.Spec([btf.Struct("foo", 8, [btf.Member("arr", btf.Array(u8, s32, 2), 0),
                                                 btf.Member("bf", s32, 19, bitfield_size=7),
                                                 btf.Member("a", btf.Typedef("x", s32), 32)]),
                           btf.Enum("k", 8, values=[btf.EnumValue("Y", 5)]),
                           btf.Struct("foo___2", 8, [btf.Member("a", s32, 32)])])
        _STATE["specs"] = (local, target)
    return _STATE["specs"]


def target_core(data: bytes) -> None:
    import atheris

    from bpfobj.asm import Instructions
    from bpfobj.btf import core
    from bpfobj.btf.ext import CoreRelo

    local, target = _specs()
    fdp = atheris.FuzzedDataProvider(data)
    insns = fdp.ConsumeBytes(8 * fdp.ConsumeIntInRange(1, 6))
    relos = []
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        relos.append(CoreRelo(fdp.ConsumeIntInRange(0, 48), fdp.ConsumeIntInRange(0, 12), 0,
                              fdp.ConsumeIntInRange(0, 14),  # type: ignore[arg-type]
                              fdp.ConsumeUnicodeNoSurrogates(12)))
    try:
        code = Instructions.decode(insns)
        core.relocate(code, relos, local, [target], program="fuzz")
    except ValueError:
        pass


def target_kconfig(data: bytes) -> None:
    from bpfobj._internal import kconfig

    try:
        config = kconfig.parse_config(data.decode("utf-8", "surrogateescape").splitlines(True))
    except ValueError:
        return
    for name, text in config.items():
        for kind in kconfig.KcfgKind:
            for size, signed in ((1, True), (4, False), (8, True)):
                try:
                    raw = kconfig.encode_value(name, kind, size, signed, text)
                except ValueError:
                    continue
                assert len(raw) == size


SEEDS = {
    "kconfig": (b"# CONFIG_A is not set\nCONFIG_B=y\nCONFIG_C=m\nCONFIG_D=0x10\n"
                b"CONFIG_E=\"str\"\nCONFIG_F=-1\nCONFIG_G=017\n"),
    "core": bytes(range(64)),
}
TARGETS = {"core": target_core, "kconfig": target_kconfig}
MODULES = {"core": "bpfobj.btf.core", "kconfig": "bpfobj._internal.kconfig"}


def main() -> int:
    return fuzz_main(TARGETS, MODULES, default="core", runs=20_000,
                     corpus=lambda name: seed_corpus(f"core-{name}", {"seed": SEEDS[name]}))


if __name__ == "__main__":
    sys.exit(main())
