#!/usr/bin/env python3
"""Compares, call by call, what the Python client and the Rust SDK put on the wire.

Usage: compare.py --calls calls.json --python-log py.jsonl --rust-log rs.jsonl
                  [--python-results py_results.jsonl] [--rust-results rs_results.jsonl]

The logs are written by capture.py; marker records (``{"mark": id}``) cut them into calls.
For each request of a call it compares the verb, the raw path (and, when that differs, the
percent-decoded path), the query (raw string, and the decoded pairs in order), the headers
(Content-Type, Accept, Authorization and any other header; transport noise ignored), and the
body (JSON: byte-exact and parsed; form: byte-exact and decoded pairs; else bytes).

Verdicts: ``same``; ``expected difference`` (a WIRE.md *ours* row: the call is annotated with
``expect.differs`` and nothing else differs, or the paths differ only in percent-encoding);
``DIFFERENT`` (anything else). Exit status 1 when any call is DIFFERENT, 2 when a log is
incomplete.
"""

import argparse
import base64
import json
import sys
import urllib.parse

# Transport noise: listed once at the end, never compared.
NOISE = ("user-agent", "accept-encoding", "connection", "content-length")


class Req:
    def __init__(self, rec):
        self.rec = rec
        self.method = rec["method"]
        self.target = rec["target"]
        path, sep, query = self.target.partition("?")
        self.path = path
        self.query = query if sep else None
        self.headers = [(k, v) for k, v in rec["headers"]]
        self.body = base64.b64decode(rec["body_b64"])
        self.request_line = rec["request_line"]

    def header(self, name):
        vals = [v for k, v in self.headers if k.lower() == name]
        return vals

    def content_type(self):
        v = self.header("content-type")
        return v[0] if v else None

    def auth(self):
        v = self.header("authorization")
        return v[0] if v else None

    def raw(self):
        """The request as bytes-ish text for the report (noise headers left out)."""
        lines = [f"    {self.request_line}"]
        for k, v in self.headers:
            if k.lower() in NOISE:
                continue
            if k.lower() == "host":
                v = v.rsplit(":", 1)[0] + ":<port>"
            lines.append(f"    {k}: {v}")
        lines.append(f"    body: {self.body!r}")
        return "\n".join(lines)

    def short(self):
        a = self.auth()
        return f"{self.method} {self.target}" + (f" [{a}]" if a else " [no Authorization]")


def load_log(path):
    calls, order, current, ended = {}, [], None, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if "mark" in rec:
                current = rec["mark"]
                if current == "__end__":
                    ended = True
                    current = None
                    continue
                order.append(current)
                calls.setdefault(current, [])
                continue
            if current is None:
                continue
            calls[current].append(Req(rec))
    return calls, order, ended


def load_results(path):
    out = {}
    if not path:
        return out
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                r = json.loads(line)
                out[r["id"]] = r["outcome"]
    except FileNotFoundError:
        pass
    return out


def pct_decode(s):
    return urllib.parse.unquote(s, errors="surrogateescape")


def pairs(s):
    return urllib.parse.parse_qsl(s or "", keep_blank_values=True, errors="surrogateescape")


def compare_bodies(p, r):
    """Differences of the bodies: list of (aspect, text)."""
    if p.body == r.body:
        return []
    ct = (p.content_type() or r.content_type() or "").lower()
    out = []
    if "json" in ct:
        try:
            pv, rv = json.loads(p.body), json.loads(r.body)
            if pv == rv:
                out.append(("body", f"JSON bytes differ, parsed values equal: py={p.body!r} rs={r.body!r}"))
            else:
                out.append(("body", f"JSON differs: py={p.body!r} rs={r.body!r}"))
        except ValueError as e:
            out.append(("body", f"body not JSON on one side ({e}): py={p.body!r} rs={r.body!r}"))
    elif "form" in ct:
        pp, rp = pairs(p.body.decode("utf-8", "surrogateescape")), pairs(r.body.decode("utf-8", "surrogateescape"))
        if pp == rp:
            out.append(("body", f"form bytes differ, decoded pairs equal: py={p.body!r} rs={r.body!r}"))
        else:
            out.append(("body", f"form differs: py pairs={pp} rs pairs={rp}; py={p.body!r} rs={r.body!r}"))
    else:
        out.append(("body", f"body differs: py={p.body!r} rs={r.body!r}"))
    return out


