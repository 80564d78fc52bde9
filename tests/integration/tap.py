"""TAP output, condition waits and free loopback ports for the Python
integration tests."""
import socket
import sys
import time

n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    if not ok:
        failed += 1
    print("%s %d - %s" % ("ok" if ok else "not ok", n, what), flush=True)
    if not ok:      # meson prints a failed test's stderr: CI logs say which
        print("not ok %d - %s" % (n, what), file=sys.stderr, flush=True)


def wait_for(pred, secs, step=0.05):
    """pred's first true value within secs, else None."""
    end = time.time() + secs
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on (for a server we start)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def finish():
    print("1..%d" % n)
    sys.exit(1 if failed else 0)
