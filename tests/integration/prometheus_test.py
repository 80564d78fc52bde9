#!/usr/bin/python3
"""appcored scraped by a real Prometheus server (Debian's prometheus,
started here on loopback): /metrics passes `promtool check metrics`, `up`
is 1, a core-1 counter's rate() and every scraped value agree with the
simulator's ground truth (its truth log and clock, not the daemon), the
process_* metrics agree with /proc, the alerting rules in
etc/prometheus load and one fires when core 1 panics, and every query of
the Grafana dashboard in etc/grafana returns data from this Prometheus.
TAP output.

usage: prometheus_test.py APPCORED DASHBOARD_JSON RULES_YML"""
import atexit
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import check, finish, free_port, wait_for  # noqa: E402

appcored, dashboard_path, rules_path = sys.argv[1:4]
SIM_SECONDS = 40
PANIC_AT = 26          # core 1 panics here: the alert must fire
WINDOW = 10            # rate() window, seconds
RATE_AT = 24           # evaluated at this many seconds after device time 0

tmp = tempfile.mkdtemp()
procs = []


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(tmp, ignore_errors=True)


atexit.register(cleanup)   # also when a check raises


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def prom(path, **params):
    """A Prometheus HTTP API answer's data, or None on an error."""
    try:
        body = json.loads(get(prom_url + path + "?" +
                              urllib.parse.urlencode(params, doseq=True)))
    except (OSError, ValueError):
        return None
    return body.get("data") if body.get("status") == "success" else None


def start_appcored():
    truth = tmp + "/truth"
    p = subprocess.Popen(
        [appcored, "--demo", "--state-dir", tmp + "/state", "--user", "root",
         "--listen", "127.0.0.1:0", "--sim-args",
         "--rate 100 --counters 16 --duration %d --panic-after %d "
         "--truth %s" % (SIM_SECONDS, PANIC_AT, truth)],
        stdout=subprocess.PIPE, stderr=open(tmp + "/d.err", "w"), text=True)
    procs.append(p)
    for line in p.stdout:
        m = re.search(r"dashboard on (http://[^/]+)/", line)
        if m:
            return p, m.group(1), truth
    return p, None, truth


def start_prometheus(target):
    port = free_port()
    cfg = tmp + "/prometheus.yml"
    with open(cfg, "w") as f:
        f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "rule_files: ['%s']\nscrape_configs:\n"
                "  - job_name: appcored\n    static_configs:\n"
                "      - targets: ['%s']\n" % (os.path.abspath(rules_path),
                                                target))
    p = subprocess.Popen(
        ["prometheus", "--config.file=" + cfg,
         "--storage.tsdb.path=" + tmp + "/tsdb",
         "--web.listen-address=127.0.0.1:%d" % port],
        stdout=subprocess.DEVNULL, stderr=open(tmp + "/prom.err", "w"))
    procs.append(p)
    return p, "http://127.0.0.1:%d" % port


def ready(url):
    try:
        return get(url + "/-/ready", timeout=2) is not None
    except OSError:
        return False


# ---- ground truth: the simulator's log ----

def read_truth(path):
    """wall0 (us) and [(wall us, [values])] of every sample produced."""
    wall0 = int(open(path + ".clock").read().split()[0])
    rows = []
    for line in open(path):
        f = line.split()
        rows.append((wall0 + int(f[1]), [int(x) for x in f[2:]]))
    return wall0, rows


def value_at(rows, col, wall_us):
    """The column's value of the last sample produced at or before wall_us."""
    lo, hi = 0, len(rows)
    while lo < hi:
        mid = (lo + hi) // 2
        if rows[mid][0] <= wall_us:
            lo = mid + 1
        else:
            hi = mid
    return rows[lo - 1][1][col] if lo > 0 else None


def values_between(rows, col, a_us, b_us):
    return {r[1][col] for r in rows if a_us <= r[0] <= b_us}


# ---- the run ----

d, base, truth_path = start_appcored()
check(base is not None, "appcored --demo serves on loopback")
if base is None:
    cleanup()
    finish()
started = time.time()
text = get(base + "/metrics")
lint = subprocess.run(["promtool", "check", "metrics"], input=text,
                      capture_output=True, text=True)