def compare_headers(p, r, ignored, case_notes):
    out = []
    for name in NOISE:
        for side, req in (("python", p), ("rust", r)):
            vals = req.header(name)
            if name == "content-length":
                # Values follow the body (compared there); show where it is sent.
                ok = all(v == str(len(req.body)) for v in vals)
                vals = [f"{req.method}: " + ("sent" if vals else "absent") + ("" if ok else " (MISMATCH with body length)")]
            for v in vals:
                ignored.setdefault(name, {}).setdefault(side, set()).add(v)
    for side, req in (("python", p), ("rust", r)):
        for k, v in req.headers:
            if k.lower() == "host" and ":" in v:
                ignored.setdefault("host (port)", {}).setdefault(side, set()).add(v.rsplit(":", 1)[1])
    pn = {k.lower(): k for k, _ in p.headers}
    rn = {k.lower(): k for k, _ in r.headers}
    for low in set(pn) & set(rn):
        if pn[low] != rn[low]:
            case_notes.add(f"{pn[low]} (python) / {rn[low]} (rust)")
    names = (set(pn) | set(rn)) - set(NOISE)
    for name in sorted(names):
        pv, rv = p.header(name), r.header(name)
        if name == "host":
            pv = [v.rsplit(":", 1)[0] for v in pv]
            rv = [v.rsplit(":", 1)[0] for v in rv]
        if pv == rv:
            continue
        aspect = "auth" if name == "authorization" else "headers"
        show = lambda vs: " | ".join(vs) if vs else "(absent)"  # noqa: E731
        out.append((aspect, f"{name}: py={show(pv)} rs={show(rv)}"))
    return out


def compare_requests(p, r, ignored, case_notes):
    out = []
    if p.rec["http_version"] != r.rec["http_version"]:
        out.append(("headers", f"HTTP version: py={p.rec['http_version']} rs={r.rec['http_version']}"))
    if p.method != r.method:
        out.append(("verb", f"verb: py={p.method} rs={r.method}"))
    if p.path != r.path:
        if pct_decode(p.path) == pct_decode(r.path):
            out.append(("path-encoding", f"path differs only in percent-encoding (*ours*): py={p.path!r} rs={r.path!r}"))
        else:
            out.append(("path", f"path: py={p.path!r} rs={r.path!r}"))
    if p.query != r.query:
        pp, rp = pairs(p.query), pairs(r.query)
        if pp == rp and p.query is not None and r.query is not None:
            out.append(("query", f"query bytes differ, decoded pairs equal: py={p.query!r} rs={r.query!r}"))
        else:
            out.append(("query", f"query: py={p.query!r} {pp} rs={r.query!r} {rp}"))
    out += compare_headers(p, r, ignored, case_notes)
    out += compare_bodies(p, r)
    return out


def compare_call(call, py, rs, ignored, case_notes):
    """Returns (verdict, details list, aspects set)."""
    diffs = []
    if len(py) != len(rs):
        if not py or not rs:
            diffs.append(("sent", f"only {'python' if py else 'rust'} sent requests"
                          f" ({len(py)} python, {len(rs)} rust)"))
        else:
            diffs.append(("count", f"{len(py)} python requests, {len(rs)} rust requests:"
                          f" py=[{'; '.join(q.short() for q in py)}] rs=[{'; '.join(q.short() for q in rs)}]"))
    else:
        for i, (p, r) in enumerate(zip(py, rs)):
            for aspect, text in compare_requests(p, r, ignored, case_notes):
                diffs.append((aspect, (f"#{i + 1} " if len(py) > 1 else "") + text))
    aspects = {a for a, _ in diffs}
    expected = set((call.get("expect") or {}).get("differs", []))
    if expected & {"headers"}:
        expected.add("auth")
    if not diffs:
        verdict = "same"
    elif aspects <= expected | {"path-encoding"}:
        verdict = "expected difference"
    else:
        verdict = "DIFFERENT"
    return verdict, diffs


def compare_reference(call, rs):
    ref = call["reference"]
    diffs = []
    if len(rs) != 1:
        diffs.append(("count", f"rust sent {len(rs)} requests, reference has 1"))
    else:
        r = rs[0]
        if r.method != ref["verb"]:
            diffs.append(("verb", f"verb: ref={ref['verb']} rs={r.method}"))
        if r.path != ref["path"]:
            diffs.append(("path", f"path: ref={ref['path']!r} rs={r.path!r}"))
        want = [tuple(x) for x in ref.get("query", [])]
        if pairs(r.query) != want:
            diffs.append(("query", f"query: ref={want} rs={pairs(r.query)}"))
        if r.body:
            diffs.append(("body", f"body: ref=(none) rs={r.body!r}"))
    return ("DIFFERENT" if diffs else "same"), diffs


