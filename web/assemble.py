#!/usr/bin/env python3
"""Copies the dashboard's files and uPlot into a web root: assemble.py OUTDIR FILE..."""
import os
import shutil
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for f in sys.argv[2:]:
    shutil.copyfile(f, os.path.join(out, os.path.basename(f)))
