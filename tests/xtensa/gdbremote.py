"""Just enough of the GDB remote protocol to read an Xtensa CPU's state
from QEMU's gdbstub (tests/xtensa/exceptions.py, tests/integration/
xtensa_crash.py)."""
import re
import socket
import time


class Gdb:
    """Just enough of the GDB remote protocol for QEMU's gdbstub."""

    def __init__(self, port):
        end = time.time() + 10
        while True:
            try:
                self.s = socket.create_connection(("127.0.0.1", port), 1)
                break
            except OSError:
                if time.time() > end:
                    raise
                time.sleep(0.05)
        self.s.settimeout(30)
        self.buf = b""

    def _packet(self):
        while True:
            m = re.search(rb"\$([^#]*)#[0-9a-fA-F]{2}", self.buf)
            if m:
                self.buf = self.buf[m.end():]
                self.s.sendall(b"+")
                return m.group(1).decode()
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError("gdbstub closed")
            self.buf += chunk

    def cmd(self, body, reply=True):
        data = body.encode()
        self.s.sendall(b"$%s#%02x" % (data, sum(data) & 0xff))
        return self._packet() if reply else None

    def regs(self):
        """The selected CPU's registers by GDB number: QEMU answers 'p'
        only to a GDB that read its target description, which the
        Xtensa stub has none of, so 'g' and its order (XTREG numbers)."""
        hexval = self.cmd("g")
        return [int.from_bytes(bytes.fromhex(hexval[i:i + 8]), "little")
                for i in range(0, len(hexval) - 7, 8)]

    def close(self):
        self.s.close()


# GDB register numbers of QEMU's lx106 (target/xtensa/core-lx106).
REG_PC, REG_SAR, REG_EPC1, REG_EXCSAVE1 = 16, 17, 28, 34
REG_EXCCAUSE, REG_PRID, REG_EXCVADDR = 42, 45, 48


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def mem(g, addr, n):
    """n bytes of guest memory at addr ('m' packets of up to 256)."""
    out = b""
    while len(out) < n:
        k = min(256, n - len(out))
        out += bytes.fromhex(g.cmd("m%x,%x" % (addr + len(out), k)))
    return out
