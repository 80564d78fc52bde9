#!/bin/bash
# Faults around appcored, one per invocation:
#   reconnect  the board disappears and comes back under another name
#   corrupt    bit errors and garbage on the link
#   kill9      kill -9 of the daemon during ingest, then a restart
#   diskfull   the file system fills up, then space returns
#   config     configuration errors
#   multi      several boards at once, serial and TCP
#   privdrop   started as root, runs as another user
# usage: daemon_faults.sh FAULT APPCORED APPCORE_SIM SHIM BLOB_GET
set -u
. "$(dirname "$0")/lib.sh"
fault=$1
appcored=$2
sim=$3
shim=$4
blob_get=$5
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -f /dev/appcore-test-$$-*; rm -rf "$tmp"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-}:verify_asan_link_order=0
db=$tmp/state/appcore.db

q() { sqlite3 "$db" "$1"; }

start_sim() { # start_sim OUTFILE ARGS...
	out=$1
	shift
	"$sim" --quiet "$@" > "$out" &
	simpid=$!
	wait_line "$out" 'link ' 10
}

start_daemon() {
	LD_PRELOAD=$shim "$appcored" --state-dir "$tmp/state" --no-autodetect --listen 127.0.0.1:0 \
	    --user root -v "$@" >> "$tmp/d.out" 2>&1 &
	dpid=$!
}

stop_daemon() {
	kill -TERM $dpid
	wait $dpid
	check "appcored stopped cleanly" [ $? -eq 0 ]
}

case $fault in
reconnect)
	# A board on /dev/appcore-test-$$-a is unplugged; it comes back as
	# -b (re-enumerated).  The daemon watches the glob.
	start_sim "$tmp/s1" --link pty --rate 200 --counters 16 --duration 3 \
	    --device-id board-7 --truth "$tmp/t1"
	ln -s "$(awk '/link pty/{print $4}' "$tmp/s1")" /dev/appcore-test-$$-a
	start_daemon --port "/dev/appcore-test-$$-*"
	wait $simpid
	rm -f /dev/appcore-test-$$-a
	wait_line "$tmp/d.out" 'link down' 10
	check "unplug noticed" grep -q 'link down: hang-up' "$tmp/d.out"
	sleep 1
	start_sim "$tmp/s2" --link pty --rate 200 --counters 16 --duration 3 \
	    --device-id board-7 --truth "$tmp/t2"
	ln -s "$(awk '/link pty/{print $4}' "$tmp/s2")" /dev/appcore-test-$$-b
	wait $simpid
	wait_line "$tmp/d.out" "appcore-test-$$-b: link down" 10
	stop_daemon
	check "the new port was found by the glob" grep -q "appcore-test-$$-b: matched link" "$tmp/d.out"
	check "one device, recognised by its id" [ "$(q "SELECT count(*) FROM devices")" = 1 ]
	check "two boots: a new session" [ "$(q "SELECT count(*) FROM boots WHERE device_id = 1")" = 2 ]
	check "link down and up are events" [ "$(q "SELECT count(*) FROM events WHERE kind IN ('link-down', 'link-up')")" -ge 4 ]
	python3 "$here/check_db.py" "$db" board-7 "$tmp/t1" "$tmp/t2" --no-loss-events | commented
	check "both runs stored completely (check_db.py above)" [ ${PIPESTATUS[0]} -eq 0 ]
	;;
corrupt)
	start_sim "$tmp/s1" --link tcp:0 --rate 1000 --counters 32 --duration 8 \
	    --truth "$tmp/t1"
	port=$(awk '/link tcp/{print $4}' "$tmp/s1" | cut -d: -f2)
	python3 "$here/corrupt_proxy.py" 0 "$port" 7 > "$tmp/proxy" &
	wait_line "$tmp/proxy" listening 10
	pport=$(awk '/listening/{print $3}' "$tmp/proxy")
	start_daemon --port "tcp://127.0.0.1:$pport"
	wait $simpid
	wait_line "$tmp/proxy" 'bit flips' 10
	sleep 0.5
	stop_daemon
	sed 's/^/# /' "$tmp/proxy"
	errs=$(q "SELECT coalesce(sum(count), 0) FROM events WHERE kind IN ('crc-error', 'framing-error')")
	check "corrupted frames counted as events ($errs)" [ "$errs" -gt 0 ]
	lost=$(q "SELECT coalesce(sum(count), 0) FROM events WHERE kind = 'samples-lost'")
	check "the samples they carried are counted lost ($lost)" [ "$lost" -gt 0 ]
	python3 "$here/check_db.py" "$db" sim-0 "$tmp/t1" --subset | commented
	check "nothing wrong stored: every stored sample equals the truth" [ ${PIPESTATUS[0]} -eq 0 ]
	;;
