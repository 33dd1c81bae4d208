#!/usr/bin/env bash
# Side-by-side benchmark of flint-server and redis-server on the same machine.
#
#   scripts/bench.sh              throughput: redis-benchmark SET, GET, INCR, MSET with random keys,
#                                 50 clients, pipeline 1 and 16; per server: requests/s, p99 latency
#                                 and server CPU time (utime+stime from /proc) per request.
#   scripts/bench.sh memory       memory: loads each dataset of DATASETS (default "strings": KEYS keys
#                                 `SET key:<n> <16-byte value>`; also strings20, strings20ttl, hashes,
#                                 zsets, bighash, bigset, bigzset, see gen below) into each server
#                                 and reports RSS growth and bytes per key (per element for big*).
#
# Each server runs alone (one at a time), pinned to core SERVER_CPU with taskset; Flint runs with
# --threads 1. redis-benchmark is pinned to core CLIENT_CPU.
#
# Environment: N (requests per test, default 200000), CLIENTS (50), PIPELINES ("1 16"),
# TESTS ("set get incr mset"; also e.g. "lpush rpop sadd spop hset zadd lrange_100", and
# "evalsha": EVALSHA of `return 1`), KEYS and
# COLLECTIONS (memory mode: string keys, default 1000000; hashes/zsets, default 100000), DATASETS, SERVER_CPU (0), CLIENT_CPU (1),
# ROUNDS (1: runs redis then flint ROUNDS times and reports medians), FILL (0: SETs of random
# keys, -r 1000000, loaded into each server before its tests, so that GET finds its keys),
# REDIS_PORT (16379), FLINT_PORT (16380), FLINT_THREADS (1: flint's --threads, its workers all
# pinned to SERVER_CPU too), FLINT_BIN (default: target/release/flint-server, built
# here with `cargo build --release -p flint-server` unless FLINT_BIN is set).
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-throughput}
N=${N:-200000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-"1 16"}
TESTS=${TESTS:-"set get incr mset"}
KEYS=${KEYS:-1000000}
COLLECTIONS=${COLLECTIONS:-100000}
DATASETS=${DATASETS:-"strings"}
ROUNDS=${ROUNDS:-1}
FILL=${FILL:-0}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
REDIS_PORT=${REDIS_PORT:-16379}
FLINT_PORT=${FLINT_PORT:-16380}
FLINT_THREADS=${FLINT_THREADS:-1}
CLK_TCK=$(getconf CLK_TCK)

case "$MODE" in
throughput | memory) ;;
*)
    echo "usage: $0 [throughput|memory]" >&2
    exit 2
    ;;
esac

for tool in redis-server redis-cli redis-benchmark taskset awk; do
    if ! command -v "$tool" >/dev/null; then
        echo "missing $tool (apt-get install redis-server redis-tools util-linux)" >&2
        exit 1
    fi
done

if [ -z "${FLINT_BIN:-}" ]; then
    cargo build --release -p flint-server >&2
    FLINT_BIN=target/release/flint-server
fi

SERVER_PID=""
TMP_FILES=()
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ "${#TMP_FILES[@]}" -gt 0 ]; then
        rm -f "${TMP_FILES[@]}"
    fi
}
trap cleanup EXIT

port_of() {
    if [ "$1" = redis ]; then echo "$REDIS_PORT"; else echo "$FLINT_PORT"; fi
}

# start_server redis|flint: starts it pinned to SERVER_CPU and waits for PONG.
start_server() {
    local port
    port=$(port_of "$1")
    if redis-cli -p "$port" ping >/dev/null 2>&1; then
        echo "port $port is already in use; set REDIS_PORT/FLINT_PORT" >&2
        exit 1
    fi
    if [ "$1" = redis ]; then
        taskset -c "$SERVER_CPU" redis-server --port "$port" --bind 127.0.0.1 --save '' \
            --appendonly no --daemonize no --logfile /dev/null &
    else
        taskset -c "$SERVER_CPU" "$FLINT_BIN" --port "$port" --bind 127.0.0.1 --threads "$FLINT_THREADS" \
            --save '' --loglevel warning >/dev/null 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 100); do
        if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "$1 did not start on port $port" >&2
    exit 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# CPU time (utime + stime, all threads) of the running server, in clock ticks.
cpu_ticks() {
    sed 's/.*) //' "/proc/$SERVER_PID/stat" | awk '{ print $12 + $13 }'
}

rss_kb() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"
}

declare -A RPS P99 CPU

