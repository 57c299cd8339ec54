#!/usr/bin/env python3
"""The Python side of scripts/bench.sh: the official client (SquirroClient 3.17.3), one job,
one line of JSON on stdout, the same jobs as `cargo bench --bench side_by_side`.

Usage: python_client.py MODE URL REFRESH_TOKEN USER_ID [CALLS [USERS]]

Modes:
  get         authenticate, then CALLS times get_user_data (keep-alive, one requests.Session)
  mix         authenticate, then CALLS calls, six per round: get_user_data, get_users,
              create_group, add_group_member, get_group, delete_group
  first-call  import the client, authenticate, one get_user_data, exit (the script times it)
  users       authenticate for tenant nUSERS (nginx serves USERS users there), then CALLS times
              get_users; the median call, and per user
"""

import json
import os
import sys
import time

# The fake server is on loopback: never go through a proxy.
for var in ("no_proxy", "NO_PROXY"):
    os.environ[var] = "127.0.0.1,localhost"

from squirro_client import SquirroClient  # noqa: E402


def peak_rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def report(mode, calls, t0):
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "client": "python",
                "mode": mode,
                "calls": calls,
                "seconds": round(seconds, 4),
                "calls_per_s": round(calls / seconds),
                "peak_rss_kib": peak_rss_kib(),
            }
        )
    )


def main():
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    mode, url, refresh_token, user_id = sys.argv[1:5]
    calls = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
    client = SquirroClient(None, None, cluster=url)
    if mode == "users":
        users = int(sys.argv[6]) if len(sys.argv) > 6 else 10
        client.authenticate(refresh_token=refresh_token, tenant="n%d" % users)
        got = len(client.get_users()["users"])
        if got != users:
            raise SystemExit("the server sent %d users, not %d" % (got, users))
        per_call = []
        for _ in range(calls):
            t0 = time.perf_counter()
            client.get_users()
            per_call.append(time.perf_counter() - t0)
        per_call.sort()
        median = per_call[len(per_call) // 2]
        print(
            json.dumps(
                {
                    "client": "python",
                    "mode": mode,
                    "users": users,
                    "calls": calls,
                    "median_call_s": median,
                    "us_per_user": round(median * 1e6 / users, 3),
                    "peak_rss_kib": peak_rss_kib(),
                }
            )
        )
        return 0
    client.authenticate(refresh_token=refresh_token)
    if mode == "first-call":
        user = client.get_user_data(user_id)
        print(json.dumps({"client": "python", "mode": mode, "user": user["id"]}))
        return 0
    client.get_user_data(user_id)  # the connection is open from here on
    if mode == "get":
        t0 = time.perf_counter()
        for _ in range(calls):
            client.get_user_data(user_id)
        report(mode, calls, t0)
    elif mode == "mix":
        rounds = -(-calls // 6)
        pid = os.getpid()
        t0 = time.perf_counter()
        for i in range(rounds):
            client.get_user_data(user_id)
            client.get_users()
            group = client.create_group("bench-py-%d-%d" % (pid, i))
            client.add_group_member(group["id"], user_id)
            got = client.get_group(group["id"])
            if len(got["members"]) != 1:
                raise SystemExit("group %s has %d members" % (group["id"], len(got["members"])))
            client.delete_group(group["id"])
        report(mode, rounds * 6, t0)
    else:
        print("unknown mode %r\n%s" % (mode, __doc__), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
