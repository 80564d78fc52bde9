#!/bin/bash
# A hostile link between appcore-sim and appcored (frame_proxy.py), one
# case per invocation; every case ends with check_db.py: nothing wrong
# stored, and for each boot produced = stored + lost exactly.
#   hello    the first HELLO of each connection lost, a cut at 3 s
#   desc     the first two descriptor sets of each connection lost (the
#            agent's answers to the link's HELLO at open and to a second
#            ask the session may make before HELLO arrives; 64 counters
#            are 4 DESC frames a set), a cut at 3 s: the host must notice
#            the incomplete set itself and say so
#   replay   frames replayed 100 ms later, duplicated, swapped: all stored,
#            every repeat counted as a duplicate, no loss
#   mixed    60 s at 1 kHz x 64 with 2 % of frames dropped, duplicated,
#            replayed, swapped, flipped, padded with garbage or split
#   reboots  100 restarts of the board on the same port, 0.05-1 s apart:
#            every boot stores within 2 s of its start
# usage: link_faults.sh CASE APPCORED APPCORE_SIM
set -u
. "$(dirname "$0")/lib.sh"
case=$1
appcored=$2
sim=$3
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
db=$tmp/state/appcore.db

q() { sqlite3 "$db" "$1"; }

start_sim() { # start_sim OUTFILE ARGS...
	out=$1
	shift
	"$sim" --quiet --link tcp:${port:-0} "$@" > "$out" &
	simpid=$!
	wait_line "$out" 'link ' 10
	port=$(awk '/link tcp/{print $4}' "$out" | cut -d: -f2)
}

start_proxy() { # start_proxy RULES...
	python3 "$here/frame_proxy.py" 0 "$port" "$@" > "$tmp/proxy" &
	wait_line "$tmp/proxy" listening 10
	pport=$(awk '/listening/{print $3}' "$tmp/proxy")
}

start_daemon() {
	"$appcored" --state-dir "$tmp/state" --no-autodetect \
	    --listen 127.0.0.1:0 --user root -v "$@" >> "$tmp/d.out" 2>&1 &
	dpid=$!
}

stop_daemon() {
	kill -TERM $dpid
	wait $dpid
	check "appcored stopped cleanly" [ $? -eq 0 ]
}

proxy_sum() { # proxy_sum FIELD: summed over the proxy's connections
	awk -v k="$1" '/^proxy: frames/ { for (i = 2; i < NF; i++)
	    if ($i == k) s += $(i + 1) } END { print s + 0 }' "$tmp/proxy"
}

# One run of the simulator through the proxy; check_db.py options follow.
run_one() { # run_one SECONDS "PROXY RULES" CHECK_DB_OPTIONS...
	secs=$1 rules=$2
	shift 2
	start_sim "$tmp/s1" --rate 1000 --counters 64 --duration "$secs" \
	    --truth "$tmp/t1"
	# shellcheck disable=SC2086
	start_proxy $rules
	start_daemon --port "tcp://127.0.0.1:$pport"
	wait $simpid
	wait_line "$tmp/proxy" 'proxy: frames' 10
	wait_line "$tmp/d.out" 'link down' 10
	stop_daemon
	sed 's/^/# /' "$tmp/proxy"
	q "SELECT 'event ' || kind || ': ' || sum(count) || ' (' || max(detail) || ')' FROM events GROUP BY kind" | sed 's/^/# /'
	python3 "$here/check_db.py" "$db" sim-0 "$tmp/t1" --accounting "$@" |
	    tee "$tmp/check" | commented
	check "check_db.py: nothing wrong stored, each boot accounted for" \
	    [ "${PIPESTATUS[0]}" -eq 0 ]
}

case $case in
hello)
	run_one 7 "drop:HELLO:1 cut:3" --subset --max-gap-ms=1500
	check "the host asked for HELLO and said why" \
	    [ "$(q "SELECT count(*) FROM events WHERE kind = 'asked' AND detail LIKE 'asked for HELLO%'")" -ge 1 ]
	;;
desc)
	run_one 7 "dropset:1-2 cut:3" --subset --max-gap-ms=1500
	check "the host asked for HELLO and DESC and said why" \
	    [ "$(q "SELECT count(*) FROM events WHERE kind = 'asked' AND detail LIKE '%descriptor%'")" -ge 1 ]
	;;
