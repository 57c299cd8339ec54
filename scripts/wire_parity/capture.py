#!/usr/bin/env python3
"""A tiny capture server for the wire-parity check (Python stdlib only).

Records every request it receives (method, raw request target, headers in order and with
their original case, body bytes) as one JSON line each in the log file, and answers with a
plausible reply of the Squirro user API so neither client errors out:

- ``POST /api/user/oauth2/token``: 200 and a token reply; the access token is deterministic
  (``fresh-access-t0ken``), so a refresh yields a token different from the refused one;
- every other user API path except ``/v2/signup`` needs ``Authorization: Bearer ...``: a
  missing header or the token ``expired-t0ken`` gets 401 (this exercises the refresh flows);
- otherwise 200, 201 or 204 with a JSON body shaped like the documented reply, decided by the
  verb and the path;
- test hooks: the refresh token ``bad-r3fresh`` is refused (400); ``stale-r3fresh`` always
  gets the refused ``expired-t0ken`` back (and itself as the refresh token);
  ``rotating-r3fresh`` gets ``expired-t0ken`` once with the new refresh token ``r3fresh-2``,
  which then yields a fresh token; a path holding ``flaky-NNN`` fails once with status NNN
  (``flaky-NNN-ra``: with ``Retry-After: 0``), ``flaky-drop`` closes the connection without a
  reply once; ``redirect-NNN`` redirects (status NNN) to the same path with ``redirected``
  (``redirect-NNN-port``: to a second port of this server; ``redirect-NNN-host``: to
  ``localhost`` instead of ``127.0.0.1``);
- ``/v2/signup`` needs no token, but an expired one gets 401 there too.

``GET /__wire_parity__/mark/<call id>`` is the drivers' marker: it is logged as
``{"mark": "<call id>"}`` and separates the requests of one call from the next.

Usage: capture.py --log FILE [--host 127.0.0.1] [--port 0] [--port-file FILE]
The chosen port is printed on stdout (and written to --port-file). Stops on SIGTERM/SIGINT.
"""

import argparse
import base64
import json
import re
import signal
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARK_PREFIX = "/__wire_parity__/mark/"
# The user API bases of the profiles: a cluster (with or without a path) or a user API URL.
API_PREFIXES = ("/squirro/api/user", "/api/user", "/custom/base")
EXPIRED_TOKEN = "expired-t0ken"
FRESH_TOKEN = "fresh-access-t0ken"

USER = {
    "id": "H5Qv-WhgSBGW0WL8xolSCQ",
    "email": "user01@example.com",
    "full_name": "User 1",
    "role": "user",
    "role_permissions": ["user"],
    "tenant": "acme",
    # Used by delete_workspace_user: one DELETE per group.
    "groups": [{"id": "g1", "name": "Team East"}, {"id": "g2", "name": "Team West"}],
}
GROUP = {"id": "1jo-WmmyRvC8UYtPMIQaoQ", "name": "Team East", "members": [USER]}
MEMBER = {
    "email": "user01@example.com",
    "full_name": "User 1",
    "member_id": "H5Qv-WhgSBGW0WL8xolSCQ",
    "member_type": "user",
    "server_role": "user",
    "project_role": "member",
    "project_id": "2sic33jZTi-ifflvQAVcfw",
    "permissions": ["items.*"],
}
AUTHENTICATION = {
    "access_secret": "secret",
    "access_secret_expires": "2014-01-09T08:40:00",
    "access_token": "token",
    "access_token_expires": "2014-01-09T08:40:00",
    "display_name": "John Smith",
    "service_user": "1234567",
    "state": "ok",
}
WORKSPACE = {"domain": "workspace-5", "title": "Workspace Five"}
MEMBERSHIP = [{"user_id": "u", "workspace": "w"}]

