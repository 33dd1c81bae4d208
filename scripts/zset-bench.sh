#!/usr/bin/env bash
# Sorted sets at scale, Flint against redis-server on the same machine: one sorted set filled by
# redis-benchmark's ZADD (`-r 1000000`, 2M requests: about 865k members), then
#   - memory: RSS growth and used_memory per member;
#   - throughput of the commands a leaderboard or a time index runs (pipeline 16, 50 clients,
#     random members and scores);
#   - two big range removals, timed from redis-cli.
# Each server runs alone, pinned to core SERVER_CPU (0); redis-benchmark on CLIENT_CPU (1).
#
#   scripts/zset-bench.sh                     # builds target/release/flint-server
#   FLINT_BIN=/path/to/flint-server N=300000 scripts/zset-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-300000}
PORT=${PORT:-16396}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
if [ -z "${FLINT_BIN:-}" ]; then
    cargo build --release -p flint-server >&2
    FLINT_BIN=target/release/flint-server
fi

CMDS=(
    "ZSCORE myzset element:__rand_int__"
    "ZRANK myzset element:__rand_int__"
    "ZINCRBY myzset 1 element:__rand_int__"
    "ZRANGEBYSCORE myzset __rand_int__ +inf LIMIT 0 10"
    "ZREVRANGE myzset 0 99 WITHSCORES"
    "ZCOUNT myzset 100 __rand_int__"
    "ZADD lexset 0 element:__rand_int__"
    "ZREM myzset element:__rand_int__"
)

PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; true' EXIT
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

for server in redis flint; do
    if [ "$server" = redis ]; then
        taskset -c "$SERVER_CPU" redis-server --port "$PORT" --save "" --appendonly no >/dev/null 2>&1 &
    else
        taskset -c "$SERVER_CPU" "$FLINT_BIN" --port "$PORT" --threads 1 >/dev/null 2>&1 &
    fi
    PID=$!
    for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    rss0=$(awk '/VmRSS/{print $2}' "/proc/$PID/status")
    taskset -c "$CLIENT_CPU" redis-benchmark -p "$PORT" -t zadd -n 2000000 -r 1000000 -P 16 -c 50 >/dev/null 2>&1
    n=$(redis-cli -p "$PORT" zcard myzset)
    rss1=$(awk '/VmRSS/{print $2}' "/proc/$PID/status")
    used=$(redis-cli -p "$PORT" info memory | awk -F: '/^used_memory:/{print $2}' | tr -d '\r')
    echo "$server: $n members; RSS $(((rss1 - rss0) * 1024 / n)) B/member, used_memory $((used / n)) B/member"
    for c in "${CMDS[@]}"; do
        # shellcheck disable=SC2086
        rps=$(taskset -c "$CLIENT_CPU" redis-benchmark -p "$PORT" -n "$N" -r 1000000 -P 16 -c 50 $c 2>/dev/null |
            awk '/throughput summary/{print $3}')
        printf "  %-50s %10s req/s\n" "$c" "$rps"
    done
    t=$(date +%s%N)
    r=$(redis-cli -p "$PORT" zremrangebyrank myzset 100000 499999)
    echo "  ZREMRANGEBYRANK myzset 100000 499999: $r removed in $(ms_since "$t") ms"
    t=$(date +%s%N)
    r=$(redis-cli -p "$PORT" zremrangebyscore myzset 750000 950000)
    echo "  ZREMRANGEBYSCORE myzset 750000 950000: $r removed in $(ms_since "$t") ms"
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
done
