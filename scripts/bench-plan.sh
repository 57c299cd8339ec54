#!/usr/bin/env bash
# The plan/apply benchmark of issue 13: N users from a CSV into ten groups and the groups into a
# project, against the fake server (its own process, release build) with a simulated network
# latency; a fresh, empty tenant for every run. For each concurrency: wall time of plan, apply
# and the re-plan (which must show no changes), and the engine's peak RSS. Then the same job
# done naively with the official Python client, one call after the other, on the first
# PY_USERS users (extrapolated linearly to N).
#
#   scripts/bench-plan.sh                       # 100,000 users; concurrency 1 4 8 16
#   BENCH_USERS=10000 BENCH_CONCURRENCY="1 8" scripts/bench-plan.sh
#
# Settings (environment): BENCH_USERS (100000), BENCH_CONCURRENCY ("1 4 8 16"),
# BENCH_LATENCY_MS (5), PY_USERS (1000; 0 skips Python), SQ_VENV (/tmp/sq: a venv with
# SquirroClient 3.17.3, made from PyPI when missing), BENCH_OUT (a temp dir: the raw lines).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
users=${BENCH_USERS:-100000}
concurrency=${BENCH_CONCURRENCY:-1 4 8 16}
latency=${BENCH_LATENCY_MS:-5}
py_users=${PY_USERS:-1000}
venv=${SQ_VENV:-/tmp/sq}
out=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$out"
say() { echo "bench-plan: $*" >&2; }

say "building (release)"
(cd "$root" && cargo build --release -q -p squirro-user-api-fake --bin squirro-user-api-fake &&
    cargo build --release -q -p squirro-user-plan --example bulk)
fake="$root/target/release/squirro-user-api-fake"
bulk="$root/target/release/examples/bulk"

fake_pid=""
stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=""
    fi
}
trap stop_fake EXIT

# Starts a fresh fake; sets url and token.
start_fake() {
    "$fake" --latency-ms "$latency" >"$out/fake.out" 2>&1 &
    fake_pid=$!
    for _ in $(seq 200); do
        grep -q 'Press Ctrl-C' "$out/fake.out" 2>/dev/null && break
        sleep 0.05
    done
    url=$(awk '/cluster URL:/ {print $3}' "$out/fake.out")
    token=$(awk '/refresh token:/ {print $3}' "$out/fake.out")
    [ -n "$url" ] && [ -n "$token" ] || { say "the fake did not start"; cat "$out/fake.out" >&2; exit 1; }
}

data="$out/data-$users"
"$bulk" gen "$users" "$data"
say "$users users, latency ${latency} ms; results in $out"
for c in $concurrency; do
    start_fake
    say "concurrency $c"
    "$bulk" run "$data" "$url" "$token" "$c" | tee -a "$out/rust.jsonl"
    stop_fake
done

if [ "$py_users" -gt 0 ]; then
    if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import squirro_client' 2>/dev/null; then
        say "making $venv with SquirroClient 3.17.3"
        python3 -m venv "$venv"
        "$venv/bin/pip" install -q SquirroClient==3.17.3
    fi
    start_fake
    say "python, naive, $py_users users"
    "$venv/bin/python" "$root/scripts/bench/plan_python.py" "$data" "$url" "$token" "$py_users" |
        tee -a "$out/python.jsonl"
    stop_fake
fi
