#!/usr/bin/env python3
"""Sends hostile DNS datagrams (a subset of tests/src/hostile_dns.rs) to HOST:PORT at RATE
packets/s for SECONDS, all classes in turn or only CLASS. Bounded by SECONDS; prints how many
were sent.

    hostile.py HOST PORT RATE SECONDS [CLASS|all]
    hostile.py --list        # class names, one a line

The class `benign` is the control: a well-formed query for a local name (answered), sent at
the same rate, to tell the cost of any extra datagram from the cost of a hostile one."""
import socket
import sys
import time

www = b"\x03www\x05bench\x04test\x00"
q = www + b"\x00\x01\x00\x01"
opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"


def hdr(flags, qd, an, ns, ar):
    counts = b"".join(c.to_bytes(2, "big") for c in (qd, an, ns, ar))
    return b"\x12\x34" + flags.to_bytes(2, "big") + counts


CLASSES = {
    "one-byte": b"\x42",
    "short-header": hdr(0x0100, 1, 0, 0, 0)[:11],
    "header-only": hdr(0x0100, 1, 0, 0, 0),
    "qdcount-lie": hdr(0x0100, 2, 0, 0, 0) + q,
    "ancount-lie": hdr(0x0100, 1, 1, 0, 0) + q,
    "pointer-self": hdr(0x0100, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",
    "pointer-forward": hdr(0x0100, 1, 0, 0, 0) + b"\x01a\xc0\x10\xc0\x0c\x00\x01\x00\x01",
    "label-64": hdr(0x0100, 1, 0, 0, 0) + b"\x40" + b"b" * 64 + b"\x00\x00\x01\x00\x01",
    "two-opt": hdr(0x0100, 1, 0, 0, 2) + q + opt + opt,
    "qr-set": hdr(0x8100, 1, 0, 0, 0) + q,
    "opcode-5": hdr(0x0100 | (5 << 11), 1, 0, 0, 0) + q,
}
BENIGN = hdr(0x0100, 1, 0, 0, 0) + q

if len(sys.argv) == 2 and sys.argv[1] == "--list":
    print("\n".join(list(CLASSES) + ["benign"]))
    sys.exit(0)
host, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
cls = sys.argv[5] if len(sys.argv) > 5 else "all"
if cls == "all":
    pkts = list(CLASSES.values())
elif cls == "benign":
    pkts = [BENIGN]
else:
    pkts = [CLASSES[cls]]
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
    # Answers (FORMERR, NOTIMP, benign) are read and thrown away, so the socket never fills.
    try:
        while s.recv(4096):
            pass
    except BlockingIOError:
        pass
    time.sleep(0.001)
print(f"hostile packets sent: {sent}")
