#!/usr/bin/env python3
"""Reads what scripts/bench.sh left in OUT and prints the tables (Markdown) and the targets.

Usage: report.py OUT

OUT holds: pair.json (SDK vs bare ureq, interleaved), {get,mix}-{rust-sdk,bare-ureq,python}.json
(one JSON line each; get-bare-ureq-timeouts{,-cached}.json too, the diagnosis) with .rss beside
them (/usr/bin/time's maximum RSS in KiB, when it was there), first-call-{rust-sdk,python}.ms
(one wall time per line), threads.jsonl and threads-pool.jsonl (one line per thread count),
idle-memory-{sdk,ureq}.json, users.jsonl and users-python.jsonl (one line per list size),
wrk-*.txt, machine.txt.
Writes OUT/summary.md and OUT/summary.json as well.
"""

import json
import os
import re
import statistics
import sys


def load(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip()
    if not text:
        return None
    return json.loads(text.splitlines()[-1])


def merge_turns(rows):
    """Rows of several turns (one per list size and turn): one per size, each number the
    median over the turns, and `rounds` the rounds of all turns."""
    by_size = {}
    for r in rows:
        by_size.setdefault(r["users"], []).append(r)
    merged = []
    for size, rs in by_size.items():
        m = dict(rs[-1])
        for k, v in rs[-1].items():
            if isinstance(v, float) or (isinstance(v, int) and k.endswith(("_s", "_user", "_plain", "_serde"))):
                m[k] = statistics.median(r[k] for r in rs if r.get(k) is not None)
        if "rounds" in m:
            m["rounds"] = sum(r["rounds"] for r in rs)
        m["turns"] = len(rs)
        merged.append(m)
    return merged


def default_pool():
    """The SDK's `DEFAULT_MAX_IDLE_CONNECTIONS`, read from its source."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "client.rs")
    with open(src) as f:
        m = re.search(r"pub const DEFAULT_MAX_IDLE_CONNECTIONS: usize = (\d+);", f.read())
    if not m:
        sys.exit("report.py: no DEFAULT_MAX_IDLE_CONNECTIONS in src/client.rs")
    return int(m.group(1))


DEFAULT_POOL = default_pool()


def load_lines(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def rss_kib(out, stem, row):
    path = os.path.join(out, stem + ".rss")
    if os.path.exists(path):
        with open(path) as f:
            text = f.read().strip()
        if text.isdigit():
            return int(text), "time -v"
    if row and row.get("peak_rss_kib"):
        return row["peak_rss_kib"], "VmHWM"
    return None, None


def wrk_rate(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        m = re.search(r"Requests/sec:\s*([\d.]+)", f.read())
    return float(m.group(1)) if m else None


def times(out, name):
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [float(x) for x in f.read().split()]


def fmt_rate(x):
    return "–" if x is None else f"{x:,.0f}"


def fmt_mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f} MiB"


def ratio(a, b):
    return None if not a or not b else a / b


def fmt_ratio(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}×"


def verdict(ok):
    return "–" if ok is None else ("met" if ok else "**missed**")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    lines = []
    p = lines.append
    summary = {}

    machine = ""
    if os.path.exists(os.path.join(out, "machine.txt")):
        with open(os.path.join(out, "machine.txt")) as f:
            machine = f.read().strip()
    if machine:
        p("Machine: " + machine.replace("\n", "; "))
        p("")

    pair = load(out, "pair.json")
    wrk1 = wrk_rate(out, "wrk-c1.txt")
    wrkn = wrk_rate(out, "wrk-cN.txt")
    p("### One thread: the SDK beside a bare ureq loop (same request bytes, nginx, keep-alive)")
    p("")
    if pair:
        p(f"`get_user_data`, {pair['rounds']} alternating rounds of {pair['calls_per_round']:,} calls each; medians:")
        p("")
        p("| client | calls/s |")
        p("|---|---:|")
        p(f"| bare ureq loop | {fmt_rate(pair['ureq_calls_per_s'])} |")
        p(f"| SDK `get_user_data(..).send()` | {fmt_rate(pair['sdk_calls_per_s'])} |")
        p(f"| **SDK / bare ureq** (median of per-round ratios) | **{pair['ratio_sdk_over_ureq']:.3f}** |")
        p("")
        summary["pair"] = pair
    pair_serde = load(out, "pair-serde.json")
    if pair_serde:
        p(
            "Diagnosis, the same run: the bare loop also decoding each reply into a plain serde struct "
            f"of the fields `User` names ({pair_serde['rounds']} more alternating rounds): bare ureq + serde "
            f"{fmt_rate(pair_serde['ureq_calls_per_s'])} calls/s, the SDK {fmt_rate(pair_serde['sdk_calls_per_s'])}, "
            f"**SDK / (bare ureq + serde) {pair_serde['ratio_sdk_over_ureq']:.3f}**."
        )
        p("")
        summary["pair_serde"] = pair_serde
    p("nginx's own ceiling (wrk, the same GET with the same headers):")
    p("")
    p("| load | requests/s |")
    p("|---|---:|")
    p(f"| wrk, 1 connection (where the clients run) | {fmt_rate(wrk1)} |")
    p(f"| wrk, many connections (server on its own core) | {fmt_rate(wrkn)} |")
    p("")
    summary["wrk"] = {"c1": wrk1, "many": wrkn}

    rows = {}
    for mode in ("get", "mix"):
        for client in ("rust-sdk", "bare-ureq", "bare-ureq-timeouts", "bare-ureq-timeouts-cached", "python"):
            row = load(out, f"{mode}-{client}.json")
            if row:
                kib, how = rss_kib(out, f"{mode}-{client}", row)
                row["rss_kib"], row["rss_how"] = kib, how
                rows[(mode, client)] = row
    summary["runs"] = {f"{m}/{c}": r for (m, c), r in rows.items()}

    threads = load_lines(out, "threads.jsonl")
    threads_pool = load_lines(out, "threads-pool.jsonl")
    summary["threads"] = threads + threads_pool
    if threads:
        t0 = threads[0]
        p("### Many threads: one client shared by N threads beside one bare ureq agent shared alike")
        p("")
        p(
            f"`get_user_data` against nginx, {t0['rounds']} alternating rounds of {t0['calls_per_round']:,} calls "
            "split over the threads (medians); new TCP connections are those nginx accepted during all rounds "
            "of that thread count (`stub_status`), each side starting with an empty pool. The SDK's pool keeps "
            f"{DEFAULT_POOL} idle connections per host by default, ureq's 3."
        )
        p("")
        p("| threads | SDK calls/s | bare ureq calls/s | SDK / bare ureq | SDK new connections | bare ureq new connections |")
        p("|---:|---:|---:|---:|---:|---:|")
        for t in threads + threads_pool:
            label = str(t["threads"])
            if t.get("sdk_max_idle_connections"):
                label += f" (SDK `max_idle_connections({t['sdk_max_idle_connections']})`)"
            p(
                f"| {label} | {fmt_rate(t['sdk_calls_per_s'])} | {fmt_rate(t['ureq_calls_per_s'])} | "
                f"{t['ratio_sdk_over_ureq']:.3f} | {t['sdk_new_connections']} | {t['ureq_new_connections']} |"
            )
        p("")

    idle = {c: load(out, f"idle-memory-{c}.json") for c in ("sdk", "ureq")}
    summary["idle_memory"] = idle
    if idle["sdk"]:
        p("### Memory per idle pooled connection")
        p("")
        p("Resident memory (`VmRSS`) added by clients that each hold one idle pooled connection to nginx, per connection:")
        p("")
        p("| client | clients | connections | RSS before | RSS after | per connection |")
        p("|---|---:|---:|---:|---:|---:|")
        for c, name in (("sdk", "Rust SDK (default `io_buffer_bytes`, 16 KiB)"), ("ureq", "bare ureq agent (ureq's defaults, 128 KiB buffers)")):
            r = idle[c]
            if r:
                p(
                    f"| {name} | {r['clients']:,} | {r['connections']:,} | {fmt_mib(r['rss_before_kib'])} | "
                    f"{fmt_mib(r['rss_after_kib'])} | {r['kib_per_connection']:.1f} KiB |"
                )
        p("")

    users = merge_turns(load_lines(out, "users.jsonl"))
    users_py = {r["users"]: r for r in merge_turns(load_lines(out, "users-python.jsonl"))}
    summary["users"] = {"rust": users, "python": list(users_py.values())}
    if users:
        u0 = users[0]
        p("### Big lists: `get_users`, microseconds per user (whole call; decoding alone)")
        p("")
        p(
            f"nginx serves the list; {u0['turns']} turns of Rust ({u0['rounds']} rounds in all, SDK and bare alternating) "
            "and Python (each call timed) in alternation; medians. "
            "\"bare ureq + serde\" is a GET with ureq decoded into a plain serde struct of the fields `User` names "
            "(no catch-all for unknown fields)."
        )
        p("")
        p("| users | Rust SDK | bare ureq + serde struct | Python client | SDK / bare+serde | Python / SDK | decoding: SDK `UserList` | decoding: plain struct | SDK / plain |")
        p("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in users:
            py_u = users_py.get(r["users"], {}).get("us_per_user")
            p(
                f"| {r['users']:,} | {r['sdk_us_per_user']:.3f} | {r['ureq_serde_us_per_user']:.3f} | "
                f"{'–' if py_u is None else f'{py_u:.3f}'} | {r['sdk_over_ureq_serde']:.3f} | "
                f"{fmt_ratio(ratio(py_u, r['sdk_us_per_user']), 2)} | {r['decode_sdk_us_per_user']:.3f} | "
                f"{r['decode_plain_us_per_user']:.3f} | {r['decode_sdk_over_plain']:.3f} |"
            )
        p("")

    big = load_lines(out, "users-io128k.jsonl")
    summary["users_io128k"] = big
    if big and users:
        b = big[-1]
        same = [r for r in users if r["users"] == b["users"]]
        if same:
            p(
                f"The {b['users']:,}-user list with the SDK's buffers at ureq's 128 KiB instead of the default 16 KiB "
                f"(same run, {b['rounds']} rounds): {b['sdk_us_per_user']:.3f} us per user "
                f"(SDK / bare+serde {b['sdk_over_ureq_serde']:.3f}), against {same[0]['sdk_us_per_user']:.3f} "
                f"({same[0]['sdk_over_ureq_serde']:.3f}) with 16 KiB."
            )
            p("")

    p("### The SDK beside the official Python client (SquirroClient 3.17.3)")
    p("")
    p("`get_user_data` against nginx; the mix against the crate's fake (it keeps state).")
    p("")
    p("| job | client | calls | calls/s | peak RSS |")
    p("|---|---|---:|---:|---:|")
    names = {
        "rust-sdk": "Rust SDK",
        "bare-ureq": "bare ureq loop",
        "bare-ureq-timeouts": "bare ureq loop + ureq timeouts of 55 s per call, 10 s to connect (diagnosis)",
        "bare-ureq-timeouts-cached": "bare ureq loop + those timeouts + a caching resolver (diagnosis)",
        "python": "Python client",
    }
    jobs = {
        "get": "`get_user_data` only",
        "mix": "mix: get_user_data, get_users, create_group, add_group_member, get_group, delete_group",
    }
    for (mode, client), r in rows.items():
        p(f"| {jobs[mode]} | {names[client]} | {r['calls']:,} | {fmt_rate(r['calls_per_s'])} | {fmt_mib(r['rss_kib'])} |")
    p("")

    first = {c: times(out, f"first-call-{c}.ms") for c in ("rust-sdk", "python")}
    first_med = {c: (statistics.median(v) if v else None) for c, v in first.items()}
    summary["first_call_ms"] = {c: {"runs": v, "median": first_med[c]} for c, v in first.items()}
    p("Fresh process, first call (start, authenticate, one `get_user_data`, exit), wall time:")
    p("")
    p("| client | runs | median | min | max |")
    p("|---|---:|---:|---:|---:|")
    for c, v in first.items():
        if v:
            p(f"| {names[c]} | {len(v)} | {first_med[c]:.1f} ms | {min(v):.1f} ms | {max(v):.1f} ms |")
    p("")

    def rate(mode, client):
        r = rows.get((mode, client))
        return r["calls_per_s"] if r else None

    def rss(mode, client):
        r = rows.get((mode, client))
        return r["rss_kib"] if r else None

    get_x = ratio(rate("get", "rust-sdk"), rate("get", "python"))
    mix_x = ratio(rate("mix", "rust-sdk"), rate("mix", "python"))
    rss_get = ratio(rss("get", "python"), rss("get", "rust-sdk"))
    rss_mix = ratio(rss("mix", "python"), rss("mix", "rust-sdk"))
    first_x = ratio(first_med["python"], first_med["rust-sdk"])
    pair_r = pair["ratio_sdk_over_ureq"] if pair else None
    sdk_rate = pair["sdk_calls_per_s"] if pair else rate("get", "rust-sdk")
    ceiling_x = ratio(wrkn, sdk_rate)
    c1_x = ratio(wrk1, pair["ureq_calls_per_s"] if pair else rate("get", "bare-ureq"))

    def ok(x, target):
        return None if x is None else x >= target

    def at_most(x, target):
        return None if x is None else x <= target

    targets = [("SDK calls/s ≥ 0.95× the bare ureq loop, one thread", fmt_ratio(pair_r, 3), ok(pair_r, 0.95))]
    for t in threads:
        if t["threads"] > 1:
            r = t["ratio_sdk_over_ureq"]
            targets.append((f"SDK ≥ 0.95× bare ureq, one client shared by {t['threads']} threads", fmt_ratio(r, 3), ok(r, 0.95)))
    for t in threads + threads_pool:
        pool = t.get("sdk_max_idle_connections") or DEFAULT_POOL
        if pool < t["threads"]:
            # More threads than the pool holds: configure the pool (the row after).
            continue
        label = f"new TCP connections ≤ threads ({t['threads']} threads, pool {pool}" + (")" if t.get("sdk_max_idle_connections") else ", the default)")
        targets.append((label, str(t["sdk_new_connections"]), at_most(t["sdk_new_connections"], t["threads"])))
    if idle["sdk"]:
        k = idle["sdk"]["kib_per_connection"]
        targets.append(("resident memory per idle pooled connection ≤ 64 KiB", f"{k:.1f} KiB", at_most(k, 64)))
    for r in users:
        if r["users"] == max(u["users"] for u in users):
            py_u = users_py.get(r["users"], {}).get("us_per_user")
            x = ratio(py_u, r["sdk_us_per_user"])
            targets.append((f"`get_users` of {r['users']:,}: ≥ 3× faster than Python per user", fmt_ratio(x, 2), ok(x, 3)))
            d = r["decode_sdk_over_plain"]
            targets.append((f"`get_users` of {r['users']:,}: decoding within 1.2× of a plain serde struct", fmt_ratio(d, 2), at_most(d, 1.2)))
    targets += [
        ("first call ≤ 1/50 of Python's", "1/" + fmt_ratio(ratio(first_med["python"], first_med["rust-sdk"]), 1), ok(ratio(first_med["python"], first_med["rust-sdk"]), 50)),
        ("SDK calls/s ≥ 25× Python (`get_user_data`)", fmt_ratio(get_x, 1), ok(get_x, 25)),
        ("SDK calls/s ≥ 25× Python (mix)", fmt_ratio(mix_x, 1), ok(mix_x, 25)),
        ("peak RSS ≤ 1/8 of Python's (10k `get_user_data`)", "1/" + fmt_ratio(rss_get, 1), ok(rss_get, 8)),
        ("peak RSS ≤ 1/8 of Python's (10k mixed calls)", "1/" + fmt_ratio(rss_mix, 1), ok(rss_mix, 8)),
        (
            "nginx is not the bottleneck: its ceiling ≫ the SDK's calls/s",
            fmt_ratio(ceiling_x, 1) + " (1 connection: " + fmt_ratio(c1_x, 2) + " the bare loop)",
            None if ceiling_x is None else ceiling_x >= 2,
        ),
    ]
    floor_py = ratio(wrk1, rate("get", "python"))
    bare_py = ratio(rate("get", "bare-ureq"), rate("get", "python"))
    summary["bounds"] = {"wrk_c1_over_python": floor_py, "bare_ureq_over_python": bare_py}
    p(
        "What any sequential client can reach on this server, against Python's `get_user_data` calls/s: "
        f"wrk with 1 connection (no client work at all) {fmt_ratio(floor_py, 1)}, "
        f"the bare ureq loop {fmt_ratio(bare_py, 1)}."
    )
    p("")
    p("### Targets")
    p("")
    p("| target | measured | |")
    p("|---|---:|---|")
    for name, measured, good in targets:
        p(f"| {name} | {measured} | {verdict(good)} |")
    summary["targets"] = [{"target": n, "measured": m, "met": g} for n, m, g in targets]

    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