kill9)
	start_sim "$tmp/s1" --link pty --rate 1000 --counters 64 --duration 14 \
	    --truth "$tmp/t1"
	pty=$(awk '/link pty/{print $4}' "$tmp/s1")
	start_daemon --port "$pty"
	# Killed once a snapshot (taken at connect) and samples are committed.
	i=0
	until [ -n "$(q "SELECT blob_key FROM snapshots LIMIT 1" 2>/dev/null)" ] &&
	    [ "$(q "SELECT count(*) FROM samples" 2>/dev/null)" -gt 1000 ]; do
		i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
	done
	before=$(q "SELECT count(*) FROM samples")
	snap=$(q "SELECT blob_key FROM snapshots ORDER BY t DESC LIMIT 1")
	kill -9 $dpid
	wait $dpid 2>/dev/null
	echo "# killed with $before counter-samples committed"
	sleep 2		# the daemon stays down a while: a gap to account for
	start_daemon --port "$pty"
	wait $simpid
	wait_line "$tmp/d.out" 'link down' 10
	stop_daemon
	check "PRAGMA integrity_check is ok" [ "$(q "PRAGMA integrity_check")" = ok ]
	after=$(q "SELECT count(*) FROM samples")
	check "no committed data lost ($before before the kill, $after after)" [ "$after" -ge "$before" ]
	check "the restart is seen as the same boot" [ "$(q "SELECT count(*) FROM boots")" = 1 ]
	check "the gap is an event" [ "$(q "SELECT count(*) FROM events WHERE kind = 'gap'")" -ge 1 ]
	restarted=$(q "SELECT max(t) FROM events WHERE kind = 'daemon-start'")
	again=$(q "SELECT blob_key FROM snapshots WHERE t > $restarted ORDER BY t LIMIT 1")
	"$blob_get" "$tmp/state/blobs.gdbm" "$again" > "$tmp/again.bin" 2>/dev/null
	check "gdbm opened again: a snapshot taken after the restart is in it (${again:0:16})" \
	    bash -c "[ -n '$again' ] && [ \$(sha256sum < '$tmp/again.bin' | cut -c1-64) = '$again' ]"
	python3 "$here/check_db.py" "$db" sim-0 "$tmp/t1" --subset | commented
	check "everything stored equals the truth" [ ${PIPESTATUS[0]} -eq 0 ]
	"$blob_get" "$tmp/state/blobs.gdbm" "$snap" > "$tmp/snap.bin"
	check "the snapshot taken before the kill is found again (${snap:0:16})" \
	    bash -c "[ -n '$snap' ] && [ \$(stat -c %s '$tmp/snap.bin') = 131072 ] && [ \$(sha256sum < '$tmp/snap.bin' | cut -c1-64) = '$snap' ] && [ \$(head -c 4 '$tmp/snap.bin') = AC1R ]"
	latest=$(q "SELECT blob_key FROM snapshots WHERE device_id = 1 ORDER BY t DESC LIMIT 1")
	"$blob_get" "$tmp/state/blobs.gdbm" "$latest" > "$tmp/latest.bin"
	check "the latest snapshot of the device after the restart is readable" \
	    [ "$(stat -c %s "$tmp/latest.bin")" = 131072 ]
	;;
multi)
	start_sim "$tmp/s1" --link pty --rate 500 --counters 32 --duration 6 \
	    --device-id board-a --truth "$tmp/ta"
	p1=$simpid
	# Three boards and an ASan daemon on two cores: board-b at half the
	# wire rate of daemon-ingest's (which keeps 1 kHz x 64 alone), as it
	# dropped 42 samples in its agent once on the CI machine.
	start_sim "$tmp/s2" --link pty --rate 1000 --counters 32 --duration 6 \
	    --device-id board-b --truth "$tmp/tb" --seed 2
	p2=$simpid
	start_sim "$tmp/s3" --link tcp:0 --rate 100 --counters 16 --duration 6 \
	    --device-id board-c --truth "$tmp/tc" --seed 3
	p3=$simpid
	start_daemon --port "$(awk '/link pty/{print $4}' "$tmp/s1")" \
	    --port "$(awk '/link pty/{print $4}' "$tmp/s2")" \
	    --port "tcp://$(awk '/link tcp/{print $4}' "$tmp/s3")"
	wait $p1 $p2
	sleep 1
	stop_daemon
	check "three devices" [ "$(q "SELECT count(*) FROM devices")" = 3 ]
	for b in a b; do
		python3 "$here/check_db.py" "$db" board-$b "$tmp/t$b" --no-loss-events | commented
		check "board-$b (serial) stored completely" [ ${PIPESTATUS[0]} -eq 0 ]
	done
	python3 "$here/check_db.py" "$db" board-c "$tmp/tc" --subset | commented
	check "board-c (TCP, from when it was reached) stored correctly" [ ${PIPESTATUS[0]} -eq 0 ]
	;;
