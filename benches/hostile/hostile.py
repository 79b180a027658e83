#!/usr/bin/env python3
"""Sends a cycle of hostile DNS datagrams (a subset of tests/src/hostile_dns.rs: short
headers, count lies, pointer loops, label 64, two OPTs, QR=1, other opcodes) to HOST:PORT at
RATE packets/s for SECONDS. Bounded by SECONDS; prints how many were sent."""
import socket
import sys
import time

host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
www = b"\x03www\x05bench\x04test\x00"
q = www + b"\x00\x01\x00\x01"
opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
def hdr(flags, qd, an, ns, ar):
    return b"\x12\x34" + flags.to_bytes(2, "big") + b"".join(c.to_bytes(2, "big") for c in (qd, an, ns, ar))
pkts = [
    b"\x42",
    hdr(0x0100, 1, 0, 0, 0)[:11],
    hdr(0x0100, 1, 0, 0, 0),
    hdr(0x0100, 2, 0, 0, 0) + q,
    hdr(0x0100, 1, 1, 0, 0) + q,
    hdr(0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",
    hdr(0x0100, 1, 0, 0, 0) + b"\x01a\xc0\x10\xc0\x0c\x00\x01\x00\x01",
    hdr(0x0100, 1, 0, 0, 0) + b"\x40" + b"b" * 64 + b"\x00\x00\x01\x00\x01",
    hdr(0x0100, 1, 0, 0, 2) + q + opt + opt,
    hdr(0x8100, 1, 0, 0, 0) + q,
    hdr(0x0100 | (5 << 11), 1, 0, 0, 0) + q,
]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
start = time.monotonic()
sent = 0
while True:
    elapsed = time.monotonic() - start
    if elapsed >= seconds:
        break
    due = int(elapsed * rate)
    while sent < due:
        try:
            s.sendto(pkts[sent % len(pkts)], (host, port))
        except BlockingIOError:
            pass
        sent += 1
    time.sleep(0.001)
print(f"hostile packets sent: {sent}")
