"""What the core-1 update tests and the soak share: a simulated board
with its slots in files (appcore-sim --slots), the real daemon, a proxy
between them, and the slot record decoded from its documented layout
(docs/protocol.md, "The slot record"), not by the agent's code."""
import atexit
import json
import os
import random
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

from tap import wait_for

# The one CRC-32C of the Python tools, beside the wire seeds.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "fuzz"))
from make_seeds import crc32c  # noqa: E402

BASE = 0x42400000


def record_copy(path):
    try:
        b = open(path, "rb").read(200)
    except FileNotFoundError:
        return None
    if len(b) != 200 or struct.unpack_from("<I", b, 196)[0] != crc32c(b[:196]):
        return None
    magic, seq, active, prev, trial, attempts, err, trial_ms, xfer, have = \
        struct.unpack_from("<IIBBBBBIII", b, 0)
    if magic != 0x31534341:
        return None
    slot = []
    for i in range(2):
        st, size, entry = struct.unpack_from("<BII", b, 25 + 73 * i)
        sha = b[25 + 73 * i + 9:25 + 73 * i + 41]
        slot.append({"state": st, "size": size, "entry": entry,
                     "sha": sha.hex()})
    return {"seq": seq, "active": active, "previous": prev, "trial": trial,
            "attempts": attempts, "error": err, "have": have, "slot": slot}


def record(slots):
    """The newer of the two copies (the rule the agent follows)."""
    c = [record_copy(slots + "/record-%d" % i) for i in range(2)]
    c = [x for x in c if x is not None]
    if not c:
        return None
    if len(c) == 2 and ((c[1]["seq"] - c[0]["seq"]) & 0xFFFFFFFF) < 2**31:
        return c[1]
    return c[-1] if len(c) == 1 else c[0]


def slot_bytes(slots, i, n):
    with open(slots + "/slot-%s.bin" % "ab"[i], "rb") as f:
        return f.read(n)


# ---- images ----


def sim_image(mkimage, tmp, behaviour, size, name):
    """An appcore-sim image (core1_image.py --sim): its path."""
    path = "%s/%s.bin" % (tmp, name)
    subprocess.run([sys.executable, mkimage, "--sim", behaviour, path,
                    "--size", str(size)], check=True, stdout=subprocess.DEVNULL)
    return path


def read(path):
    return open(path, "rb").read()


class Proxy:
    """Forwards the daemon's connection to the board: host-to-board at
    rate bytes/s (0: as it comes), a byte flipped in a forwarded piece
    with chance corrupt, cut() drops the connection; the target port
    follows the board after a restart."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.target = None
        self.rate = 0            # host -> board bytes/s, 0: as fast as it comes
        self.corrupt = 0.0       # chance per forwarded piece of a flipped byte
        self.flipped = 0
        self.cuts = 0            # connections cut() asked to drop
        self.rng = random.Random(7)
        threading.Thread(target=self.run, daemon=True).start()

    def cut(self):
        """Drops the connection in hand; the daemon connects again."""
        self.cuts += 1

    def run(self):
        while True:
            host, _ = self.srv.accept()
            if self.target is None:
                host.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                host.close()
                continue
            self.pipe(host, up)

    def pipe(self, host, up):
        sent_t, budget = time.time(), 0.0
        cuts = self.cuts
        try:
            while cuts == self.cuts:
                r, _, _ = select.select([host, up], [], [], 0.05)
                if up in r:
                    d = up.recv(65536)
                    if not d:
                        break
                    host.sendall(d)
                if host in r:
                    d = host.recv(1024 if self.rate else 65536)
                    if not d:
                        break
                    d = bytearray(d)
                    if self.corrupt and self.rng.random() < self.corrupt:
                        d[self.rng.randrange(len(d))] ^= 1 << self.rng.randrange(8)
                        self.flipped += 1
                    if self.rate:
                        budget -= len(d)
                        while budget < 0:
                            time.sleep(0.01)
                            now = time.time()
                            budget += (now - sent_t) * self.rate
                            sent_t = now
                    up.sendall(bytes(d))
        except OSError:
            pass
        host.close()
        up.close()




class Api:
    """appcored's JSON API at url, with its token for POSTs."""

    def __init__(self, url, token):
        self.url, self.token = url, token

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10) as r:
            return json.loads(r.read())

    def post(self, path, body):
        """(status, answer), errors included."""
        req = urllib.request.Request(
            self.url + path, data=body, method="POST",
            headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())