# bench NAME: every test at every pipeline depth against the running server.
bench() {
    local name=$1 port p t line before after
    port=$(port_of "$name")
    for p in $PIPELINES; do
        for t in $TESTS; do
            # Tests redis-benchmark has no -t name for run as explicit commands.
            local cmd=(-t "$t")
            case "$t" in
            evalsha)
                cmd=(EVALSHA "$(redis-cli -p "$port" SCRIPT LOAD 'return 1')" 0)
                ;;
            esac
            before=$(cpu_ticks)
            line=$(timeout 900 taskset -c "$CLIENT_CPU" redis-benchmark -p "$port" -r 1000000 \
                -n "$N" -c "$CLIENTS" -P "$p" --csv "${cmd[@]}" 2>/dev/null | tail -n 1)
            after=$(cpu_ticks)
            # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
            local rps p99 cpu
            rps=$(echo "$line" | awk -F'","' '{ print $2 + 0 }')
            p99=$(echo "$line" | awk -F'","' '{ print $7 + 0 }')
            cpu=$(awk -v a="$before" -v b="$after" -v hz="$CLK_TCK" -v n="$N" \
                'BEGIN { printf "%.2f", (b - a) * 1e6 / hz / n }')
            RPS[$name:$t:$p]+="$rps "
            P99[$name:$t:$p]+="$p99 "
            CPU[$name:$t:$p]+="$cpu "
            echo "  $name $t -P $p: $rps req/s, p99 $p99 ms, $cpu us CPU/req" >&2
        done
    done
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'
}

