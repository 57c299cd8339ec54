#!/usr/bin/env bash
# Side by side: this crate's SDK, a bare ureq loop and the official Python client
# (SquirroClient 3.17.3), in one run, against a server nobody here wrote: nginx from Debian's
# packages serving fixed JSON on loopback (scripts/bench/nginx.conf.in, the JSON from
# scripts/bench/fixtures.py). Measured there: calls/s over keep-alive (one thread, and one
# client shared by 1-16 threads with the TCP connections each side opened, counted by nginx's
# stub_status), peak RSS, resident memory per idle pooled connection, get_users of 10, 1,000
# and 10,000 users (whole call and decoding), the first call of a fresh process, and nginx's
# own ceiling (wrk). The crate's fake user API (release build) serves the stateful read/write
# mix, which fixed JSON cannot.
#
#   scripts/bench.sh                      # under a minute once built
#   BENCH_OUT=/tmp/bench scripts/bench.sh # keep every raw figure there (else a temp dir)
#   SQ_VENV=/path/to/venv scripts/bench.sh
#
# Settings (environment):
#   BENCH_CALLS=10000       calls per client and job (get_user_data only; the read/write mix)
#   BENCH_ROUNDS=21         alternating rounds of SDK vs bare ureq ...
#   BENCH_ROUND_CALLS=2000  ... of this many calls each
#   BENCH_FIRST_RUNS=9      fresh processes per client for the first-call time
#   BENCH_WRK_SECONDS=5     length of each wrk run
#   BENCH_THREADS=1,2,4,8,16  thread counts of the scaling table ...
#   BENCH_THREAD_ROUNDS=21  ... alternating rounds of ...
#   BENCH_THREAD_CALLS=4000 ... this many calls, split over the threads
#   BENCH_IDLE_CLIENTS=1000 clients each holding one idle pooled connection (memory)
#   BENCH_USERS=10,1000,10000  list sizes of the get_users table
#   BENCH_USER_ROUNDS=9     rounds per list size (in turns of three, Rust and Python alternating)
#   BENCH_PIN=same          same: the fake and every client on CPU 0 (the steadiest figures on
#                           a small noisy machine: every microsecond a client spends counts);
#                           split: the fake on CPU 1, clients on CPU 0; none: no pinning
#
# What it needs: cargo, python3, nginx, and for the Python client /tmp/sq (or $SQ_VENV) with
# SquirroClient 3.17.3, else it makes a throwaway venv from PyPI. It installs nginx, GNU time
# and wrk with apt-get when they are missing (peak RSS then falls back to the processes' own
# VmHWM, and the wrk ceiling is skipped, where apt-get cannot; without nginx it stops).
#
# Every figure of a report comes from this one run; the summary is printed as Markdown and
# kept in $BENCH_OUT/summary.md (and summary.json).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/bench"
calls=${BENCH_CALLS:-10000}
rounds=${BENCH_ROUNDS:-21}
round_calls=${BENCH_ROUND_CALLS:-2000}
first_runs=${BENCH_FIRST_RUNS:-9}
wrk_seconds=${BENCH_WRK_SECONDS:-5}
pin=${BENCH_PIN:-same}
thread_counts=${BENCH_THREADS:-1,2,4,8,16}
thread_rounds=${BENCH_THREAD_ROUNDS:-21}
thread_calls=${BENCH_THREAD_CALLS:-4000}
idle_clients=${BENCH_IDLE_CLIENTS:-1000}
user_sizes=${BENCH_USERS:-10,1000,10000}
user_rounds=${BENCH_USER_ROUNDS:-9}
say() { echo "bench: $*" >&2; }

case $pin in
same | split | none) ;;
*)
    say "BENCH_PIN must be same, split or none"
    exit 2
    ;;
esac
if [ "$pin" != none ] && { ! command -v taskset >/dev/null || [ "$(nproc)" -lt 2 ]; }; then
    say "no taskset or a single CPU: not pinning"
    pin=none
fi

# Tools: nginx (the neutral server), GNU time (peak RSS) and wrk (the server's ceiling).
missing=()
nginx=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$nginx" ] || missing+=(nginx)
[ -x /usr/bin/time ] || missing+=(time)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    say "installing ${missing[*]} with apt-get"
    apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
        say "apt-get install ${missing[*]} failed"
fi
[ -x /usr/bin/time ] || say "no /usr/bin/time: peak RSS from each process's VmHWM"
command -v wrk >/dev/null || say "no wrk: the server's ceiling is skipped"
[ -x "$nginx" ] || {
    say "no nginx (apt-get install nginx): it is the server the clients share"
    exit 2
}
# 1,000 idle connections need more descriptors than the usual 1,024, in nginx and the client.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The Python client: /tmp/sq or $SQ_VENV when it has SquirroClient, else a throwaway venv.
venv=${SQ_VENV:-/tmp/sq}
throwaway=
if ! "$venv/bin/python" -c 'import squirro_client' >/dev/null 2>&1; then
    venv=$(mktemp -d "${TMPDIR:-/tmp}/bench-venv.XXXXXX")
    throwaway=$venv
    say "installing SquirroClient==3.17.3 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet SquirroClient==3.17.3