replay)
	run_one 10 "replay:SAMPLES:50 dup:SAMPLES:70 swap:SAMPLES:90 replay:KEY:1 dup:HELLO:1 dup:DESC:2" \
	    --subset --max-gap-ms=0
	repeats=$(( $(proxy_sum duplicated) + $(proxy_sum replayed) ))
	dups=$(q "SELECT coalesce(sum(count), 0) FROM events WHERE kind IN ('duplicate', 'stale')")
	check "every repeated frame ignored and counted as a duplicate, or as stale when too old to place ($dups of $repeats)" \
	    [ "$dups" -eq "$repeats" ]
	check "no sequence gap told: swapped frames are late, not lost" \
	    [ "$(q "SELECT count(*) FROM events WHERE kind = 'seq-gap'")" -eq 0 ]
	check "samples-lost events add up to the boot's lost samples (all before the host connected)" \
	    [ "$(q "SELECT coalesce(sum(count), 0) FROM events WHERE kind = 'samples-lost'")" -eq "$(q "SELECT samples_produced - samples_stored FROM boots")" ]
	check "duplicate samples counted on the boot" \
	    [ "$(q "SELECT samples_dup FROM boots")" -gt 0 ]
	;;
mixed)
	run_one 60 "mixed:20 --seed 9" --subset
	damaged=$(proxy_sum damaged_samples)
	lost=$(awk '/lost after the first stored sample/{print $NF}' "$tmp/check")
	echo "# $damaged samples in damaged or dropped frames; $lost lost once storing began"
	# Faults hit every kind of frame alike here, the SAMPLES_REF answers
	# too, and how much a lost answer costs depends on how fast the host
	# answers (2.6 times on the CI machine, 1.9 here); bench/link_loss.sh
	# measures the 1.5 target on a noisy line.  Waiting for key frames
	# instead costs about 36 times.
	check "lost samples are those of damaged frames, at most 4 times ($lost, $damaged)" \
	    [ "$lost" -le $((damaged * 4)) ]
	;;
reboots)
	# A port below the ephemeral range: the daemon's own connects (every
	# 200 ms while the board is away) never take it as their source.
	port=$(python3 - <<'EOF2'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
while True:
    p = random.randrange(10000, low)
    try:
        s = socket.socket()
        s.bind(("127.0.0.1", p))
        s.close()
        print(p)
        break
    except OSError:
        pass
EOF2
)
	start_daemon --port "tcp://127.0.0.1:$port"
	truths=()
	nboots=${APPCORE_REBOOTS:-100}
	for i in $(seq 1 "$nboots"); do
		dur=$(python3 -c "import random; random.seed($i); print(round(random.uniform(1.0, 2.0), 2))")
		gap=$(python3 -c "import random; random.seed(1000 + $i); print(round(random.uniform(0.05, 1.0), 2))")
		start_sim "$tmp/s$i" --rate 1000 --counters 16 --duration "$dur" \
		    --truth "$tmp/t$i"
		wait $simpid
		truths+=("$tmp/t$i")
		sleep "$gap"
	done
	wait_line "$tmp/d.out" 'link down' 10
	stop_daemon
	python3 "$here/check_db.py" "$db" sim-0 "${truths[@]}" --subset --accounting | commented
	check "check_db.py: nothing wrong stored over $nboots boots, each accounted for" \
	    [ "${PIPESTATUS[0]}" -eq 0 ]
	late=$(/usr/bin/python3 - "$db" "${truths[@]}" <<'EOF'
import sys
import acdb
con = acdb.connect(sys.argv[1])
boots = con.execute("SELECT id, started FROM boots b WHERE EXISTS (SELECT 1 "
                    "FROM clock WHERE boot_id = b.id) ORDER BY first_seen").fetchall()
late = 0
for (bid, started), truth in zip(boots, sys.argv[2:]):
    wall0 = int(open(truth + ".clock").read())
    first = con.execute("SELECT min(s.t) FROM samples s JOIN counters c ON "
                        "c.id = s.counter_id WHERE s.t >= ? AND s.t < ? + 3000000",
                        (wall0, wall0)).fetchone()[0]
    if first is None or first - wall0 > 2000000:
        late += 1
        print("# boot %d: first sample stored %s s after its start" %
              (bid, None if first is None else (first - wall0) / 1e6))
print(late)
EOF
)
	echo "$late" | grep '^#'
	check "every one of $nboots boots stored samples within 2 s of its start" \
	    [ "$(echo "$late" | tail -1)" -eq 0 ]
	check "$nboots boots recorded" [ "$(q "SELECT count(*) FROM boots")" -eq "$nboots" ]
	;;
*)
	echo "usage: link_faults.sh hello|desc|replay|mixed|reboots APPCORED SIM" >&2
	exit 2
	;;
esac
finish
