#!/usr/bin/env bash
# Active expiry under load: loads KEYS keys (default 1M) with a 1 s TTL into flint-server and
# redis-server (each pinned to core 0), then, with nobody reading them, polls DBSIZE until it
# reaches 0 while redis-benchmark measures PING latency on another core. Prints, per server,
# how long the keys took to go and the latency seen meanwhile.
#   FLINT_BIN (default target/release/flint-server), KEYS, REDIS_PORT, FLINT_PORT
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-1000000}
FLINT_BIN=${FLINT_BIN:-target/release/flint-server}
REDIS_PORT=${REDIS_PORT:-16479}
FLINT_PORT=${FLINT_PORT:-16480}
[ -x "$FLINT_BIN" ] || cargo build --release -p flint-server
LOAD=$(mktemp)
trap 'rm -f "$LOAD"; kill $PIDS 2>/dev/null || true' EXIT
python3 - "$KEYS" > "$LOAD" <<'PY'
import sys
out = sys.stdout.buffer
for n in range(int(sys.argv[1])):
    k = b"key:%d" % n
    out.write(b"*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%016d\r\n$2\r\nPX\r\n$4\r\n1000\r\n" % (len(k), k, n))
PY
PIDS=""
taskset -c 0 redis-server --port "$REDIS_PORT" --save '' --appendonly no >/dev/null 2>&1 &
PIDS="$PIDS $!"
taskset -c 0 "$FLINT_BIN" --port "$FLINT_PORT" --threads 1 >/dev/null 2>&1 &
PIDS="$PIDS $!"
sleep 0.5
for pair in "redis $REDIS_PORT" "flint $FLINT_PORT"; do
    set -- $pair
    name=$1 port=$2
    start=$(date +%s.%N)
    redis-cli -p "$port" --pipe < "$LOAD" >/dev/null
    loaded=$(date +%s.%N)
    # A client on the other core pings in a loop until DBSIZE is 0: its worst latencies are
    # what expiry cost other clients.
    taskset -c 1 python3 - "$port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
lat, t_end = [], None
start = time.time()
while True:
    t = time.perf_counter()
    s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
    r = b""
    while not r.endswith(b"\r\n"):
        r += s.recv(64)
    lat.append((time.perf_counter() - t) * 1000)
    if r == b":0\r\n":
        break
    time.sleep(0.001)
lat.sort()
print("  gone %.2f s after the load ended; DBSIZE latency meanwhile: p99 %.3f ms, max %.3f ms (%d samples)"
      % (time.time() - start, lat[int(len(lat) * 0.99)], lat[-1], len(lat)))
PY
    printf '%s: %d keys with PX 1000 loaded in %.2f s\n' "$name" "$KEYS" "$(echo "$loaded - $start" | bc)"
done
