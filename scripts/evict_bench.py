#!/usr/bin/env python3
"""Hit rate of each maxmemory policy under a Zipfian cache workload, Flint and Redis side by side.

A cache-aside client: GET a key drawn from a Zipf distribution over KEYS keys; on a miss, SET it
(with a TTL for the volatile-* policies). maxmemory is set to the server's used_memory at start
plus FRACTION of what the whole dataset costs in Redis, so both servers get the same byte budget
(a server that stores keys more compactly holds more of them, which is part of the comparison;
the keys each one held are reported too). After WARMUP requests, the hit rate over MEASURE
requests is reported per policy.

    scripts/evict_bench.py                       # all policies, default sizes
    KEYS=200000 MEASURE=1000000 scripts/evict_bench.py allkeys-lru allkeys-lfu

Environment: FLINT_BIN (default target/release/flint-server), KEYS (100000), VALUE (100 bytes),
ZIPF (1.0, the exponent), FRACTION (0.2), WARMUP (200000), MEASURE (500000), SEED (1),
REDIS_PORT (16379), FLINT_PORT (16380). Pure standard library: raw RESP over a socket.
"""

import bisect
import itertools
import os
import random
import socket
import subprocess
import sys
import time

KEYS = int(os.environ.get("KEYS", 100_000))
VALUE = int(os.environ.get("VALUE", 100))
ZIPF = float(os.environ.get("ZIPF", 1.0))
FRACTION = float(os.environ.get("FRACTION", 0.2))
WARMUP = int(os.environ.get("WARMUP", 200_000))
MEASURE = int(os.environ.get("MEASURE", 500_000))
SEED = int(os.environ.get("SEED", 1))
FLINT_BIN = os.environ.get("FLINT_BIN", "target/release/flint-server")
PORTS = {"redis": int(os.environ.get("REDIS_PORT", 16379)),
         "flint": int(os.environ.get("FLINT_PORT", 16380))}
POLICIES = sys.argv[1:] or ["allkeys-lru", "allkeys-lfu", "allkeys-random",
                            "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]
BATCH = 100


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def send(self, cmds):
        out = []
        for args in cmds:
            out.append(b"*%d\r\n" % len(args))
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))
        return [self.reply() for _ in cmds]

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(1 << 16)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self.line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            return Exception(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(1 << 16)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        raise ValueError(line)

    def info(self, field):
        text = self.send([["INFO", "all"]])[0].decode()
        for l in text.splitlines():
            if l.startswith(field + ":"):
                return int(l.split(":", 1)[1])
        raise KeyError(field)


def start(kind):
    port = PORTS[kind]
    if kind == "redis":
        cmd = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--logfile", "/dev/null"]
    else:
        cmd = [FLINT_BIN, "--port", str(port), "--threads", "1", "--loglevel", "warning"]
    proc = subprocess.Popen(["taskset", "-c", "0"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            c = Conn(port)
            if c.send([["PING"]])[0] == b"PONG":
                return proc, c
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{kind} did not start")


def zipf_sampler(rng):
    weights = [1.0 / (i + 1) ** ZIPF for i in range(KEYS)]
    cum = list(itertools.accumulate(weights))
    total = cum[-1]
    perm = list(range(KEYS))
    rng.shuffle(perm)  # popular keys scattered over the key names
    return lambda: perm[bisect.bisect_left(cum, rng.random() * total)]


def dataset_cost():
    """Bytes the whole dataset costs in Redis (the budget's reference)."""
    proc, c = start("redis")
    try:
        base = c.info("used_memory")
        value = b"v" * VALUE
        for s in range(0, KEYS, 1000):
            c.send([["SET", f"key:{i}", value] for i in range(s, min(s + 1000, KEYS))])
        return c.info("used_memory") - base
    finally:
        proc.kill()
        proc.wait()


def run(kind, policy, budget):
    proc, c = start(kind)
    try:
        c.send([["CONFIG", "SET", "maxmemory-policy", policy]])
        maxmemory = c.info("used_memory") + budget
        c.send([["CONFIG", "SET", "maxmemory", str(maxmemory)]])
        rng = random.Random(SEED)
        draw = zipf_sampler(rng)
        value = b"v" * VALUE
        ttl = policy.startswith("volatile")
        hits = total = 0
        for done in range(0, WARMUP + MEASURE, BATCH):
            keys = [f"key:{draw()}" for _ in range(BATCH)]
            got = c.send([["GET", k] for k in keys])
            misses = [k for k, v in zip(keys, got) if v is None]
            if misses:
                sets = [["SET", k, value] + (["EX", str(rng.randint(600, 3600))] if ttl else [])
                        for k in misses]
                for r in c.send(sets):
                    if isinstance(r, Exception):
                        raise RuntimeError(f"{kind} {policy}: {r}")
            if done >= WARMUP:
                total += BATCH
                hits += BATCH - len(misses)
        held = int(c.send([["DBSIZE"]])[0])
        used = c.info("used_memory")
        return hits / total, held, used / maxmemory
    finally:
        proc.kill()
        proc.wait()


def main():
    cost = dataset_cost()
    budget = int(cost * FRACTION)
    print(f"{KEYS} keys of {VALUE} B, Zipf s={ZIPF}; budget {budget} B "
          f"({FRACTION:.0%} of the dataset's {cost} B in Redis); warmup {WARMUP}, "
          f"measured {MEASURE} GETs (SET on miss)")
    print(f"{'policy':16} | {'hit redis':>9} {'hit flint':>9} | {'keys redis':>10} "
          f"{'keys flint':>10} | {'used/max r':>10} {'used/max f':>10}")
    print("-" * 88)
    for policy in POLICIES:
        r = run("redis", policy, budget)
        f = run("flint", policy, budget)
        print(f"{policy:16} | {r[0]:9.3f} {f[0]:9.3f} | {r[1]:10d} {f[1]:10d} | "
              f"{r[2]:10.3f} {f[2]:10.3f}", flush=True)


if __name__ == "__main__":
    main()
