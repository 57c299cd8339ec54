#!/usr/bin/env bash
# Wire-parity check: runs the official Python client (SquirroClient 3.17.3) and this crate
# through the same call list (scripts/wire_parity/calls.json) against two capture servers and
# compares, call by call, what each put on the wire. Exits non-zero on any unexpected
# difference (1) or an incomplete run (2).
#
#   scripts/wire-parity.sh            # uses /tmp/sq/bin/python when it has SquirroClient,
#                                     # else a throwaway venv (removed at the end)
#   SQ_VENV=/path/to/venv scripts/wire-parity.sh
#   WIRE_PARITY_OUT=/tmp/wp scripts/wire-parity.sh   # keep the logs there
#
# Needs python3 (for the venv, when SquirroClient is not installed yet) and cargo.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here="$root/scripts/wire_parity"
calls="$here/calls.json"

# The Python client: /tmp/sq when it is there, else a throwaway venv.
venv=${SQ_VENV:-/tmp/sq}
throwaway=
if ! "$venv/bin/python" -c 'import squirro_client' >/dev/null 2>&1; then
    venv=$(mktemp -d "${TMPDIR:-/tmp}/wire-parity-venv.XXXXXX")
    throwaway=$venv
    echo "wire-parity: installing SquirroClient==3.17.3 into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet SquirroClient==3.17.3
fi
py="$venv/bin/python"
version=$("$py" -c 'from importlib.metadata import version; print(version("SquirroClient"))')
if [ "$version" != "3.17.3" ]; then
    echo "wire-parity: $venv has SquirroClient $version, not 3.17.3" >&2
    exit 2
fi

out=${WIRE_PARITY_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/wire-parity.XXXXXX")}
mkdir -p "$out"
rm -f "$out"/python.jsonl "$out"/rust.jsonl "$out"/*.port "$out"/*_results.jsonl

pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    pids=()
}
trap 'cleanup; [ -z "$throwaway" ] || rm -rf "$throwaway"' EXIT

start_capture() { # name -> prints the port
    local name=$1
    "$py" "$here/capture.py" --log "$out/$name.jsonl" --port-file "$out/$name.port" >/dev/null 2>"$out/$name.capture.err" &
    pids+=($!)
}
wait_port() {
    local name=$1
    for _ in $(seq 100); do
        [ -s "$out/$name.port" ] && { cat "$out/$name.port"; return 0; }
        sleep 0.1
    done
    echo "wire-parity: the $name capture server did not start" >&2
    cat "$out/$name.capture.err" >&2
    exit 2
}

start_capture python
start_capture rust
py_port=$(wait_port python)
rs_port=$(wait_port rust)

# The Rust side first builds (quietly), so a build failure is reported as such.
(cd "$root" && cargo build --quiet --example wire_parity) || {
    echo "wire-parity: cargo build --example wire_parity failed" >&2
    exit 2
}

NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
    "$py" "$here/python_calls.py" "http://127.0.0.1:$py_port" "$calls" "$out/python_results.jsonl"
(cd "$root" && cargo run --quiet --example wire_parity -- "http://127.0.0.1:$rs_port" "$calls" "$out/rust_results.jsonl")

cleanup

echo "logs: $out (python.jsonl, rust.jsonl, *_results.jsonl)"
echo
set +e
"$py" "$here/compare.py" --calls "$calls" \
    --python-log "$out/python.jsonl" --rust-log "$out/rust.jsonl" \
    --python-results "$out/python_results.jsonl" --rust-results "$out/rust_results.jsonl" \
    --endpoints "$root/endpoints.toml" \
    | tee "$out/report.txt"
status=${PIPESTATUS[0]}
exit "$status"
