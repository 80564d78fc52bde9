# Shared helpers for the integration tests (TAP output).
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
# A failure goes to stderr too: meson prints a failed test's stderr, so
# CI logs say which check failed.
nok() {
	n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"
	echo "not ok $n - $*" >&2
}
check() { # check "description" command...
	desc=$1
	shift
	if "$@"; then ok "$desc"; else nok "$desc"; fi
}
finish() { echo "1..$n"; [ "$failed" -eq 0 ]; }

# field NAME LINE: the number after NAME in a "name value name value" line
field() { echo "$2" | tr ' ' '\n' | awk -v k="$1" 'p{print; exit} $0==k{p=1}'; }

# wait_line FILE PATTERN SECONDS: wait for a line to appear
wait_line() {
	local i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $(($3 * 10)) ] && return 1
		sleep 0.1
	done
}

# commented: a checker's TAP output as comments of ours, its failures
# copied to stderr (see nok).
commented() {
	while IFS= read -r line; do
		echo "# $line"
		case $line in "not ok"*) echo "# $line" >&2 ;; esac
	done
}

# wait_metric URL NAME MIN SECONDS: wait until a /metrics value is >= MIN
wait_metric() {
	local i=0 v
	while :; do
		v=$(curl -fsS "$1/metrics" 2>/dev/null | awk -v k="$2" '$1 == k {print $2}')
		[ -n "$v" ] && awk -v v="$v" -v m="$3" 'BEGIN {exit !(v >= m)}' && return 0
		i=$((i + 1))
		[ $i -gt $(($4 * 10)) ] && return 1
		sleep 0.1
	done
}

# The samples virtual table in the sqlite3 shell: the extension the build
# made (docs/storage.md, "The sqlite3 shell"); Python scripts load it
# through acdb.py, found on PYTHONPATH.
if [ -n "${APPCORE_SQLITE_EXT:-}" ]; then
	sqlite3() { command sqlite3 -cmd ".load $APPCORE_SQLITE_EXT" "$@"; }
fi
PYTHONPATH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH
