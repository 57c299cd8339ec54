#!/usr/bin/env python3
"""The naive Python side of scripts/bench-plan.sh: the same job as `bulk run` with the official
client (SquirroClient 3.17.3), one call after the other, no plan, no journal.

Usage: plan_python.py DIR URL REFRESH_TOKEN [LIMIT]

Reads DIR/users.csv (email, full_name, groups), creates the groups, adds them to the project,
then for each user (the first LIMIT): add_user, update_user_data(full_name), add_group_member.
Prints one line of JSON.
"""

import csv
import json
import os
import sys
import time

for var in ("no_proxy", "NO_PROXY"):
    os.environ[var] = "127.0.0.1,localhost"

from squirro_client import SquirroClient  # noqa: E402

PROJECT = "2sic33jZTi-ifflvQAVcfw"


def peak_rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 2)
    return None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    directory, url, token = sys.argv[1:4]
    limit = int(sys.argv[4]) if len(sys.argv) > 4 else None
    client = SquirroClient(None, None, cluster=url, tenant="acme")
    client.authenticate(refresh_token=token)
    t0 = time.perf_counter()
    with open(os.path.join(directory, "users.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if limit is not None:
        rows = rows[:limit]
    groups = {}
    for row in rows:
        name = row["groups"]
        if name not in groups:
            groups[name] = client.create_group(name)["id"]
            client.add_project_member(PROJECT, "member", group_id=groups[name])
    requests = 2 * len(groups)
    for row in rows:
        user = client.add_user(email=row["email"])
        client.update_user_data(user["id"], {"full_name": row["full_name"]})
        client.add_group_member(groups[row["groups"]], user["id"])
        requests += 3
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "client": "python",
                "users": len(rows),
                "requests": requests,
                "seconds": round(seconds, 2),
                "users_per_s": round(len(rows) / seconds, 1),
                "peak_rss_mib": peak_rss_mib(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
