#!/usr/bin/env python3
"""Runs the official Python client (SquirroClient 3.17.3) through calls.json against a
capture server.

Usage: python_calls.py URL [CALLS_JSON] [RESULTS_JSONL]

Before each call it sends ``GET /__wire_parity__/mark/<call id>`` to the capture server (on a
separate connection, not through the client), so the log can be cut into calls. Every call
runs on a fresh ``SquirroClient(client_id, client_secret, cluster=URL, tenant=...)`` built
from the call's profile (tokens set through the ``access_token`` / ``refresh_token``
properties). The outcome of each call (``ok`` or the exception) goes to RESULTS_JSONL.
Calls marked ``"python": "skip"`` are marked but not run (get_token_from_msexchuid raises
NotImplementedError in 3.17.3; its row is compared with WIRE.md instead).
"""

import datetime
import http.client
import json
import logging
import os
import sys
import urllib.parse

# The capture server is on loopback: never go through a proxy.
for var in ("no_proxy", "NO_PROXY"):
    os.environ[var] = "127.0.0.1,localhost"

from squirro_client import SquirroClient  # noqa: E402

# The outcome of each call is reported; keep the client's own logging (tracebacks of failed
# refreshes, retry notices) off the terminal.
for name in ("squirro_client", "urllib3"):
    logging.getLogger(name).addHandler(logging.NullHandler())
    logging.getLogger(name).propagate = False

HERE = os.path.dirname(os.path.abspath(__file__))


def mark(url, call_id):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.request("GET", "/__wire_parity__/mark/" + urllib.parse.quote(call_id, safe=""))
    conn.getresponse().read()
    conn.close()


def value(v):
    """Turns the special values of calls.json into Python ones."""
    if isinstance(v, dict):
        if set(v) == {"$datetime"}:
            return datetime.datetime.strptime(v["$datetime"], "%Y-%m-%dT%H:%M:%S")
        if set(v) == {"$f64"}:
            return float(v["$f64"])
        return {k: value(x) for k, x in v.items()}
    if isinstance(v, list):
        return [value(x) for x in v]
    return v


def make_client(url, profile):
    if "user_api_url_suffix" in profile:
        kwargs = {"user_api_url": url + profile["user_api_url_suffix"]}
    else:
        kwargs = {"cluster": url + profile.get("cluster_suffix", "")}
    if profile.get("tenant") is not None:
        kwargs["tenant"] = profile["tenant"]
    if profile.get("version") is not None:
        kwargs["version"] = profile["version"]
    client = SquirroClient(profile.get("client_id"), profile.get("client_secret"), **kwargs)
    if profile.get("access_token") is not None:
        client.access_token = profile["access_token"]
    if profile.get("refresh_token") is not None:
        client.refresh_token = profile["refresh_token"]
    return client


def steps_of(call):
    if "steps" in call:
        return call["steps"]
    return [{"method": call["method"], "args": call.get("args", []), "kwargs": call.get("kwargs", {})}]


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    url = sys.argv[1].rstrip("/")
    calls_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "calls.json")
    results_path = sys.argv[3] if len(sys.argv) > 3 else None
    with open(calls_path, encoding="utf-8") as f:
        spec = json.load(f)
    results = open(results_path, "w", encoding="utf-8") if results_path else sys.stdout
    for call in spec["calls"]:
        mark(url, call["id"])
        if call.get("python") == "skip":
            results.write(json.dumps({"id": call["id"], "outcome": "skipped (not run on the Python side)"}) + "\n")
            continue
        profile = spec["profiles"][call.get("client", "default")]
        client = make_client(url, profile)
        outcomes = []
        for step in steps_of(call):
            method = getattr(client, step["method"])
            try:
                method(*value(step.get("args", [])), **value(step.get("kwargs", {})))
                outcomes.append("ok")
            except Exception as e:  # the outcome is reported, the wire is what counts
                outcomes.append(f"{type(e).__name__}: {e}")
                break
        results.write(json.dumps({"id": call["id"], "outcome": "; ".join(outcomes)}, ensure_ascii=False) + "\n")
    mark(url, "__end__")
    if results is not sys.stdout:
        results.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