privdrop)
	chmod 755 "$tmp"
	start_sim "$tmp/s1" --link tcp:0 --rate 100 --counters 8 --duration 4
	"$appcored" --state-dir "$tmp/state" --no-autodetect --user nobody --listen 127.0.0.1:0 \
	    --port "tcp://$(awk '/link tcp/{print $4}' "$tmp/s1")" > "$tmp/d.out" 2>&1 &
	dpid=$!
	sleep 2
	uid=$(awk '/^Uid:/{print $2 $3 $4 $5}' /proc/$dpid/status)
	check "started as root, runs as nobody (uid $uid)" [ "$uid" = 65534655346553465534 ]
	check "no supplementary root group" bash -c "! awk '/^Groups:/' /proc/$dpid/status | grep -qw 0"
	wait $simpid
	stop_daemon
	check "the database belongs to nobody" [ "$(stat -c %U "$db")" = nobody ]
	check "and holds the samples" [ "$(q "SELECT count(*) FROM samples")" -gt 1000 ]
	;;
diskfull)
	# A private mount namespace: the small file system goes with us.
	exec unshare --mount --propagation private bash -c '
	. "'"$here"'/lib.sh"
	tmp='"$tmp"'; db=$tmp/state/appcore.db
	mkdir -p "$tmp/state"
	mount -t tmpfs -o size=24m tmpfs "$tmp/state" || { echo "not ok 1 - mount tmpfs"; exit 1; }
	"'"$sim"'" --quiet --link pty --rate 200 --counters 64 --duration 40 \
	    --truth "$tmp/t1" > "$tmp/s1" &
	simpid=$!
	wait_line "$tmp/s1" "link pty" 10
	LD_PRELOAD='"$shim"' "'"$appcored"'" --state-dir "$tmp/state" \
	    --no-autodetect --user root -v --listen 127.0.0.1:0 --port "$(awk "/link pty/{print \$4}" "$tmp/s1")" \
	    > "$tmp/d.out" 2>&1 &
	dpid=$!
	wait_line "$tmp/d.out" "dashboard on" 20
	url=$(sed -n "s|.*dashboard on \\(http://[^/]*\\)/.*|\\1|p" "$tmp/d.out")
	wait_metric "$url" appcored_samples_stored_total 1000 30
	check "samples were being stored before the disk filled" [ $? -eq 0 ]
	dd if=/dev/zero of="$tmp/state/filler" bs=64k 2>/dev/null
	echo "# file system full: $(df -h "$tmp/state" | tail -1)"
	wait_line "$tmp/d.out" "database writes failing" 20
	check "writes pause when the disk is full" grep -q "database writes failing" "$tmp/d.out"
	# Several failed retries (one a second) while the board keeps sending.
	wait_metric "$url" appcored_commit_failures_total 4 30
	check "the daemon is still up and reading" kill -0 $dpid
	rm -f "$tmp/state/filler"
	wait_line "$tmp/d.out" "database writes resumed" 20
	check "writes resume when space returns" grep -q "database writes resumed" "$tmp/d.out"
	wait $simpid
	wait_line "$tmp/d.out" "link down" 10
	kill -TERM $dpid; wait $dpid
	check "appcored stopped cleanly" [ $? -eq 0 ]
	check "PRAGMA integrity_check is ok" [ "$(sqlite3 "$db" "PRAGMA integrity_check")" = ok ]
	check "the pause is recorded as events" [ "$(sqlite3 "$db" "SELECT count(*) FROM events WHERE kind IN (\"writes-paused\", \"writes-resumed\")")" = 2 ]
	python3 "'"$here"'/check_db.py" "$db" sim-0 "$tmp/t1" | commented
	check "nothing lost: the held rows were written after the pause" [ ${PIPESTATUS[0]} -eq 0 ]
	finish'
	;;
config)
	mkdir -p "$tmp/state"
	printf '[link]\nport = /dev/ttyACM0\n\n[storage]\nbudget = 2X\n' > "$tmp/bad.conf"
	"$appcored" --config "$tmp/bad.conf" --check-config > /dev/null 2> "$tmp/err"
	rc=$?
	check "a bad value: exit 2 ($rc), the message names file and line: $(cat "$tmp/err")" \
	    bash -c "[ $rc -eq 2 ] && grep -q 'bad.conf:5: budget' '$tmp/err'"
	printf '[daemon]\nstate_dir = /x\n[nonsense]\nfoo = 1\n' > "$tmp/bad2.conf"
	"$appcored" --config "$tmp/bad2.conf" --check-config > /dev/null 2> "$tmp/err"
	rc=$?
	check "an unknown section names its line: $(cat "$tmp/err")" \
	    bash -c "[ $rc -eq 2 ] && grep -q 'bad2.conf:4: unknown section \[nonsense\]' '$tmp/err'"
	printf '[link]\nthis is not ini\n' > "$tmp/bad3.conf"
	"$appcored" --config "$tmp/bad3.conf" --check-config > /dev/null 2> "$tmp/err"
	rc=$?
	check "a syntax error names its line: $(cat "$tmp/err")" \
	    bash -c "[ $rc -eq 2 ] && grep -q 'bad3.conf:2:' '$tmp/err'"
	"$appcored" --config "$tmp/missing.conf" > /dev/null 2> "$tmp/err"
	check "a missing --config file is an error" bash -c "[ $? -eq 2 ] && grep -q 'No such file' '$tmp/err'"
	"$appcored" --rate 5000 --check-config > /dev/null 2> "$tmp/err"
	check "a bad option value: $(cat "$tmp/err")" grep -q -- '--rate' "$tmp/err"
	"$appcored" --bogus > /dev/null 2>&1
	check "an unknown option: exit 2" [ $? -eq 2 ]
	"$appcored" -o link.restart_policy=sometimes --check-config > /dev/null 2> "$tmp/err"
	rc=$?
	check "a bad restart policy: $(cat "$tmp/err")" \
	    bash -c "[ $rc -eq 2 ] && grep -q 'restart_policy: .sometimes. is not agent, never, always or 1..16' '$tmp/err'"
	for bad in "url = ftp://x/" "url = http://h:8123/?user=x" "database = app-core" \
	    "batch_interval = 10ms" "queue = 100K" "create_tables = maybe" "port = 1"; do
		printf '[clickhouse]\n%s\n' "$bad" > "$tmp/bad4.conf"
		"$appcored" --config "$tmp/bad4.conf" --check-config > /dev/null 2> "$tmp/err"
		rc=$?
		check "[clickhouse] $bad: exit 2, $(cat "$tmp/err")" \
		    bash -c "[ $rc -eq 2 ] && grep -q 'bad4.conf:2: ' '$tmp/err'"
	done
	printf '[daemon]\nlog_level = info\n[link]\nport = tcp://127.0.0.1:1\nport = /dev/ttyACM*\nbaud = 460800\nframing = 8E1\nrestart_policy = 3\n[storage]\nraw_window = 6h\npartition = 5m\nbudget = 500M\n[http]\nlisten = 127.0.0.1:9000\n[clickhouse]\nurl = http://127.0.0.1:8123/\ndatabase = lab_7\nuser = appcore\npassword = s3cret\nbatch_interval = 2s\nqueue = 1G\ncreate_tables = no\n' > "$tmp/good.conf"
	check "a good configuration passes --check-config" \
	    bash -c "'$appcored' --config '$tmp/good.conf' --check-config > /dev/null"
	# SIGHUP: a broken file keeps the running configuration.
	start_daemon --config "$tmp/good.conf" --snapshot-interval 0
	sleep 1
	cp "$tmp/bad.conf" "$tmp/good.conf"
	kill -HUP $dpid
	sleep 1
	check "reload with an error keeps running, says why" \
	    bash -c "kill -0 $dpid && grep -q 'reload: .*good.conf:5: budget' '$tmp/d.out'"
	printf '[link]\nport = tcp://127.0.0.1:2\n' > "$tmp/good.conf"
	kill -HUP $dpid
	sleep 1
	check "reload applies a good file" bash -c "grep -q 'configuration reloaded' '$tmp/d.out' && grep -q 'tcp://127.0.0.1:1: removed' '$tmp/d.out'"
	stop_daemon
	;;
*)
	echo "unknown fault $fault"
	exit 2
	;;
esac
finish
