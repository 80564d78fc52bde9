#!/bin/bash
# Every command in docs/queries.md, on a database holding an hour of 1 kHz
# x 16 history (extend_history.py writes it before what the demo stored:
# its boot, crash, logs, states, events), run twice: with sqlite3 as
# documented, and with each sqlite3 call going through `appcorectl query`
# to a running appcored, whose API stops any query after 2 s.  Each must
# answer with at least one row; some answers are checked for what they say.
# usage: queries.sh APPCORED APPCORECTL QUERIES_MD
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
ctl=$2
doc=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

"$appcored" --demo --state-dir "$tmp/state" --user root --listen 127.0.0.1:0 \
    --sim-args "--rate 1000 --counters 16 --panic-after 8" > "$tmp/out" 2>&1 &
dpid=$!
wait_line "$tmp/out" "dashboard on" 20
url=$(grep -o 'http://[^/]*' "$tmp/out")
# The crash and its dump, then stop.
for _ in $(seq 300); do
	curl -sf "$url/api/v1/crashes" | grep -q '"dump_sha256":"' && break
	sleep 0.1
done
kill -TERM $dpid
wait $dpid
check "the demo ran to its crash and stopped cleanly" [ $? -eq 0 ]
export DB=$tmp/state/appcore.db
python3 "$here/extend_history.py" "$DB" 1
check "an hour of history added before it, as the previous schema kept it" \
    [ "$(sqlite3 "$DB" "SELECT count(*) FROM partitions WHERE t_end - t_start = 600000000")" -ge 6 ]
# appcored converts it into sample blocks as it opens the database.
parts=$(sqlite3 "$DB" "SELECT group_concat('(SELECT count(*) FROM ' || name || ')', ' + ') FROM partitions")
before=$(sqlite3 "$DB" "SELECT (SELECT count(*) FROM samples) + $parts")
"$appcored" --state-dir "$tmp/state" --user root --no-autodetect \
    --listen 127.0.0.1:0 > "$tmp/out1" 2>&1 &
dpid=$!
wait_line "$tmp/out1" "dashboard on" 300
kill -TERM $dpid
wait $dpid
check "the partitions converted into blocks: $before samples, as many after ($(sqlite3 "$DB" "SELECT count(*) FROM samples"))" \
    [ "$(sqlite3 "$DB" "SELECT count(*) FROM partitions") $(sqlite3 "$DB" "SELECT count(*) FROM samples")" = "0 $before" ]
# docs/queries.md's sqlite3 loads the samples table's extension (lib.sh).
export -f sqlite3

python3 - "$doc" > "$tmp/blocks" <<'PY'
import re, sys
for b in re.findall(r"```sh\n(.*?)```", open(sys.argv[1]).read(), re.S)[1:]:
    print(b.strip() + "\0", end="")
PY

# rows OUTFILE HEADER_LINES: the answer's rows.
rows() { echo $(($(grep -c . "$1") - $2)); }

i=0
while IFS= read -r -d '' cmd; do
	i=$((i + 1))
	timeout 60 bash -c "$cmd" > "$tmp/q$i" 2> "$tmp/err"
	rc=$?
	check "question $i with sqlite3 answers ($(rows "$tmp/q$i" 2) rows)" \
	    [ $rc -eq 0 -a "$(rows "$tmp/q$i" 2)" -ge 1 -a ! -s "$tmp/err" ]
	sed 's/^/# /' "$tmp/err"
done < "$tmp/blocks"
check "all 12 questions ran" [ $i -eq 12 ]

# The same commands through the API: sqlite3 becomes appcorectl query
# (its header line only where -header asked for one).
"$appcored" --state-dir "$tmp/state" --user root --no-autodetect \
    --listen 127.0.0.1:0 --socket "$tmp/sock" > "$tmp/out2" 2>&1 &
dpid=$!
wait_line "$tmp/out2" "dashboard on" 30
export CTL=$ctl SOCK=$tmp/sock
sqlite3() {
	local sql=${*: -1}
	case " $* " in
	*" -header "*) "$CTL" --socket "$SOCK" query "$sql" ;;
	*) "$CTL" --socket "$SOCK" query "$sql" | tail -n +2 ;;
	esac
	return "${PIPESTATUS[0]}"
}
export -f sqlite3
i=0
while IFS= read -r -d '' cmd; do
	i=$((i + 1))
	bash -c "set -o pipefail; $cmd" > "$tmp/a$i" 2> "$tmp/err"
	rc=$?
	check "question $i through the API within its 2 s ($(rows "$tmp/a$i" 1) rows)" \
	    [ $rc -eq 0 -a "$(rows "$tmp/a$i" 1)" -ge 1 -a ! -s "$tmp/err" ]
	sed 's/^/# /' "$tmp/err"
done < "$tmp/blocks"
unset -f sqlite3

# What some answers say.
check "3: counters in their board's order (ch2 before ch10), not by name" \
    [ "$(awk 'NR > 2 {print $1}' "$tmp/q3" | head -3 | tr '\n' ' ')" = "audio.frames audio.blocks audio.underruns " ]
check "6: the last second before the crash: 5 counters, as many samples each, at most 1 001 at 1 kHz" \
    eval '[ "$(rows "$tmp/q6" 2)" -eq 5 ] && [ "$(awk "NR > 2 {print \$3}" "$tmp/q6" | sort -u | wc -l)" -eq 1 ] &&
    awk "NR > 2 && (\$3 < 1 || \$3 > 1001) {bad = 1} END {exit bad}" "$tmp/q6"'
check "8: the panic's state change, its detail empty (not a bare 0)" \
    eval 'grep -q "|running|panicked|" "$tmp/a8" && awk -F"|" "NR > 1 && \$6 != \"\" {bad = 1} END {exit bad}" "$tmp/a8"'
last=$(command sqlite3 "$DB" "SELECT max(t) FROM rollup_1s r JOIN counter_names n USING (counter_id) WHERE n.counter = 'audio.frames'")
newest=$(command sqlite3 "$DB" "SELECT strftime('%Y-%m-%d %H:%M:%S', $last / 1000000, 'unixepoch')")
check "10: the newest, partial second is left out ($newest)" \
    eval '! grep -q "^$newest" "$tmp/q10" && [ "$(rows "$tmp/q10" 2)" -eq 10 ]'
kill -TERM $dpid
wait $dpid
finish