def start_demo(appcored, state_dir, sim_args, err_path):
    """appcored --demo with its simulated board given sim_args: the
    process (stopped at exit, and QEMU with it) and an Api on it."""
    d = subprocess.Popen([appcored, "--demo", "--state-dir", state_dir,
                          "--user", "root", "--listen", "127.0.0.1:0",
                          "--sim-args", sim_args], stdout=subprocess.PIPE,
                         stderr=open(err_path, "w"), text=True)
    atexit.register(d.terminate)
    url = None
    for line in d.stdout:
        m = re.search(r"dashboard on (http://[^/]+)/", line)
        if m:
            url = m.group(1)
            break
    return d, Api(url, open(state_dir + "/api-token").read().strip())


class Rig:
    """A board with slot files, the daemon, the proxy between them."""

    def __init__(self, tmp, appcored, sim_bin, slot_size, rate=200):
        self.tmp, self.appcored, self.sim_bin = tmp, appcored, sim_bin
        self.slot_size, self.rate = slot_size, rate
        self.slots = tmp + "/slots"
        os.makedirs(self.slots, exist_ok=True)
        self.sim_log = tmp + "/sim.err"
        self.procs = []
        self.proxy = Proxy()
        self.board = self.daemon = None
        self.url = None
        self.answered = []      # (method, path, status, body), newest last
        atexit.register(self.stop)

    def start_sim(self):
        out = self.tmp + "/sim.out"
        self.board = subprocess.Popen(
            [self.sim_bin, "--link", "tcp:0", "--rate", str(self.rate),
             "--counters", "8", "--device-id", "upd-board", "--slots",
             self.slots, "--slot-size", str(self.slot_size)],
            stdout=open(out, "w"), stderr=open(self.sim_log, "a"))
        self.procs.append(self.board)
        line = wait_for(lambda: [x for x in open(out).read().split("\n")
                                 if "link tcp" in x], 10)
        self.proxy.target = int(line[0].rsplit(":", 1)[1])

    def kill_sim(self):
        """kill -9: the board loses power."""
        self.board.kill()
        self.board.wait()

    def start_daemon(self):
        out = self.tmp + "/d.out"
        open(out, "w").close()
        self.daemon = subprocess.Popen(
            [self.appcored, "--state-dir", self.tmp + "/state", "--user",
             "root", "--no-autodetect", "--listen", "127.0.0.1:0",
             "--socket", self.tmp + "/d.sock", "--port",
             "tcp://127.0.0.1:%d" % self.proxy.port],
            stdout=open(out, "a"), stderr=open(self.tmp + "/d.err", "a"))
        self.procs.append(self.daemon)
        line = wait_for(lambda: [x for x in open(out).read().split("\n")
                                 if "dashboard on" in x], 10)
        self.url = line[-1].split("dashboard on ")[1].rstrip("/")
        self.token = open(self.tmp + "/state/api-token").read().strip()
        self.env = dict(os.environ, APPCORE_SOCKET=self.tmp + "/d.sock",
                        APPCORE_TOKEN_FILE=self.tmp + "/state/api-token")

    def kill_daemon(self):
        self.daemon.kill()
        self.daemon.wait()

    def core1_lines(self):
        """What the simulator says about core 1's slots, in order."""
        return [x for x in open(self.sim_log).read().split("\n")
                if "runs slot" in x or "boots slot" in x]

    def record(self):
        return record(self.slots)

    def slot_bytes(self, i, n):
        return slot_bytes(self.slots, i, n)

    def get(self, path):
        body = Api(self.url, self.token).get(path)
        self.answered.append(("GET", path, 200, body))
        return body

    def post(self, path, body):
        st, answer = Api(self.url, self.token).post(path, body)
        self.answered.append(("POST", path, st, answer))
        return st, answer

    def newest_sample(self):
        try:
            return self.get("/api/v1/devices/1")["last_sample_us"] or 0
        except Exception:
            return 0

    def flowing(self):
        """The newest stored sample's time moves on by a second (across
        boots too): core 1's counters flow."""
        a = self.newest_sample()
        return wait_for(lambda: self.newest_sample() > a + 1000000,
                        10) is not None

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
