#!/usr/bin/env python3
"""Embeds the migration scripts into a C header: embed.py OUT IN...

Scripts are named NNN-what.sql and numbered 001, 002, ... without gaps;
script N takes the schema from version N-1 to N.  They are emitted as byte
arrays (ISO C limits string literals to 4095 bytes)."""
import re
import sys

out, ins = sys.argv[1], sorted(sys.argv[2:])
with open(out, "w") as f:
    f.write("/* Generated from the sql/ directory by sql/embed.py. */\n")
    for i, path in enumerate(ins, 1):
        m = re.match(r"(?:.*/)?(\d+)-[^/]*\.sql$", path)
        if not m or int(m.group(1)) != i:
            sys.exit("embed.py: %s: migrations must be numbered 001, 002, ..." % path)
        data = open(path, "rb").read() + b"\0"
        f.write("static const char sql_migration_%d[] = {\n" % i)
        for k in range(0, len(data), 16):
            f.write("\t" + ", ".join(str(b) for b in data[k:k + 16]) + ",\n")
        f.write("};\n")
    f.write("static const char *const sql_migrations[] = {\n")
    for i in range(1, len(ins) + 1):
        f.write("\tsql_migration_%d,\n" % i)
    f.write("};\n#define SQL_SCHEMA_VERSION %d\n" % len(ins))