# (verb, regex on the path relative to /api/user, status, reply); first match wins.
SEG = r"[^/]+"
ROUTES = [
    ("GET", r"/v2/workspaces", 200, {"workspaces": [WORKSPACE, {"domain": "project-1", "title": "Project 1"}]}),
    ("POST", r"/v2/workspaces", 201, {"domain": "project-5", "title": "Project 5"}),
    ("GET", rf"/v2/workspaces/{SEG}/users", 200, [{"id": "u", "email": "user@example.com", "role": "admin", "full_name": "U"}]),
    ("POST", rf"/v2/workspaces/{SEG}/users", 200, MEMBERSHIP),
    ("DELETE", rf"/v2/workspaces/{SEG}/users/{SEG}", 204, None),
    ("PUT", rf"/v2/workspaces/{SEG}", 200, WORKSPACE),
    ("DELETE", rf"/v2/workspaces/{SEG}", 204, None),
    ("POST", r"/v2/signup", 201, {"user_id": "ixLkdYmaQzasRi5_luj7IQ", "tenant": "acme"}),
    ("GET", r"/msexchange/oauth2_token", 200, {"oauth2_token": "5ad37930dda85a7", "user_id": "vP7h4g7EThuJKIfMorHTUQ"}),
    ("GET", rf"/{SEG}/{SEG}/users/password_policy", 200, {"min_length": 8}),
    ("GET", rf"/{SEG}/{SEG}/users", 200, {"users": [USER]}),
    ("POST", rf"/{SEG}/{SEG}/users", 201, USER),
    ("PUT", rf"/{SEG}/{SEG}/users/{SEG}/password", 200, USER),
    ("POST", rf"/{SEG}/{SEG}/users/{SEG}/grants", 201, {"id": "yL0dnd17RNe9Jpn7uAa8Bw", "refresh_token": "b4c7440364afb80c2"}),
    ("GET", rf"/{SEG}/{SEG}/users/{SEG}/grants", 200, {"grants": [{"created_at": "2012-12-21 16:00:01", "valid_to": "2022-12-21 16:00:01", "id": "yL0dnd17RNe9Jpn7uAa8Bw", "type": "user"}]}),
    ("GET", rf"/{SEG}/{SEG}/users/{SEG}/sessions/{SEG}", 200, {"id": "yL0dnd17RNe9Jpn7uAa8Bw", "user_id": "H5Qv"}),
    ("DELETE", rf"/{SEG}/{SEG}/users/{SEG}/sessions/{SEG}", 204, None),
    ("GET", rf"/{SEG}/{SEG}/users/{SEG}", 200, USER),
    ("PUT", rf"/{SEG}/{SEG}/users/{SEG}", 200, USER),
    ("DELETE", rf"/{SEG}/{SEG}/users/{SEG}", 204, None),
    ("GET", rf"/{SEG}/{SEG}/authentications/{SEG}/{SEG}", 200, AUTHENTICATION),
    ("POST", rf"/{SEG}/{SEG}/authentications/{SEG}/{SEG}", 201, AUTHENTICATION),
    ("DELETE", rf"/{SEG}/{SEG}/authentications/{SEG}/{SEG}", 204, None),
    ("GET", rf"/{SEG}/{SEG}/projects/{SEG}/members", 200, {"members": [MEMBER]}),
    ("POST", rf"/{SEG}/{SEG}/projects/{SEG}/members", 200, MEMBER),
    ("PUT", rf"/{SEG}/{SEG}/projects/{SEG}/members/{SEG}", 200, MEMBER),
    ("DELETE", rf"/{SEG}/{SEG}/projects/{SEG}/members/{SEG}", 204, None),
    ("GET", rf"/{SEG}/{SEG}/groups", 200, [GROUP]),
    ("POST", rf"/{SEG}/{SEG}/groups", 201, GROUP),
    ("DELETE", rf"/{SEG}/{SEG}/groups/{SEG}/members/{SEG}", 204, None),
    ("GET", rf"/{SEG}/{SEG}/groups/{SEG}", 200, GROUP),
    ("PUT", rf"/{SEG}/{SEG}/groups/{SEG}", 200, GROUP),
    ("POST", rf"/{SEG}/{SEG}/groups/{SEG}", 200, USER),
    ("DELETE", rf"/{SEG}/{SEG}/groups/{SEG}", 204, None),
]
# Anything else (e.g. a hostile id that changed the route): a generic reply per verb.
FALLBACK = {"GET": (200, {}), "POST": (201, {}), "PUT": (200, {}), "DELETE": (204, None)}


def token_reply(form):
    grant = form.get("grant_type")
    if grant not in ("refresh_token", "access_token", "password", "ext_id"):
        return 400, {"error": "unsupported grant_type"}
    if form.get("refresh_token") == "bad-r3fresh":
        return 400, {"error": "invalid refresh token"}
    # A token endpoint that returns the refused token again (multi-node clock drift):
    # `stale-r3fresh` forever; `rotating-r3fresh` once, with a new refresh token that works.
    refresh = form.get("refresh_token")
    stale = refresh in ("stale-r3fresh", "rotating-r3fresh")
    return 200, {
        "access_token": EXPIRED_TOKEN if stale else FRESH_TOKEN,
        "refresh_token": "stale-r3fresh" if refresh == "stale-r3fresh" else "r3fresh-2",
        "tenant": form.get("tenant") or "acme",
        "user_id": "u",
        "session_id": "s",
        "role": "admin",
        "role_permissions": ["admin"],
        "project_permissions": None,
        "user_information": {},
    }


