"""The Python side of cli/bench/first-call.sh: SquirroClient 3.17.3 doing what
`squirro-user --profile NAME get-users` does in a fresh process: read the profile (the same
TOML file, with Python's tomllib), refresh, one get_users, print the users as JSON."""
import json
import os
import sys
import tomllib

from squirro_client import SquirroClient

with open(os.environ["SQUIRRO_CONFIG"], "rb") as f:
    profile = tomllib.load(f)["profiles"][sys.argv[1]]
client = SquirroClient(None, None, cluster=profile["cluster"], tenant=profile.get("tenant"))
client.authenticate(refresh_token=profile["token"])
print(json.dumps(client.get_users()["users"]))
