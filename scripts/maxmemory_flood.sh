#!/usr/bin/env bash
# How closely each server holds maxmemory under a write flood: redis-benchmark SETs random keys
# (values of SIZE bytes, pipeline 16, 50 clients) into a server with maxmemory MAXMEMORY and
# policy POLICY, while used_memory is sampled every 50 ms. Prints the highest sample and the
# final figure as a ratio of maxmemory, and the keys evicted.
#
#   scripts/maxmemory_flood.sh                 # flint and redis, 64mb, allkeys-lru
#   POLICY=allkeys-random MAXMEMORY=256mb scripts/maxmemory_flood.sh
#
# Environment: FLINT_BIN (target/release/flint-server), MAXMEMORY (64mb), POLICY (allkeys-lru),
# N (2000000 requests), SIZE (100), PORT (16390).
set -euo pipefail
cd "$(dirname "$0")/.."
FLINT_BIN=${FLINT_BIN:-target/release/flint-server}
MAXMEMORY=${MAXMEMORY:-64mb}
POLICY=${POLICY:-allkeys-lru}
N=${N:-2000000}
SIZE=${SIZE:-100}
PORT=${PORT:-16390}

field() { redis-cli -p "$PORT" info "$1" | tr -d '\r' | awk -F: -v f="$2" '$1 == f { print $2 }'; }

run() {
    local name=$1 pid
    if [ "$name" = redis ]; then
        taskset -c 0 redis-server --port "$PORT" --save '' --appendonly no --logfile /dev/null \
            --maxmemory "$MAXMEMORY" --maxmemory-policy "$POLICY" &
    else
        taskset -c 0 "$FLINT_BIN" --port "$PORT" --threads 1 --loglevel warning \
            --maxmemory "$MAXMEMORY" --maxmemory-policy "$POLICY" &
    fi
    pid=$!
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$PORT" ping 2>/dev/null)" = PONG ] && break
        sleep 0.1
    done
    local max_bytes peak=0 used
    max_bytes=$(field memory maxmemory)
    taskset -c 1 redis-benchmark -p "$PORT" -t set -r 100000000 -n "$N" -c 50 -P 16 -d "$SIZE" -q \
        >/dev/null 2>&1 &
    local bench=$!
    while kill -0 "$bench" 2>/dev/null; do
        used=$(field memory used_memory || echo 0)
        [ -n "$used" ] && [ "$used" -gt "$peak" ] && peak=$used
        sleep 0.05
    done
    wait "$bench" || true
    used=$(field memory used_memory)
    printf "%-6s maxmemory %s (%s), %s: peak used_memory %s (%.3f of max), final %s (%.3f), evicted %s, keys %s\n" \
        "$name" "$MAXMEMORY" "$max_bytes" "$POLICY" "$peak" "$(echo "$peak / $max_bytes" | bc -l)" \
        "$used" "$(echo "$used / $max_bytes" | bc -l)" "$(field stats evicted_keys)" \
        "$(redis-cli -p "$PORT" dbsize)"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
}

run redis
run flint
