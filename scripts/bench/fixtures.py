#!/usr/bin/env python3
"""The fixed JSON nginx serves in scripts/bench.sh: writes DIR/www/{user,token,users-N}.json.

Usage: fixtures.py DIR N...

Users look like the fake's (and the user API's) list entries: email, full_name, id, role,
role_permissions, tenant, with ids as the API makes them (22 URL-safe base64 characters).
"""

import base64
import json
import os
import sys


def user(i, tenant):
    uid = base64.urlsafe_b64encode(i.to_bytes(16, "big")).decode()[:22]
    role = "admin" if i % 50 == 0 else "user"
    return {
        "email": "user%05d@acme.example" % i,
        "full_name": "User %05d" % i,
        "id": uid,
        "role": role,
        "role_permissions": [role],
        "tenant": tenant,
    }


def main():
    out = os.path.join(sys.argv[1], "www")
    os.makedirs(out, exist_ok=True)
    one = dict(user(1, "acme"), groups=[])
    with open(os.path.join(out, "user.json"), "w") as f:
        json.dump(one, f, separators=(",", ":"))
    token = {
        "access_token": "bench-access-token",
        "refresh_token": "bench-refresh-token",
        "tenant": "acme",
        "user_id": one["id"],
        "role": "admin",
        "role_permissions": ["admin"],
        "project_permissions": {},
        "user_information": {},
        "expires_in": 3600,
        "token_type": "Bearer",
    }
    with open(os.path.join(out, "token.json"), "w") as f:
        json.dump(token, f, separators=(",", ":"))
    for n in map(int, sys.argv[2:]):
        users = {"users": [user(i, "n%d" % n) for i in range(n)]}
        with open(os.path.join(out, "users-%d.json" % n), "w") as f:
            json.dump(users, f, separators=(",", ":"))


if __name__ == "__main__":
    main()
