#!/usr/bin/env python3
"""tests/unit/esp_interop.py - our ESP against scapy's, an independent
implementation (scapy.layers.ipsec on python3-cryptography).

For AES-128 and AES-256, with and without extended sequence numbers, over
IPv4 and IPv6 outer headers with IPv4 and IPv6 inner packets:

  1. scapy encrypts tunnel-mode packets as node A; esp_tool (node B)
     decrypts them and must give back the exact inner bytes. A tampered
     copy (sent before the real packet) and a replayed copy must come back
     as drops.
  2. esp_tool encrypts as node A; scapy decrypts and must get the exact
     inner packets; the outer IPv4 checksum must be right.

With ESN the sequence numbers start above 2^32, so the high half that
never goes on the wire must agree on both sides. Packets are exchanged as
files of hex lines in WORKDIR; no network is used.

usage: esp_interop.py ESP_TOOL WORKDIR
"""
import os
import subprocess
import sys

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.packet import Raw, raw

SPI = 3
KEYS = {128: bytes(range(1, 21)), 256: bytes(range(0x40, 0x40 + 36))}
NODES = {4: ("10.0.0.1", "10.0.0.2"), 6: ("fd00::1", "fd00::2")}
A_NETS = ["10.1.0.0/16", "fd01::/64"]
B_NETS = ["10.2.0.0/16", "fd02::/64"]
COUNT = 8


def inner(fam, i):
    """Packet i from A's backends to B's: alternating sizes and content."""
    data = bytes((i * 7 + j) & 0xFF for j in range(20 + 181 * i))
    udp = UDP(sport=1000 + i, dport=53) / Raw(data)
    if fam == 4:
        return IP(src="10.1.0.5", dst="10.2.0.7", ttl=63, flags="DF", tos=0x28) / udp
    return IPv6(src="fd01::5", dst="fd02::7", hlim=63, tc=0x28) / udp


def tunnel(outer, src_first=True):
    a, b = NODES[outer]
    src, dst = (a, b) if src_first else (b, a)
    return IP(src=src, dst=dst) if outer == 4 else IPv6(src=src, dst=dst)


def sa_for(bits, esn, outer, seq):
    return SecurityAssociation(
        ESP, spi=SPI, seq_num=seq & 0xFFFFFFFF, crypt_algo="AES-GCM",
        crypt_key=KEYS[bits], tunnel_header=tunnel(outer),
        esn_en=esn, esn=seq >> 32)


def run_tool(tool, work, mode, bits, esn, outer, seq, lines):
    a, b = NODES[outer]
    local, peer, nets = (a, b, B_NETS) if mode == "encap" else (b, a, A_NETS)
    keys = os.path.join(work, "keys")
    with open(keys, "w") as f:
        f.write("%d rfc4106(gcm(aes)) %s 128\n" % (SPI, KEYS[bits].hex()))
    src, dst = os.path.join(work, "in.hex"), os.path.join(work, "out.hex")
    with open(src, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    cmd = [tool, mode, "--keys", keys, "--local", local, "--peer", peer,
           "--seq", str(seq)]
    for n in nets:
        cmd += ["--prefix", n]
    if not esn:
        cmd.append("--no-esn")
    subprocess.run(cmd + [src, dst], check=True)
    with open(dst) as f:
        return [l.strip() for l in f]


def scapy_to_us(tool, work, bits, esn, outer):
    start = (1 << 32) + 0x10 if esn else 0x10
    sa = sa_for(bits, esn, outer, start)
    want, lines = [], []
    for i in range(COUNT):
        pkt = inner(4 if i % 2 else 6, i)
        enc = raw(sa.encrypt(pkt))
        lines.append(enc.hex())
        want.append(raw(pkt).hex())
    # a tampered copy of packet 3 just before it (the window must not
    # move for it, so the real one still passes), then a replay of 2
    bad = bytearray(bytes.fromhex(lines[3]))
    bad[-20] ^= 0x40
    lines[3:3] = [bad.hex()]
    want[3:3] = ["DROP bad_icv"]
    lines.append(lines[2])
    want.append("DROP replay")
    got = run_tool(tool, work, "decap", bits, esn, outer, start - 1, lines)
    return check("scapy->us", got, want)


def us_to_scapy(tool, work, bits, esn, outer):
    start = (1 << 32) + 0x10 if esn else 0x10
    pkts = [inner(4 if i % 2 else 6, i) for i in range(COUNT)]
    got = run_tool(tool, work, "encap", bits, esn, outer, start - 1,
                   [raw(p).hex() for p in pkts])
    sa = sa_for(bits, esn, outer, start)
    dec, want = [], []
    for i, line in enumerate(got):
        b = bytes.fromhex(line)
        o = IP(b) if outer == 4 else IPv6(b)
        if outer == 4:
            c = o.chksum
            del o.chksum
            if IP(raw(o)).chksum != c:
                dec.append("bad outer checksum")
                continue
            o = IP(b)
        esp = o[ESP]
        if esp.spi != SPI or esp.seq != (start + i) & 0xFFFFFFFF:
            dec.append("spi %d seq %d" % (esp.spi, esp.seq))
            continue
        dec.append(raw(sa.decrypt(o)).hex())
    want = [raw(p).hex() for p in pkts]
    return check("us->scapy", dec, want)


def check(what, got, want):
    if got == want:
        return True
    print("  %s: %d lines, want %d" % (what, len(got), len(want)))
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            print("  first difference at packet %d:\n    got  %s\n    want %s"
                  % (i, g[:120], w[:120]))
            break
    return False


def main():
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    passed = failed = 0
    for bits in (128, 256):
        for esn in (False, True):
            for outer in (4, 6):
                for fn in (scapy_to_us, us_to_scapy):
                    name = "%s aes-%d esn=%s outer=IPv%d" % (
                        fn.__name__, bits, esn, outer)
                    if fn(tool, work, bits, esn, outer):
                        passed += 1
                        print("ok   " + name)
                    else:
                        failed += 1
                        print("FAIL " + name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