check(lint.returncode == 0 and not lint.stdout.strip() and
      not lint.stderr.strip(), "promtool check metrics is clean%s"
      % (": " + (lint.stdout + lint.stderr).strip().replace("\n", "; ")
         if lint.returncode or lint.stdout.strip() else ""))
for family in ("process_cpu_seconds_total", "process_resident_memory_bytes",
               "process_open_fds", "process_max_fds",
               "process_start_time_seconds"):
    check(re.search(r"^# TYPE %s " % family, text, re.M) is not None,
          "/metrics has the standard %s" % family)

pm, prom_url = start_prometheus(urllib.parse.urlsplit(base).netloc)
check(wait_for(lambda: ready(prom_url), 60) is not None,
      "prometheus %s is ready" % prom_url.split(":")[-1])
up = wait_for(lambda: (lambda r: r if r and r["result"] and
                       r["result"][0]["value"][1] == "1" else None)(
    prom("/api/v1/query", query='up{job="appcored"}')), 30)
check(up is not None, "up{job=\"appcored\"} is 1")

# The process figures against /proc, read from outside the daemon.
start_s = prom("/api/v1/query", query="process_start_time_seconds")
fds = prom("/api/v1/query", query="process_open_fds")
ours = len(os.listdir("/proc/%d/fd" % d.pid))
check(start_s and abs(float(start_s["result"][0]["value"][1]) -
                      started) < 5,
      "process_start_time_seconds is when the test started appcored")
check(fds and 0 < float(fds["result"][0]["value"][1]) <= ours + 8,
      "process_open_fds agrees with /proc/PID/fd (%s, %d there)"
      % (fds and fds["result"][0]["value"][1], ours))

# Wait for the simulator to end: its truth log is then complete.
sim_done = wait_for(lambda: os.path.exists(truth_path + ".clock") and
                    time.time() - started > SIM_SECONDS + 3 and
                    prom("/api/v1/query",
                         query='appcore_board_connected{board="sim-0"} == 0'),
                    SIM_SECONDS + 60, 0.5)
check(bool(sim_done), "the simulated board ran %d s and went away"
      % SIM_SECONDS)
wall0, rows = read_truth(truth_path)
dev_id = json.loads(get(base + "/api/v1/devices"))["devices"][0]["id"]
names = json.loads(get(base + "/api/v1/devices/%d" % dev_id))["counters"]
col = {c["name"]: i for i, c in enumerate(names)}

# rate() of a core-1 counter against the truth's slope over the window,
# which starts once Prometheus has been scraping for a while (rate()
# extrapolates at most a scrape interval past its first sample).
t_eval = wall0 / 1e6 + RATE_AT
first = prom("/api/v1/query", time="%.3f" % t_eval,
             query='up{job="appcored"}[60s]')
first = float(first["result"][0]["values"][0][0]) if first and \
    first["result"] else t_eval
check(first < t_eval - WINDOW - 1, "Prometheus scraped from %.1f s, before "
      "the window (%.1f s)" % (first - wall0 / 1e6, RATE_AT - WINDOW))
r = prom("/api/v1/query", time="%.3f" % t_eval,
         query='rate(appcore_core1_total{board="sim-0",name="audio.frames"}'
         '[%ds])' % WINDOW)
truth_rate = (value_at(rows, col["audio.frames"], int(t_eval * 1e6)) -
              value_at(rows, col["audio.frames"],
                       int((t_eval - WINDOW) * 1e6))) / WINDOW
got = float(r["result"][0]["value"][1]) if r and r["result"] else None
check(got is not None and abs(got - truth_rate) <= 0.01 * truth_rate,
      "rate(audio.frames[%ds]) is %s/s; the simulator's: %.1f/s"
      % (WINDOW, got, truth_rate))


def scraped(query):
    """[(scrape time s, value)] of a range vector at t_eval."""
    r = prom("/api/v1/query", time="%.3f" % t_eval, query=query)
    if not r or not r["result"]:
        return []
    return [(float(t), float(v)) for t, v in r["result"][0]["values"]]