fi
py="$venv/bin/python"
sq_version=$("$py" -c 'from importlib.metadata import version; print(version("SquirroClient"))')
if [ "$sq_version" != "3.17.3" ]; then
    say "$venv has SquirroClient $sq_version, not 3.17.3"
    exit 2
fi

out=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX")}
mkdir -p "$out"
rm -rf "$out"/*.json "$out"/*.rss "$out"/*.ms "$out"/wrk-*.txt "$out"/*.jsonl "$out/nginx"

fake_pid=
nginx_pid=
cleanup() {
    for pid in $fake_pid $nginx_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -z "$throwaway" ] || rm -rf "$throwaway"
}
trap cleanup EXIT

# Release builds: the fake server, and the Rust side (benches/side_by_side.rs).
say "building (release)"
artifact() { # name cargo-args... : builds quietly, prints the executable's path
    local name=$1
    shift
    (cd "$root" && cargo "$@" --quiet --message-format=json) | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == sys.argv[1] and m.get("executable"):
        print(m["executable"])' "$name"
}
fake=$(artifact squirro-user-api-fake build --release -p squirro-user-api-fake --bin squirro-user-api-fake)
rs=$(artifact side_by_side bench --bench side_by_side --no-run)
[ -x "$fake" ] && [ -x "$rs" ] || {
    say "the builds gave no squirro-user-api-fake or side_by_side executable"
    exit 2
}

server_cpu=
case $pin in
same) server_cpu=0 ;;
split) server_cpu=1 ;;
esac
# What every client command starts with: taskset when pinning.
client=()
[ "$pin" = none ] || client=(taskset -c 0)
server=()
[ -z "$server_cpu" ] || server=(taskset -c "$server_cpu")

# The fake server, on a free port.
"${server[@]}" "$fake" >"$out/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 100); do
    grep -q 'Press Ctrl-C' "$out/fake.log" 2>/dev/null && break
    sleep 0.1
done
field() { sed -n "s/^  $1: *//p" "$out/fake.log"; }
url=$(field 'cluster URL')
tenant=$(field 'tenant')
refresh=$(field 'refresh token')
user_id=$(field 'admin user id')
[ -n "$url" ] && [ -n "$refresh" ] && [ -n "$user_id" ] || {
    say "the fake server did not start:"
    cat "$out/fake.log" >&2
    exit 2
}
say "fake server at $url (pinning: $pin)"
fake_target=(--url "$url" --refresh-token "$refresh" --user-id "$user_id")

# nginx on a free port, with the fixed JSON (the fixtures' token and user).
ng="$out/nginx"
mkdir -p "$ng/nginx-tmp"
python3 "$here/fixtures.py" "$ng" ${user_sizes//,/ }
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed "s#@DIR@#$ng#g; s#@PORT@#$port#g" "$here/nginx.conf.in" >"$ng/nginx.conf"
"${server[@]}" "$nginx" -c "$ng/nginx.conf" -p "$ng" >"$ng/stdout.log" 2>&1 &
nginx_pid=$!
ng_url="http://127.0.0.1:$port"
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null && break
    sleep 0.1
done
ng_user=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$ng/www/user.json")
ng_refresh=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["refresh_token"])' "$ng/www/token.json")
say "nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///') at $ng_url"
target=(--url "$ng_url" --refresh-token "$ng_refresh" --user-id "$ng_user")

