#!/usr/bin/python3
"""tests/e2e/ipsec_peer.py - a peer node for ipsec_e2e.sh, written with
scapy's own ESP (an implementation independent of ctrl/ipsec/).

It runs in the peer's namespace with two interfaces: OUTER faces the
gateway (ESP both ways), INNER faces a real backend behind the peer.
ESP from the gateway is decrypted and the inner packet sent to the
backend as it is; the backend's packets are encrypted toward the
gateway. The namespace has IP forwarding off, so nothing crosses in
plaintext: this script is the only path.

Keys come from a Cilium-format key file (the last line encrypts, all
decrypt). SIGHUP re-reads it: new keys decrypt at once, and encryption
switches to the new current key only once the gateway has sent with it
(so a rotation loses nothing on either side). Commands, one per line on
the FIFO given with --control:
  attack   send one valid UDP packet from the backend, then the same
           packet again (replay), a tampered one, one with an unknown
           SPI and a truncated one
Counters and every decrypted inner packet's summary go to --log.
"""
import argparse
import os
import signal
import sys
import threading

from scapy.all import (AsyncSniffer, Ether, IP, UDP, Raw, conf, get_if_hwaddr,
                       sendp)
from scapy.layers.ipsec import ESP, SecurityAssociation

conf.verb = 0


