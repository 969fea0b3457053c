"""Load packet_counter.bpf.o, set a global before loading, run it, read its maps.

    clang -g -O2 -target bpf -I/usr/include/$(uname -m)-linux-gnu \\
          -c packet_counter.bpf.c -o packet_counter.bpf.o
    sudo python3 packet_counter.py [packet_counter.bpf.o]

The program is run on made-up packets with BPF_PROG_TEST_RUN, so nothing is attached to
a network interface. To attach it for real: ``bpfobj.Link.attach_xdp(prog, ifindex)``.
"""

from __future__ import annotations

import struct
import sys

import bpfobj

IPPROTO_TCP, IPPROTO_UDP = 6, 17
XDP_ACTIONS = {0: "XDP_ABORTED", 1: "XDP_DROP", 2: "XDP_PASS", 3: "XDP_TX"}


def ipv4_packet(protocol: int) -> bytes:
    """An Ethernet frame with an IPv4 header of the given protocol (and some padding)."""
    eth = b"\xff" * 6 + b"\x02" + b"\0" * 5 + struct.pack("!H", 0x0800)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, protocol, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return eth + ip + bytes(20)


def main(path: str) -> None:
    spec = bpfobj.CollectionSpec.from_file(path)
    print("programs:", {name: str(p.type) for name, p in spec.programs.items()})
    print("maps:", {name: str(m) for name, m in spec.maps.items()})

    spec.variables["drop_protocol"].set(IPPROTO_UDP)  # before load: .rodata

    with bpfobj.Collection.load(spec) as coll:
        prog = coll.programs["count_packets"]
        for proto in (IPPROTO_TCP, IPPROTO_UDP, IPPROTO_TCP):
            result = prog.test_run(ipv4_packet(proto))
            print(f"protocol {proto}: {XDP_ACTIONS.get(result.retval, result.retval)}")

        # .bss globals read live through their data map
        total = int.from_bytes(coll.variables["total_packets"].get(), sys.byteorder)
        print("total packets:", total)

        # a per-CPU map: one value per possible CPU
        counts = coll.maps["by_protocol"]
        for proto in (IPPROTO_TCP, IPPROTO_UDP):
            per_cpu = counts.lookup_percpu(proto)
            print(f"protocol {proto}: {sum(int.from_bytes(v, sys.byteorder) for v in per_cpu)}"
                  " packets")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "packet_counter.bpf.o")