{
    echo "nproc $(nproc), $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
    echo "Linux $(uname -r), $(rustc --version), Python $("$py" -c 'import platform; print(platform.python_version())') with SquirroClient $sq_version"
    echo "ureq $(grep -A1 '^name = "ureq"$' "$root/Cargo.lock" | sed -n 's/^version = "\(.*\)"/\1/p'), nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///'), pinning: $pin, $calls calls per client and job"
    echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"

measured() { # name command... : one JSON line to $out/name.json, peak RSS to $out/name.rss
    local name=$1
    shift
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M -o "$out/$name.rss" "$@" >"$out/$name.json"
    else
        "$@" >"$out/$name.json"
    fi
}

say "SDK vs bare ureq: $rounds alternating rounds of $round_calls calls"
"${client[@]}" "$rs" pair "${target[@]}" --rounds "$rounds" --calls "$round_calls" >"$out/pair.json"
# Diagnosis: the same with the bare loop decoding each reply into a plain serde struct.
"${client[@]}" "$rs" pair --client ureq-serde "${target[@]}" --rounds "$rounds" --calls "$round_calls" \
    >"$out/pair-serde.json"


say "get: $calls calls per client (nginx)"
measured get-rust-sdk "${client[@]}" "$rs" get "${target[@]}" --calls "$calls"
measured get-bare-ureq "${client[@]}" "$rs" get --client ureq "${target[@]}" --calls "$calls"
# Diagnosis: the bare loop with ureq timeouts (55 s per call, 10 s to connect), then also with
# a caching resolver: what ureq's resolver costs once a timeout is set.
measured get-bare-ureq-timeouts "${client[@]}" "$rs" get --client ureq-sdk-timeouts "${target[@]}" --calls "$calls"
measured get-bare-ureq-timeouts-cached "${client[@]}" "$rs" get --client ureq-sdk-timeouts-cached "${target[@]}" --calls "$calls"
measured get-python "${client[@]}" "$py" "$here/python_client.py" get "$ng_url" "$ng_refresh" "$ng_user" "$calls"

say "mix: $calls calls per client (the fake: it keeps state)"
measured mix-rust-sdk "${client[@]}" "$rs" mix "${fake_target[@]}" --calls "$calls"
measured mix-python "${client[@]}" "$py" "$here/python_client.py" mix "$url" "$refresh" "$user_id" "$calls"

say "threads $thread_counts: $thread_rounds alternating rounds of $thread_calls calls"
"${client[@]}" "$rs" threads "${target[@]}" --threads "$thread_counts" --rounds "$thread_rounds" \
    --calls "$thread_calls" >"$out/threads.jsonl"
# The most threads again when the default pool holds fewer, with a pool that holds one for each.
most=${thread_counts##*,}
pool_default=$(sed -n 's/^pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = \([0-9]*\);/\1/p' "$root/src/client.rs")
if [ "$most" -gt "${pool_default:-0}" ]; then
    "${client[@]}" "$rs" threads "${target[@]}" --threads "$most" --pool "$most" --rounds "$thread_rounds" \
        --calls "$thread_calls" >"$out/threads-pool.jsonl"
fi

say "memory: $idle_clients clients, each holding one idle pooled connection"
for c in sdk ureq; do
    "${client[@]}" "$rs" idle-memory --client "$c" "${target[@]}" --calls "$idle_clients" >"$out/idle-memory-$c.json"
done

say "get_users of $user_sizes users: $user_rounds rounds, Rust and Python alternating"
# Rust (three alternating rounds of SDK and bare ureq + serde), then Python, in turns, so
# that drift on a noisy machine hits both; the report takes the medians over the turns.
for turn in $(seq $(((user_rounds + 2) / 3))); do
    "${client[@]}" "$rs" users "${target[@]}" --sizes "$user_sizes" --rounds 3 >>"$out/users.jsonl"
    for n in ${user_sizes//,/ }; do
        n_calls=$((6000 / n > 3 ? 6000 / n : 3))
        "${client[@]}" "$py" "$here/python_client.py" users "$ng_url" "$ng_refresh" "$ng_user" "$n_calls" "$n" \
            >>"$out/users-python.jsonl"
    done
done
# The largest list again with the SDK's buffers at ureq's 128 KiB: do lean buffers slow it?
"${client[@]}" "$rs" users "${target[@]}" --sizes "${user_sizes##*,}" --rounds "$user_rounds" \
    --io-buffer 131072 >"$out/users-io128k.jsonl"

say "first call of a fresh process: $first_runs runs each, alternating"
for _ in $(seq "$first_runs"); do
    t0=$EPOCHREALTIME
    "${client[@]}" "$rs" first-call "${target[@]}" >/dev/null
    t1=$EPOCHREALTIME
    "${client[@]}" "$py" "$here/python_client.py" first-call "$ng_url" "$ng_refresh" "$ng_user" >/dev/null
    t2=$EPOCHREALTIME
    python3 -c "import sys; a, b, c = map(float, sys.argv[1:]); print(f'{(b - a) * 1e3:.2f}'); print(f'{(c - b) * 1e3:.2f}', file=sys.stderr)" \
        "$t0" "$t1" "$t2" >>"$out/first-call-rust-sdk.ms" 2>>"$out/first-call-python.ms"
done

if command -v wrk >/dev/null; then
    token=$("$rs" token "${target[@]}")
    get_url="$ng_url/api/user/v1/acme/users/$ng_user?include_projects=False"
    headers=(-H "Accept: application/json" -H "Authorization: Bearer $token")
    say "nginx's ceiling: wrk, ${wrk_seconds}s with 1 connection, then with 16"
    "${client[@]}" wrk -t1 -c1 -d"${wrk_seconds}s" "${headers[@]}" "$get_url" >"$out/wrk-c1.txt"
    # The server alone on a core (when pinning), wrk on the other.
    [ -z "$server_cpu" ] || taskset -a -p -c 1 "$nginx_pid" >/dev/null
    for w in $(pgrep -P "$nginx_pid"); do [ -z "$server_cpu" ] || taskset -a -p -c 1 "$w" >/dev/null; done
    "${client[@]}" wrk -t1 -c16 -d"${wrk_seconds}s" "${headers[@]}" "$get_url" >"$out/wrk-cN.txt"
    [ -z "$server_cpu" ] || taskset -a -p -c "$server_cpu" "$nginx_pid" >/dev/null
    for w in $(pgrep -P "$nginx_pid"); do [ -z "$server_cpu" ] || taskset -a -p -c "$server_cpu" "$w" >/dev/null; done
    if grep -q 'Non-2xx' "$out/wrk-c1.txt" "$out/wrk-cN.txt"; then
        say "wrk saw replies other than 2xx (see $out/wrk-*.txt)"
    fi
fi

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 "$here/report.py" "$out"
say "raw figures in $out"