def read_keys(path):
    keys = []
    for line in open(path):
        f = line.split()
        if not f or f[0].startswith("#"):
            continue
        spi = int(f[0].rstrip("+"))
        raw = bytes.fromhex(f[2][2:] if f[2].startswith("0x") else f[2])
        keys.append((spi, raw, int(f[3]) // 8))
    return keys


class Peer:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.log = open(a.log, "a", buffering=1)
        self.count = {"decrypted": 0, "decrypt_failed": 0, "encrypted": 0,
                      "plaintext_seen": 0, "inner_ok": 0, "inner_other": 0,
                      "reloads": 0}
        self.sa_in = {}
        self.sa_out = None
        self.pending = None   # (spi, sa) to switch to once the gw uses it
        self.gw_mac = a.gw_mac
        self.be_mac = None
        self.outer_mac = get_if_hwaddr(a.outer)
        self.inner_mac = get_if_hwaddr(a.inner)
        self.load(first=True)

    def sa(self, spi, raw, seq=1):
        return SecurityAssociation(
            ESP, spi=spi, seq_num=seq, crypt_algo="AES-GCM", crypt_key=raw,
            tunnel_header=IP(src=self.a.local, dst=self.a.gw),
            esn_en=self.a.esn, esn=0)

    def load(self, first=False):
        keys = read_keys(self.a.keys)
        with self.lock:
            for spi, raw, _ in keys:
                if spi not in self.sa_in:
                    self.sa_in[spi] = self.sa(spi, raw)
            spi, raw, _ = keys[-1]
            if first:
                self.sa_out = (spi, self.sa(spi, raw))
            elif spi != self.sa_out[0]:
                self.pending = (spi, self.sa(spi, raw))
            self.count["reloads"] += 1
        self.say("keys %s current %d" % ([k[0] for k in keys], keys[-1][0]))

    def say(self, msg):
        self.log.write(msg + "\n")

    def stats(self):
        with self.lock:
            self.say("stats " + " ".join("%s=%d" % kv for kv in sorted(self.count.items())))

    # gateway -> peer
    def on_outer(self, p):
        if IP not in p:
            return
        ip = p[IP]
        if ip.src != self.a.gw:
            return
        if ip.proto != 50:
            if ip.dst.startswith(self.a.prefix_start):
                with self.lock:
                    self.count["plaintext_seen"] += 1
                self.say("PLAINTEXT %s" % ip.summary())
            return
        if ip.dst != self.a.local:
            return
        spi = int.from_bytes(bytes(ip.payload)[:4], "big")
        with self.lock:
            sa = self.sa_in.get(spi)
            if not sa:
                self.count["decrypt_failed"] += 1
                self.say("unknown spi %d" % spi)
                return
            try:
                inner = sa.decrypt(ip)
            except Exception as e:  # noqa: BLE001 - any failure is counted
                self.count["decrypt_failed"] += 1
                self.say("decrypt failed spi %d: %s" % (spi, e))
                return
            self.count["decrypted"] += 1
            if self.pending and self.pending[0] == spi:
                self.sa_out, self.pending = self.pending, None
                self.say("encrypting with spi %d now" % spi)
            ok = (IP in inner and inner[IP].src == self.a.gw_snat and
                  inner[IP].dst == self.a.backend and inner[IP].proto in (6, 17))
            self.count["inner_ok" if ok else "inner_other"] += 1
        if not ok:
            self.say("inner unexpected: %s" % inner.summary())
        self.to_backend(inner[IP])

    def to_backend(self, ip):
        if not self.be_mac:
            from scapy.all import getmacbyip
            self.be_mac = getmacbyip(self.a.backend) or "ff:ff:ff:ff:ff:ff"
        sendp(Ether(src=self.inner_mac, dst=self.be_mac) / ip, iface=self.a.inner)

    def encrypt(self, ip):
        with self.lock:
            out = self.sa_out[1].encrypt(ip)
            self.count["encrypted"] += 1
        return out

    def to_gw(self, pkt):
        sendp(Ether(src=self.outer_mac, dst=self.gw_mac) / pkt, iface=self.a.outer)

    # backend -> peer
    def on_inner(self, p):
        if IP not in p or p[Ether].src == self.inner_mac:
            return
        ip = p[IP]
        if not ip.src.startswith(self.a.prefix_start) or ip.dst == self.a.inner_addr:
            return
        self.be_mac = p[Ether].src
        self.to_gw(self.encrypt(ip))

    def attack(self):
        probe = IP(src=self.a.backend, dst=self.a.gw_snat) / UDP(sport=7, dport=9) / Raw(b"x" * 32)
        good = self.encrypt(probe)
        self.to_gw(good)                              # in order on one link:
        self.to_gw(good)                              # replay
        raw = bytearray(bytes(self.encrypt(probe)))
        raw[-20] ^= 0x55                              # ciphertext: bad ICV
        self.to_gw(IP(bytes(raw)))
        with self.lock:
            spi = 14 if self.sa_out[0] != 14 else 13
        self.to_gw(self.sa(spi, bytes(20)).encrypt(probe))  # unknown SPI
        esp = bytes(self.encrypt(probe)[IP].payload)
        self.to_gw(IP(src=self.a.local, dst=self.a.gw, proto=50) / Raw(esp[:12]))  # truncated
        self.say("attack sent")


def main():
    ap = argparse.ArgumentParser()
    for k in ("keys", "log", "control", "outer", "inner", "local", "gw", "gw-mac",
              "gw-snat", "backend", "inner-addr", "prefix-start"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--esn", type=int, default=1)
    a = ap.parse_args()
    peer = Peer(a)
    signal.signal(signal.SIGHUP, lambda *_: peer.load())
    signal.signal(signal.SIGTERM, lambda *_: (peer.stats(), os._exit(0)))
    up = [threading.Event(), threading.Event()]
    s1 = AsyncSniffer(iface=a.outer, prn=peer.on_outer, store=False,
                      started_callback=up[0].set)
    s2 = AsyncSniffer(iface=a.inner, prn=peer.on_inner, store=False,
                      started_callback=up[1].set)
    s1.start()
    s2.start()
    if not (up[0].wait(10) and up[1].wait(10)):
        peer.say("sniffers did not start")
        sys.exit(1)
    peer.say("ready")
    while True:
        with open(a.control) as ctl:
            for line in ctl:
                cmd = line.strip()
                if cmd == "attack":
                    peer.attack()
                elif cmd == "stats":
                    peer.stats()


if __name__ == "__main__":
    sys.exit(main())
