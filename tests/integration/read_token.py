#!/usr/bin/python3
"""Reads need the API token when appcored listens beyond loopback (issue 10,
docs/security.md): appcored --demo on 0.0.0.0, asked over raw sockets on
127.0.0.1.  The API and /metrics answer 401 without the token, and 200
with it in an Authorization header or the dashboard's appcore_token
cookie; a cookie never authorises control; /healthz, the dashboard's
files and the unix socket stay open.  TAP output.

usage: read_token.py APPCORED APPCORECTL"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, finish, wait_for  # noqa: E402

appcored, appcorectl = sys.argv[1], sys.argv[2]


tmp = tempfile.mkdtemp(prefix="read-token-")
sock_path = tmp + "/appcored.sock"
proc = subprocess.Popen(
    [appcored, "--demo", "--state-dir", tmp + "/state", "--user", "root",
     "--listen", "0.0.0.0:0", "--socket", sock_path,
     "--sim-args", "--rate 100 --counters 4"],
    stdout=subprocess.PIPE, stderr=open(tmp + "/d.err", "w"), text=True)
port = None
for line in proc.stdout:
    m = re.search(r"dashboard on http://[^/]+:(\d+)/", line)
    if m:
        port = int(m.group(1))
        break


def request(raw, unix=False):
    """(status, head, body) of one request on a fresh connection."""
    if unix:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(sock_path)
    else:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
    out = b""
    try:
        s.sendall(raw)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            head, sep, body = out.partition(b"\r\n\r\n")
            m = re.search(rb"\r\nContent-Length: (\d+)", head, re.I)
            if sep and (b"text/event-stream" in head or
                        (m and len(body) >= int(m.group(1)))):
                break
    except socket.timeout:
        pass
    s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.[01] (\d+)", head)
    return (int(m.group(1)) if m else 0), head, body


def get(path, extra=b"", unix=False):
    return request(b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                   extra + b"Connection: close\r\n\r\n", unix)


try:
    check(port is not None, "appcored listens on 0.0.0.0 (port %s)" % port)
    token_file = tmp + "/state/api-token"
    check(wait_for(lambda: os.path.exists(token_file), 5), "its token is in "
          "the state directory")
    token = open(token_file).read().strip().encode()
    bearer = b"Authorization: Bearer " + token + b"\r\n"
    cookie = b"Cookie: theme=dark; appcore_token=" + token + b"\r\n"

    for path in (b"/api/v1/devices", b"/api/v1/crashes",
                 b"/api/v1/query?sql=SELECT%201", b"/api/v1/stream",
                 b"/api/v1/devices/1/memory?length=4", b"/metrics",
                 b"/api/v1/nothing-here"):
        st, head, body = get(path)
        check(st == 401 and b"WWW-Authenticate: Bearer" in head and
              b"reads need the API token" in body,
              "GET %s without the token: 401 that says why (%d)" %
              (path.decode(), st))
    for what, extra in ((b"a wrong token", b"Authorization: Bearer " +
                         b"0" * len(token) + b"\r\n"),
                        (b"a wrong cookie", b"Cookie: appcore_token=" +
                         token[:-1] + b"x\r\n"),
                        (b"a token of another length",
                         b"Authorization: Bearer " + token[:8] + b"\r\n"),
                        (b"a Basic header", b"Authorization: Basic " +
                         token + b"\r\n")):
        st, _, _ = get(b"/api/v1/devices", extra)
        check(st == 401, "with %s: 401 (%d)" % (what.decode(), st))

    st, _, body = get(b"/api/v1/devices", bearer)
    check(st == 200 and body.startswith(b"{"), "with the token in an "
          "Authorization header: 200 (%d)" % st)
    st, _, body = get(b"/api/v1/query?sql=SELECT%201", cookie)
    check(st == 200 and b'"rows"' in body, "with the appcore_token "
          "cookie: 200 (%d)" % st)
    st, head, _ = get(b"/api/v1/stream", cookie)
    check(st == 200 and b"text/event-stream" in head, "the stream with the "
          "cookie, as the dashboard's EventSource sends it: 200 (%d)" % st)
    st, _, body = get(b"/metrics", bearer)
    check(st == 200 and b"appcored_live_reads_waiting" in body,
          "/metrics with the token: 200 (%d)" % st)

    # A cookie is what another site's form could make a browser send:
    # control needs the header.
    post = (b"POST /api/v1/devices/1/snapshot HTTP/1.1\r\nHost: 127.0.0.1"
            b"\r\nContent-Length: 0\r\n")
    st, _, _ = request(post + cookie + b"Connection: close\r\n\r\n")
    check(st == 401, "control with the cookie only: 401 (%d)" % st)
    st, _, _ = request(post + bearer + b"Connection: close\r\n\r\n")
    check(st in (200, 202), "control with the header: %d" % st)

    st, _, body = get(b"/healthz")
    check(st == 200 and body == b"ok\n", "/healthz needs no token (%d)" % st)
    st, _, body = get(b"/")
    check(st == 200 and b"token-dialog" in body, "the dashboard's page "
          "loads without it, to ask for it (%d)" % st)
    st, _, _ = get(b"/app.js")
    check(st == 200, "and its script (%d)" % st)
    st, _, body = get(b"/api/v1/devices", unix=True)
    check(st == 200 and body.startswith(b"{"), "the unix socket (file "
          "permissions guard it) reads without the token (%d)" % st)

    # appcorectl over TCP sends the token with its reads when it can.
    url = "http://127.0.0.1:%d" % port
    r = subprocess.run([appcorectl, "--url", url, "--token-file", token_file,
                        "--json", "devices"], capture_output=True, text=True)
    check(r.returncode == 0 and '"devices"' in r.stdout, "appcorectl --url "
          "reads with the token file (%d %s)" % (r.returncode,
                                                 r.stderr.strip()))
    r = subprocess.run([appcorectl, "--url", url, "--token-file",
                        tmp + "/no-such-token", "devices"],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "reads need the API token" in r.stderr,
          "without one it says what the daemon said: %s" % r.stderr.strip())
finally:
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = -1
    check(rc == 0, "appcored stopped cleanly (%s)" % rc)
    if tap.failed:
        sys.stdout.write("".join("# " + l for l in
                                 open(tmp + "/d.err").readlines()[-20:]))
    shutil.rmtree(tmp, ignore_errors=True)
finish()