# median "v1 v2 ...": the middle value (the mean of the two middle ones for an even count).
median() {
    echo "$1" | tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

throughput() {
    local round
    for round in $(seq "$ROUNDS"); do
        for s in redis flint; do
            echo "== round $round/$ROUNDS: $s (core $SERVER_CPU), redis-benchmark on core $CLIENT_CPU, n=$N c=$CLIENTS r=1000000 fill=$FILL" >&2
            start_server "$s"
            if [ "$FILL" -gt 0 ]; then
                taskset -c "$CLIENT_CPU" redis-benchmark -p "$(port_of "$s")" -r 1000000 -n "$FILL" \
                    -c "$CLIENTS" -P 16 -t set >/dev/null 2>&1
            fi
            bench "$s"
            stop_server
        done
    done
    local k
    for k in "${!RPS[@]}"; do
        [ "$ROUNDS" -gt 1 ] && echo "  p99 runs $k: ${P99[$k]}" >&2
        RPS[$k]=$(median "${RPS[$k]}")
        P99[$k]=$(median "${P99[$k]}")
        CPU[$k]=$(median "${CPU[$k]}")
    done
    echo
    echo "redis-benchmark -r 1000000 -n $N -c $CLIENTS; servers pinned to one core; flint --threads $FLINT_THREADS"
    [ "$FILL" -gt 0 ] && echo "each server first loaded with $FILL random SETs (-r 1000000, about $(awk -v f="$FILL" 'BEGIN { printf "%d", 1e6 * (1 - exp(-f / 1e6)) }') keys)"
    [ "$ROUNDS" -gt 1 ] && echo "medians of $ROUNDS rounds, redis and flint alternating"
    echo "ratios are flint / redis (rps: higher is better for flint; p99 and CPU: lower is better)"
    printf "%-5s %3s | %11s %11s %5s | %7s %7s %5s | %8s %8s %5s\n" \
        cmd P "rps redis" "rps flint" ratio "p99 r" "p99 f" ratio "us/req r" "us/req f" ratio
    printf -- '-%.0s' $(seq 96)
    echo
    local p t k
    for p in $PIPELINES; do
        for t in $TESTS; do
            k="$t:$p"
            printf "%-5s %3s | %11s %11s %5s | %7s %7s %5s | %8s %8s %5s\n" \
                "$t" "$p" "${RPS[redis:$k]}" "${RPS[flint:$k]}" "$(ratio "${RPS[redis:$k]}" "${RPS[flint:$k]}")" \
                "${P99[redis:$k]}" "${P99[flint:$k]}" "$(ratio "${P99[redis:$k]}" "${P99[flint:$k]}")" \
                "${CPU[redis:$k]}" "${CPU[flint:$k]}" "$(ratio "${CPU[redis:$k]}" "${CPU[flint:$k]}")"
        done
    done
}

# gen DATASET COUNT: the RESP commands that load one memory dataset, on stdout.
#   strings      COUNT x SET key:<n> <16-byte value>                  (issue 2's figure)
#   strings20    COUNT x SET key:<10 digits> value-<10 digits>        (issue 4's figure)
#   strings20ttl the same with EX 100000 on each key
#   hashes       COUNT x HSET h:<n> with 10 fields f0..f9, 10-byte values
#   zsets        COUNT x ZADD z:<n> with 10 members m0:<n>..m9:<n>, integer and fractional scores
#   bighash      one hash of COUNT fields field:<10 digits> -> value-<10 digits> ("bytes/key" is per
#                field; so for the next two, per member)
#   bigset       one set of COUNT members member:<10 digits>
#   bigzset      one sorted set of COUNT members member:<10 digits>, scores scattered over 1M
gen() {
    awk -v n="$2" -v set="$1" '
    function cmd(argc, a,    i, out) {
        out = "*" argc "\r\n"
        for (i = 1; i <= argc; i++) out = out "$" length(a[i]) "\r\n" a[i] "\r\n"
        printf "%s", out
    }
    BEGIN {
        for (i = 0; i < n; i++) {
            delete a
            if (set == "strings") {
                a[1] = "SET"; a[2] = "key:" i; a[3] = sprintf("v%015d", i); cmd(3, a)
            } else if (set == "strings20" || set == "strings20ttl") {
                a[1] = "SET"; a[2] = sprintf("key:%010d", i); a[3] = sprintf("value-%010d", i)
                if (set == "strings20ttl") { a[4] = "EX"; a[5] = "100000"; cmd(5, a) } else cmd(3, a)
            } else if (set == "hashes") {
                a[1] = "HSET"; a[2] = "h:" i
                for (j = 0; j < 10; j++) { a[3 + 2 * j] = "f" j; a[4 + 2 * j] = sprintf("v%09d", i + j) }
                cmd(22, a)
            } else if (set == "bighash") {
                a[1] = "HSET"; a[2] = "bighash"; a[3] = sprintf("field:%010d", i); a[4] = sprintf("value-%010d", i); cmd(4, a)
            } else if (set == "bigset") {
                a[1] = "SADD"; a[2] = "bigset"; a[3] = sprintf("member:%010d", i); cmd(3, a)
            } else if (set == "bigzset") {
                a[1] = "ZADD"; a[2] = "bigzset"; a[3] = (i * 7919) % 1000003; a[4] = sprintf("member:%010d", i); cmd(4, a)
            } else if (set == "zsets") {
                a[1] = "ZADD"; a[2] = "z:" i
                for (j = 0; j < 10; j++) {
                    a[3 + 2 * j] = (j % 2 == 0) ? (i % 1000) + j : sprintf("%.1f", j + 0.5)
                    a[4 + 2 * j] = "m" j ":" i
                }
                cmd(22, a)
            }
        }
    }'
}

memory() {
    local load set
    load=$(mktemp /tmp/flint-bench-load.XXXXXX)
    TMP_FILES+=("$load")
    for set in $DATASETS; do
        local count=$KEYS
        case "$set" in
        hashes | zsets) count=$COLLECTIONS ;;
        esac
        echo "generating $set ($count keys)..." >&2
        gen "$set" "$count" >"$load"
        declare -A EMPTY FULL USED
        local s port
        for s in redis flint; do
            port=$(port_of "$s")
            start_server "$s"
            sleep 0.5
            EMPTY[$s]=$(rss_kb)
            redis-cli -p "$port" --pipe <"$load" >/dev/null
            sleep 1
            local dbsize
            dbsize=$(redis-cli -p "$port" dbsize)
            if [ "$dbsize" != "$count" ]; then
                echo "$s holds $dbsize keys, expected $count" >&2
            fi
            FULL[$s]=$(rss_kb)
            USED[$s]=$(redis-cli -p "$port" info memory 2>/dev/null | tr -d '\r' |
                awk -F: '/^used_memory:/ { print $2 }')
            stop_server
        done
        echo
        echo "$set: $count keys; RSS from /proc/<pid>/status"
        printf "%-6s | %10s %10s %10s | %9s | %14s\n" server "empty MiB" "full MiB" "delta MiB" "bytes/key" "used_memory"
        printf -- '-%.0s' $(seq 72)
        echo
        for s in redis flint; do
            awk -v s="$s" -v e="${EMPTY[$s]}" -v f="${FULL[$s]}" -v k="$count" -v u="${USED[$s]:--}" 'BEGIN {
                printf "%-6s | %10.1f %10.1f %10.1f | %9.1f | %14s\n", s, e / 1024, f / 1024, (f - e) / 1024, (f - e) * 1024 / k, u
            }'
        done
        awk -v r="$((FULL[redis] - EMPTY[redis]))" -v f="$((FULL[flint] - EMPTY[flint]))" \
            'BEGIN { if (r > 0) printf "flint / redis bytes per key: %.2f\n", f / r }'
    done
}

"$MODE"