def all_in_truth(points, name, scale):
    """Each scraped value is one the board produced in the 2 s before the
    scrape's timestamp (when the scrape began: the answer comes up to
    100 ms later)."""
    bad = [(t, v, [round(r[0] / 1e6 - t, 3) for r in rows
                   if r[1][col[name]] == round(v / scale)][:3])
           for t, v in points
           if round(v / scale) not in values_between(
               rows, col[name], int((t - 2) * 1e6), int((t + 0.1) * 1e6))]
    return points and not bad, bad[:3]


pts = scraped('appcore_core1_total{board="sim-0",name="audio.frames"}[%ds]'
              % WINDOW)
ok, bad = all_in_truth(pts, "audio.frames", 1)
check(ok, "each of %d scraped audio.frames totals is a value the board "
      "produced (%s)" % (len(pts), bad))
pts = scraped('appcore_core1_celsius{board="sim-0",name="board.temp"}[%ds]'
              % WINDOW)
ok, bad = all_in_truth(pts, "board.temp", 1e-3)
check(ok, "each of %d scraped board.temp values, in celsius, is the "
      "board's millidegrees / 1000 (%s)" % (len(pts), bad))
pts = scraped('appcore_core1_ratio{board="sim-0",name="dsp.load"}[%ds]'
              % WINDOW)
ok, bad = all_in_truth(pts, "dsp.load", 1e-3)
check(ok, "each of %d scraped dsp.load ratios is the board's permil / "
      "1000 (%s)" % (len(pts), bad))

# The alerting rules: loaded, evaluated, and the panic fires one.
rules = prom("/api/v1/rules")
loaded = [r for g in (rules or {}).get("groups", []) for r in g["rules"]]
check(len(loaded) == 6 and all(r["health"] == "ok" for r in loaded),
      "the 6 rules of %s load and evaluate (%s)"
      % (os.path.basename(rules_path), [(r["name"], r["health"])
                                        for r in loaded]))
alerts = prom("/api/v1/alerts")
firing = [a for a in (alerts or {}).get("alerts", [])
          if a["labels"]["alertname"] == "AppcoreCore1NotRunning"]
check(firing and firing[0]["labels"].get("board") == "sim-0" and
      firing[0]["labels"].get("state") == "panicked",
      "AppcoreCore1NotRunning fires for sim-0, panicked (%s)"
      % [a["labels"] for a in firing])

# ---- the Grafana dashboard ----
dash = json.load(open(dashboard_path))
panels = dash.get("panels", [])
ids = [p.get("id") for p in panels]
check(dash.get("uid") and len(panels) >= 8 and len(set(ids)) == len(ids),
      "the dashboard has a uid and %d panels with distinct ids"
      % len(panels))
check(all(0 <= p["gridPos"]["x"] and p["gridPos"]["x"] +
          p["gridPos"]["w"] <= 24 for p in panels),
      "every panel fits Grafana's 24-column grid")
variables = {v["name"]: v for v in dash["templating"]["list"]}
check(variables.get("datasource", {}).get("type") == "datasource" and
      all(p["datasource"]["uid"] == "${datasource}" for p in panels),
      "every panel asks the dashboard's Prometheus data source")
subst = {"$board": "sim-0", "$counter": ".*", "$job": "appcored",
         "$__rate_interval": "10s"}


def expand(expr):
    for k in sorted(subst, key=len, reverse=True):
        expr = expr.replace(k, subst[k])
    return expr


for name, v in variables.items():
    if v["type"] != "query":
        continue
    m = re.match(r"label_values\((.*), (\w+)\)$", v["definition"])
    series = m and prom("/api/v1/series", **{
        "match[]": expand(m.group(1)), "start": "%.0f" % (wall0 / 1e6),
        "end": "%.0f" % time.time()})
    vals = {s.get(m.group(2)) for s in series or []} - {None}
    check(bool(vals), "variable $%s has values (%s)" % (name, sorted(vals)[:4]))
for p in panels:
    for t in p["targets"]:
        r = prom("/api/v1/query_range", query=expand(t["expr"]),
                 start="%.0f" % (wall0 / 1e6 + 5),
                 end="%.0f" % time.time(), step="2")
        n = sum(len(s["values"]) for s in (r or {}).get("result", []))
        check(n > 0, "panel \"%s\" %s: %d points" % (p["title"], t["refId"],
                                                    n))

cleanup()
finish()
