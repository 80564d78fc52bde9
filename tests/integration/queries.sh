#!/bin/bash
# Every sqlite3 command in docs/queries.md, run on a database the demo
# produced, must succeed and answer with at least one row.
# usage: queries.sh APPCORED QUERIES_MD
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
doc=$2
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$appcored" --demo --state-dir "$tmp/state" --user root --listen 127.0.0.1:0 \
    --sim-args "--rate 1000 --counters 64 --panic-after 12" > /dev/null 2>&1 &
dpid=$!
sleep 15
kill -TERM $dpid
wait $dpid
check "demo ran and stopped cleanly" [ $? -eq 0 ]
export DB=$tmp/state/appcore.db
python3 - "$doc" > "$tmp/blocks" <<'PY'
import re, sys
for b in re.findall(r"```sh\n(.*?)```", open(sys.argv[1]).read(), re.S)[1:]:
    print(b.strip().replace("\n", " ") + "\0", end="")
PY
i=0
while IFS= read -r -d '' cmd; do
	i=$((i + 1))
	out=$(bash -c "$cmd" 2> "$tmp/err")
	rc=$?
	rows=$(($(printf '%s\n' "$out" | wc -l) - 2))
	check "question $i answers ($rows rows)" [ $rc -eq 0 -a $rows -ge 1 -a ! -s "$tmp/err" ]
	[ -s "$tmp/err" ] && sed 's/^/# /' "$tmp/err"
done < "$tmp/blocks"
check "all 12 questions ran" [ $i -eq 12 ]
finish
