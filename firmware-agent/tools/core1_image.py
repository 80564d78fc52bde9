#!/usr/bin/env python3
"""Makes the flash image of a core-1 program and stamps it with the
SHA-256 of its ELF, so the image hash the agent reports names that ELF.

usage: core1_image.py [--objcopy PROG] CORE1.ELF OUT.BIN
       core1_image.py --sim BEHAVIOUR OUT.BIN [--size BYTES]

The program is linked to run from the core-1 partition's mapping
(CONFIG_APPCORE_CORE1_VADDR) and starts with struct appcore_core1_header
(appcore_esp.h): entry, magic, 32 bytes; the linker script reserves them.
This runs objcopy -O binary (default xtensa-esp32s3-elf-objcopy), checks
the entry word, writes the magic "AC1I" and the ELF's SHA-256 into the
binary (the ELF itself is not changed), and prints the hash.  Upload the
same ELF to appcored: appcorectl elf add CORE1.ELF.

--sim makes an image for appcore-sim's in-process core 1, which stands
for a program by its behaviour: ok, panic, hang, no-heartbeat or silent
(docs/updates.md).  Its "ELF hash" is the SHA-256 of its text.
"""
import hashlib
import struct
import subprocess
import sys

MAGIC = 0x49314341
BASE = 0x42400000
SIM_BEHAVIOURS = ("ok", "panic", "hang", "no-heartbeat", "silent")


def sim_image(behaviour, out, size):
    """A header, the behaviour line, then filler up to size bytes."""
    if behaviour not in SIM_BEHAVIOURS:
        sys.exit("core1_image.py: --sim: '%s' is none of %s"
                 % (behaviour, ", ".join(SIM_BEHAVIOURS)))
    text = b"appcore-sim image behaviour=" + behaviour.encode() + b"\0"
    body = bytearray(text)
    while len(body) + 40 < size:
        body += hashlib.sha256(bytes(body[-32:])).digest()
    body = body[:max(size - 40, len(text))]
    sha = hashlib.sha256(bytes(body)).digest()
    img = struct.pack("<II", BASE + 40, MAGIC) + sha + bytes(body)
    open(out, "wb").write(img)
    print("%s: %d bytes, appcore-sim image (%s), hash %s"
          % (out, len(img), behaviour, sha.hex()))


def main(argv):
    if argv and argv[0] == "--sim":
        if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--size"):
            sys.exit(__doc__.strip().split("\n\n")[1])
        sim_image(argv[1], argv[2], int(argv[4]) if len(argv) == 5 else 4096)
        return
    objcopy = "xtensa-esp32s3-elf-objcopy"
    if len(argv) >= 2 and argv[0] == "--objcopy":
        objcopy, argv = argv[1], argv[2:]
    if len(argv) != 2:
        sys.exit(__doc__.strip().split("\n\n")[1])
    elf, out = argv
    data = open(elf, "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
        sys.exit("core1_image.py: %s: not a 32-bit little-endian ELF" % elf)
    entry = struct.unpack_from("<I", data, 24)[0]
    subprocess.run([objcopy, "-O", "binary", elf, out], check=True)
    img = bytearray(open(out, "rb").read())
    if len(img) < 40:
        sys.exit("core1_image.py: %s: shorter than its header" % out)
    if struct.unpack_from("<I", img, 0)[0] != entry:
        sys.exit("core1_image.py: the first word (0x%08x) is not the ELF's "
                 "entry (0x%08x): the header must come first"
                 % (struct.unpack_from("<I", img, 0)[0], entry))
    sha = hashlib.sha256(data).digest()
    struct.pack_into("<I", img, 4, MAGIC)
    img[8:40] = sha
    open(out, "wb").write(img)
    print("%s: %d bytes, entry 0x%08x, ELF sha256 %s" % (out, len(img), entry, sha.hex()))


if __name__ == "__main__":
    main(sys.argv[1:])
