#!/usr/bin/env bash
# A fresh process's call (start, read the profile, refresh, one get_users, print), side by
# side with hyperfine: the squirro-user binary, the SDK in a plain Rust program
# (cli/examples/first_call.rs), and the official Python client (cli/bench/first_call.py).
# All against one fake server (squirro-user fake-server, release build) on loopback.
#
#   cli/bench/first-call.sh              # needs hyperfine (apt-get install hyperfine)
#   SQ_VENV=/tmp/sq cli/bench/first-call.sh   # a virtualenv with SquirroClient==3.17.3
#   BENCH_RUNS=50 cli/bench/first-call.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${SQ_VENV:-/tmp/sq}
runs=${BENCH_RUNS:-30}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q SquirroClient==3.17.3
fi
cd "$root"
cargo build --release -q -p squirro-user --bin squirro-user --example first_call
bin=$root/target/release/squirro-user
sdk=$root/target/release/examples/first_call
work=$(mktemp -d)
"$bin" fake-server >"$work/fake.env" &
fake=$!
trap 'kill "$fake" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do grep -q SQUIRRO_TOKEN "$work/fake.env" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
. <(grep '^export SQUIRRO_CLUSTER=\|^export SQUIRRO_TOKEN=' "$work/fake.env" | sed 's/^export /fake_/')
cat >"$work/config.toml" <<TOML
[profiles.bench]
cluster = "$fake_SQUIRRO_CLUSTER"
tenant = "acme"
token = "$fake_SQUIRRO_TOKEN"
TOML
chmod 600 "$work/config.toml"
export SQUIRRO_CONFIG=$work/config.toml
"$bin" --profile bench get-users -o json >/dev/null   # fails loudly if anything is off
echo "machine: $(nproc) CPUs, $(uname -sr), $(rustc --version), $("$venv/bin/python" --version)"
hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/result.json" \
    -n "squirro-user get-users" "$bin --profile bench get-users -o json" \
    -n "Rust SDK (examples/first_call)" "$sdk bench" \
    -n "Python SquirroClient 3.17.3" "$venv/bin/python $here/first_call.py bench"
python3 - "$work/result.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
print("| client | runs | median | min | max |")
print("|---|---:|---:|---:|---:|")
for r in results:
    ms = lambda s: f"{s * 1000:.1f} ms"
    print(f"| {r['command']} | {len(r['times'])} | {ms(r['median'])} | {ms(r['min'])} | {ms(r['max'])} |")
PY
