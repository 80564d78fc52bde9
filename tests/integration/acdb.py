"""A connection to appcored's database with the `samples` virtual table:
the loadable extension appcore_samples that the build made (its path in
APPCORE_SQLITE_EXT, set for every test by meson's default test setup),
loaded as docs/storage.md tells users to.  Needs a python3 whose sqlite3
can load extensions (Debian's /usr/bin/python3)."""
import os
import sqlite3
import sys


def connect(path, ro=False, **kw):
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        # A python3 built without it (pyenv's): run the script again
        # under Debian's, which has it.
        if os.path.isfile(sys.argv[0]) and sys.executable != "/usr/bin/python3":
            os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
        raise SystemExit("this python3 cannot load SQLite extensions: "
                         "use /usr/bin/python3")
    ext = os.environ.get("APPCORE_SQLITE_EXT")
    if not ext:
        raise SystemExit("APPCORE_SQLITE_EXT is not set: run this under "
                         "meson test, or point it at appcore_samples.so")
    con = sqlite3.connect("file:%s%s" % (path, "?mode=ro" if ro else ""),
                          uri=True, **kw)
    con.enable_load_extension(True)
    con.load_extension(ext)
    con.enable_load_extension(False)
    return con