def coverage(spec, endpoints_path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        return "coverage: tomllib unavailable, not checked"
    with open(endpoints_path, "rb") as f:
        names = [e["name"] for e in tomllib.load(f)["endpoint"]]
    called, grants = {}, set()
    for call in spec["calls"]:
        for step in call.get("steps") or [call]:
            side = "rust only (python: WIRE.md row)" if call.get("python") == "skip" else "both"
            called.setdefault(step["method"], set()).add(side)
            if step["method"] == "authenticate":
                kw = step.get("kwargs", {})
                for key, grant in (("access_token", "access_token"), ("refresh_token", "refresh_token"),
                                   ("auth_service", "ext_id"), ("username", "password")):
                    if kw.get(key) is not None:
                        grants.add(grant)
                        break
    missing = [n for n in names if n not in called]
    rust_only = [n for n in names if called.get(n) == {"rust only (python: WIRE.md row)"}]
    extra = sorted(set(called) - set(names))
    lines = [f"coverage: {len(names) - len(missing)}/{len(names)} methods of endpoints.toml called"
             + (f"; NOT CALLED: {', '.join(missing)}" if missing else "")]
    if rust_only:
        lines.append(f"  compared with WIRE.md only (not run in Python 3.17.3): {', '.join(rust_only)}")
    lines.append(f"  authenticate grant types: {', '.join(sorted(grants))} ({len(grants)}/4)")
    if extra:
        lines.append(f"  also called: {', '.join(extra)}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", required=True)
    ap.add_argument("--python-log", required=True)
    ap.add_argument("--rust-log", required=True)
    ap.add_argument("--python-results")
    ap.add_argument("--rust-results")
    ap.add_argument("--endpoints", help="endpoints.toml: report which of its methods the call list covers")
    a = ap.parse_args()

    with open(a.calls, encoding="utf-8") as f:
        spec = json.load(f)
    py_calls, py_order, py_end = load_log(a.python_log)
    rs_calls, rs_order, rs_end = load_log(a.rust_log)
    py_out, rs_out = load_results(a.python_results), load_results(a.rust_results)

    incomplete = []
    if not py_end:
        incomplete.append("the Python run did not finish (no __end__ mark)")
    if not rs_end:
        incomplete.append("the Rust run did not finish (no __end__ mark)")

    rows, unexpected, ignored, case_notes = [], [], {}, set()
    for call in spec["calls"]:
        cid = call["id"]
        methods = [s["method"] for s in call.get("steps", [])] or [call["method"]]
        label = cid if cid.startswith(methods[0]) and len(methods) == 1 else f"{cid} ({', '.join(methods)})"
        if cid not in rs_calls or (cid not in py_calls and call.get("python") != "skip"):
            rows.append((label, "MISSING", "call not found in a log"))
            incomplete.append(f"{cid}: not in a log")
            continue
        rs = rs_calls[cid]
        if call.get("python") == "skip":
            verdict, diffs = compare_reference(call, rs)
            note = f"python side not run: compared with {call['reference']['source']}"
            rauth = rs[0].auth() if rs else None
            details = [note, f"rust Authorization: {rauth or '(absent)'}"] + [t for _, t in diffs]
            rows.append((label, verdict, "; ".join(details)))
            if verdict != "same":
                unexpected.append((cid, call, [], rs, diffs))
            continue
        py = py_calls[cid]
        verdict, diffs = compare_call(call, py, rs, ignored, case_notes)
        details = [t for _, t in diffs]
        if verdict == "expected difference" and call.get("expect"):
            details.insert(0, call["expect"]["reason"])
        if verdict == "same" and call.get("expect"):
            details.insert(0, "annotated as an expected difference, but both sides agree")
        if verdict != "same" or call.get("note"):
            outcomes = f"outcome py: {py_out.get(cid, '?')} / rs: {rs_out.get(cid, '?')}"
            if call.get("note"):
                details.insert(0, call["note"])
            if verdict != "same":
                details.append(outcomes)
        if not diffs and not details:
            details = [f"{len(py)} request(s)"]
        rows.append((label, verdict, "; ".join(details)))
        if verdict == "DIFFERENT":
            unexpected.append((cid, call, py, rs, diffs))

    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    print(f"{'call (method)'.ljust(w1)} | {'verdict'.ljust(w2)} | details")
    print(f"{'-' * w1}-|-{'-' * w2}-|-{'-' * 40}")
    for label, verdict, details in rows:
        print(f"{label.ljust(w1)} | {verdict.ljust(w2)} | {details}")

    counts = {}
    for _, v, _ in rows:
        counts[v] = counts.get(v, 0) + 1
    print()
    print("summary: " + ", ".join(f"{v}: {n}" for v, n in sorted(counts.items())))

    if unexpected:
        print()
        print("UNEXPECTED DIFFERENCES (exact bytes; Host port and noise headers left out)")
        for cid, call, py, rs, diffs in unexpected:
            print(f"\n== {cid}")
            for _, t in diffs:
                print(f"  - {t}")
            print(f"  outcome python: {py_out.get(cid, '?')}")
            print(f"  outcome rust:   {rs_out.get(cid, '?')}")
            print("  python sent:" if py else "  python sent: nothing")
            for q in py:
                print(q.raw())
            print("  rust sent:" if rs else "  rust sent: nothing")
            for q in rs:
                print(q.raw())

    print()
    print("ignored headers (transport noise, never compared):")
    for name in sorted(ignored):
        sides = ignored[name]
        py_v = ", ".join(sorted(sides.get("python", []))) or "(absent)"
        rs_v = ", ".join(sorted(sides.get("rust", []))) or "(absent)"
        print(f"  {name}: python={py_v} | rust={rs_v}")
    if case_notes:
        print("  header name case (compared case-insensitively): " + "; ".join(sorted(case_notes)))

    if a.endpoints:
        print()
        print(coverage(spec, a.endpoints))

    if incomplete:
        print()
        print("INCOMPLETE: " + "; ".join(incomplete))
        return 2
    return 1 if any(v in ("DIFFERENT", "MISSING") for _, v, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