FLAKY_SEEN = set()
FLAKY_LOCK = threading.Lock()


def first_time(method, path):
    with FLAKY_LOCK:
        first = (method, path) not in FLAKY_SEEN
        FLAKY_SEEN.add((method, path))
    return first


def reply_for(method, target, headers, body):
    """(status, JSON data or None, extra headers); status None: close without a reply."""
    path = urllib.parse.urlsplit(target).path
    # `flaky-NNN` fails once with status NNN (per verb and path), then works; `flaky-NNN-ra`
    # sends `Retry-After: 0` with it; `flaky-drop` closes the connection without a reply once.
    m = re.search(r"flaky-(\d{3}|drop)(-ra)?", path)
    if m and first_time(method, path):
        if m.group(1) == "drop":
            return None, None, {}
        return int(m.group(1)), {"error": "try again"}, ({"Retry-After": "0"} if m.group(2) else {})
    # `redirect-NNN` answers NNN with a Location on the same server, `redirect-NNN...`
    # replaced by `redirected`; `redirect-NNN-port` points to this server's second port,
    # `redirect-NNN-host` to `localhost` instead of `127.0.0.1` (same port).
    m = re.search(r"redirect-(30[1278])(-port|-host)?", path)
    if m:
        host = headers.get("host")
        if m.group(2) == "-port":
            host = f"127.0.0.1:{Handler.alt_port}"
        elif m.group(2) == "-host":
            host = f"localhost:{Handler.main_port}"
        location = f"http://{host}{target.replace(m.group(0), 'redirected')}"
        return int(m.group(1)), None, {"Location": location}
    status, data = route(method, path, headers, body)
    return status, data, {}


def route(method, path, headers, body):
    for prefix in API_PREFIXES:
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    else:
        return 404, {"error": "not under a user API base"}
    if method == "POST" and path == "/oauth2/token":
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        return token_reply(form)
    auth = headers.get("authorization")
    if auth == f"Bearer {EXPIRED_TOKEN}" or (not auth and path != "/v2/signup"):
        return 401, {"error": "access token missing or expired"}
    for verb, pattern, status, data in ROUTES:
        if verb == method and re.fullmatch(pattern, path):
            return status, data
    return FALLBACK.get(method, (405, {"error": "method"}))


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.seq = 0

    def write(self, record):
        with self.lock:
            self.seq += 1
            record = {"seq": self.seq, **record}
            self.file.write(json.dumps(record, ensure_ascii=False) + "\n")
            self.file.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wire-parity-capture/1"
    recorder = None  # set in main
    main_port = None
    alt_port = None

    def log_message(self, *args):  # quiet
        pass

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith(MARK_PREFIX):
            self.recorder.write({"mark": urllib.parse.unquote(self.path[len(MARK_PREFIX):])})
            self.respond(204, None)
            return
        headers = [[k, v] for k, v in self.headers.items()]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        self.recorder.write(
            {
                "request_line": self.requestline,
                "method": self.command,
                "target": self.path,
                "http_version": self.request_version,
                "headers": headers,
                "body_b64": base64.b64encode(body).decode("ascii"),
                "body": text,
            }
        )
        lower = {k.lower(): v for k, v in headers}
        status, data, extra = reply_for(self.command, self.path, lower, body)
        if status is None:
            self.close_connection = True
            return
        self.respond(status, data, extra)

    def respond(self, status, data, extra=None):
        payload = b"" if data is None or status == 204 else json.dumps(data).encode("utf-8")
        self.send_response(status)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    a = ap.parse_args()
    Handler.recorder = Recorder(a.log)
    server = ThreadingHTTPServer((a.host, a.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    # A second listener (same log) for the redirect-to-another-port case.
    alt = ThreadingHTTPServer((a.host, 0), Handler)
    alt.daemon_threads = True
    Handler.main_port, Handler.alt_port = port, alt.server_address[1]
    threading.Thread(target=alt.serve_forever, daemon=True).start()
    print(port, flush=True)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os

        os.replace(a.port_file + ".tmp", a.port_file)

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()
        threading.Thread(target=alt.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
