#!/bin/bash
# Crash dumps frozen by the agent and sent in acknowledged chunks: the
# report within 1 s of the panic plus the dump's transfer time; the link
# cut in the middle of a dump and restored still gives one complete,
# verified dump; a crash kept in the board's crash store across a reset
# is delivered when a host next connects; a daemon killed mid-dump goes
# on from its partial file; a hang's dump; the restart policy; the ELF
# core file's segment.  Every dump
# is compared with the region the simulator froze (--dump-truth).
# The simulator, the real daemon, appcorectl.  TAP output.
#
# usage: crash_dump.sh APPCORED APPCORE_SIM APPCORECTL
set -u
here=$(dirname "$0")
. "$here/lib.sh"
appcored=$1
sim=$2
ctl=$3
tmp=$(mktemp -d)
pids=
trap 'kill $pids 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

crashes() { "$ctl" --json crash list 2>/dev/null; }
# wait_dumps N SECONDS: until N crashes have their dump
wait_dumps() {
	for _ in $(seq $(($2 * 10))); do
		crashes | python3 -c "
import json,sys; c=json.load(sys.stdin)['crashes']
sys.exit(0 if sum(1 for x in c if x['dump_sha256']) >= $1 else 1)" \
		    2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# same_as_truth ID TRUTH [INDEX]: the raw dump of crash ID is the INDEX-th
# region the simulator froze, and its SHA-256 is the one the agent sent
same_as_truth() {
	"$ctl" crash get "$1" --format raw -o "$tmp/got.bin" >/dev/null &&
	python3 - "$tmp/got.bin" "$2" "${3:-0}" "$(crashes)" "$1" <<'EOF'
import hashlib, json, sys
got = open(sys.argv[1], 'rb').read()
t = open(sys.argv[2], 'rb').read()
dumps = []
while t:
    line, t = t.split(b'\n', 1)
    _id, sha, size = line.split()
    dumps.append((sha.decode(), t[:int(size)]))
    t = t[int(size):]
sha, data = dumps[int(sys.argv[3])]
c = [x for x in json.loads(sys.argv[4])['crashes'] if x['id'] == int(sys.argv[5])][0]
assert got == data, 'dump bytes differ from the frozen region'
assert hashlib.sha256(got).hexdigest() == sha == c['dump_sha256'], (sha, c)
assert c['dump_size'] == len(got)
EOF
}

# slow_link SIM_OUT NAME DOWN: a 16 kB/s proxy (cut_proxy.py) in front
# of the simulator that wrote SIM_OUT; sets pport and ppid
slow_link() {
	local sport
	wait_line "$1" "link tcp" 10
	sport=$(grep -o '127.0.0.1:[0-9]*' "$1" | head -1 | cut -d: -f2)
	python3 "$here/cut_proxy.py" 0 "$sport" 16000 "$3" > "$tmp/$2.out" 2>&1 &
	ppid=$!
	pids="$pids $ppid"
	wait_line "$tmp/$2.out" "listening" 10
	pport=$(sed -n 's/proxy: listening //p' "$tmp/$2.out")
}
# daemon_on NAME ADDR: appcored with its state in $tmp/NAME, reading
# tcp://ADDR, talking on $tmp/NAME.sock (APPCORE_SOCKET); sets dpid
daemon_on() {
	"$appcored" --state-dir "$tmp/$1" --user root --no-autodetect \
	    --listen 127.0.0.1:0 --socket "$tmp/$1.sock" \
	    --port "tcp://$2" >> "$tmp/$1.out" 2>> "$tmp/$1.err" &
	dpid=$!
	pids="$pids $dpid"
	export APPCORE_SOCKET=$tmp/$1.sock
}

# 1. A panic on a fast link: crash at once, dump right after.
"$appcored" --demo --state-dir "$tmp/s1" --user root --listen 127.0.0.1:0 \
    --socket "$tmp/s1.sock" --snapshot-interval 1s \
    --sim-args "--rate 100 --counters 8 \
    --panic-after 4 --dump-truth $tmp/t1 --duration 60" \
    > "$tmp/d1.out" 2> "$tmp/d1.err" &
pids="$pids $!"
export APPCORE_SOCKET=$tmp/s1.sock
seen_crash= seen_dump=
for _ in $(seq 200); do
	now=$(date +%s%6N)
	c=$(crashes)
	[ -z "$seen_crash" ] && echo "$c" | grep -q '"kind":"panic"' &&
	    seen_crash=$now
	if echo "$c" | grep -q '"dump_sha256":"'; then
		"$ctl" crash show 1 > "$tmp/show1" 2>&1 && { seen_dump=$now; break; }
	fi
	sleep 0.05
done
detail=$("$ctl" events --limit 100 | grep ' crash-dump ' | head -1)
xfer=$(echo "$detail" | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
check "a panic yields a crash, then its dump and report (transfer ${xfer:-?} s)" \
    [ -n "$seen_crash" -a -n "$seen_dump" -a -n "$xfer" ]
check "the report is there within 1 s of the panic plus the transfer time" \
    python3 -c "
import json,sys; c=json.loads(sys.argv[1])['crashes'][0]
late = (int(sys.argv[2]) - c['t']) / 1e6
assert late <= 1 + float(sys.argv[3]), late" "$(crashes)" "$seen_dump" "${xfer:-0}"
check "the dump is the region the agent froze, SHA-256 verified" \
    same_as_truth 1 "$tmp/t1"
sed 's/^/# /' "$tmp/show1" | grep -iA4 "region\|diff" | head -12
check "the report diffs the dump against the last snapshot" \
    python3 -c "
import json,sys; r=json.loads(sys.argv[1])['region_diff']
assert r['available'] and r['after_t'] == json.loads(sys.argv[2])['crashes'][0]['t'], r
assert r['changed_bytes'] > 0" "$("$ctl" --json crash show 1)" "$(crashes)"
check "core 1 stays stopped (policy never, the default)" \
    eval '"$ctl" status | grep -q panicked'
check "the ELF core file's PT_LOAD holds the frozen region at its address" \
    eval '"$ctl" crash get 1 --format elf -o "$tmp/core.elf" >/dev/null &&
    python3 - "$tmp/core.elf" "$tmp/t1" <<EOF
import struct, sys
e = open(sys.argv[1], "rb").read()
t = open(sys.argv[2], "rb").read()
head, t = t.split(b"\n", 1)
size = int(head.split()[2])
phoff, = struct.unpack_from("<I", e, 28)
phnum, = struct.unpack_from("<H", e, 44)
loads = [struct.unpack_from("<IIIII", e, phoff + 32 * i) for i in range(phnum)]
loads = [p for p in loads if p[0] == 1]
assert len(loads) == 1 and loads[0][2] == 0x3fcc9710 and loads[0][4] == size, loads
assert e[loads[0][1]:loads[0][1] + size] == t[:size]
EOF'
export APPCORE_TOKEN_FILE=$tmp/s1/api-token
check "core1 policy always, set from the host, restarts the stopped core 1" \
    eval '"$ctl" core1 policy always > /dev/null && for _ in $(seq 50); do
    "$ctl" status | grep -q running &&
    "$ctl" events --limit 50 | grep -q "restart-policy *always" && break
    sleep 0.1; done && "$ctl" status | grep -q running &&
    "$ctl" events --limit 50 | grep -q "restart-policy *always"'
kill -TERM $pids; wait 2>/dev/null; pids=

# 2. The link cut in the middle of a dump, then restored.
"$sim" --link tcp:0 --rate 100 --counters 8 --panic-after 2 --duration 120 \
    --device-id cut-0 --dump-truth "$tmp/t2" > "$tmp/sim2.out" 2>&1 &
pids="$pids $!"
slow_link "$tmp/sim2.out" proxy 2
daemon_on s2 "127.0.0.1:$pport"
for _ in $(seq 150); do crashes | grep -q '"kind":"panic"' && break; sleep 0.1; done
sleep 2.5			# 128 KiB at 16 kB/s: about a third is across
kill -USR1 $ppid
check "the link was cut while the dump was on its way" \
    eval 'wait_line "$tmp/proxy.out" "proxy: cut" 5 && ! crashes | grep -q "\"dump_sha256\":\""'
check "meanwhile crash list says the dump is on its way" \
    eval '"$ctl" crash list | grep -q "dsp/mixer.c:217.*\[dump on its way\]"'
check "after the link is back, one complete dump arrives" wait_dumps 1 60
check "and crash list no longer says so" \
    eval '! "$ctl" crash list | grep -q "on its way"'
check "it is the region the agent froze, SHA-256 verified" \
    same_as_truth 1 "$tmp/t2"
"$ctl" events --limit 200 | grep -E " crash-dump |link-down|link-up" | sed 's/^/# /'
check "the transfer resumed where it stopped" \
    eval '"$ctl" events --limit 200 | grep " crash-dump " | grep -qv " 0 resumes"'
check "one crash, one dump" \
    [ "$(crashes | grep -o '"id":' | wc -l)" -eq 1 ]
kill -TERM $pids; wait 2>/dev/null; pids=

# 2b. The daemon killed in the middle of a dump, then started again: it
# goes on from what it had written to its partial file.
"$sim" --link tcp:0 --rate 100 --counters 8 --panic-after 2 --duration 120 \
    --device-id kill-0 --dump-truth "$tmp/t2b" > "$tmp/sim2b.out" 2>&1 &
pids="$pids $!"
slow_link "$tmp/sim2b.out" proxy2b 1
# Left-overs of boards that never came back go after 30 days, not sooner.
mkdir -p "$tmp/s2b/partial-dumps"
echo stale > "$tmp/s2b/partial-dumps/gone-0-0.part"
touch -d '40 days ago' "$tmp/s2b/partial-dumps/gone-0-0.part"
echo recent > "$tmp/s2b/partial-dumps/recent-0-0.part"
daemon_on s2b "127.0.0.1:$pport"
for _ in $(seq 150); do crashes | grep -q '"kind":"panic"' && break; sleep 0.1; done
check "a partial dump untouched for 40 days is removed at start, a recent one kept" \
    eval '[ ! -e "$tmp/s2b/partial-dumps/gone-0-0.part" ] &&
    [ -e "$tmp/s2b/partial-dumps/recent-0-0.part" ]'
rm -f "$tmp/s2b/partial-dumps/recent-0-0.part"
sleep 3
kill -9 $dpid
wait $dpid 2>/dev/null
part=$(ls "$tmp"/s2b/partial-dumps/*.part 2>/dev/null | head -1)
psize=$(stat -c %s "$part" 2>/dev/null || echo 0)
check "killed mid-dump, the daemon left a partial dump ($psize bytes)" \
    [ "${psize:-0}" -gt 20000 -a "${psize:-0}" -lt 131072 ]
daemon_on s2b "127.0.0.1:$pport"
check "started again, it completes the dump" wait_dumps 1 60
"$ctl" events --limit 200 | grep " crash-dump " | sed 's/^/# /'
check "going on from its partial file, not from the start" \
    eval '"$ctl" events --limit 200 | grep " crash-dump " | grep -q "an earlier daemon run"'
check "the dump is the frozen region, and the partial file is gone" \
    eval 'same_as_truth 1 "$tmp/t2b" && ! ls "$tmp"/s2b/partial-dumps/*.part 2>/dev/null'
kill -TERM $pids 2>/dev/null; wait 2>/dev/null; pids=

# 3. A crash kept across a board reset: no host while it happens, the
# board resets, a host connects to the new boot.
"$sim" --link tcp:0 --rate 100 --counters 8 --panic-after 0.5 --duration 2 \
    --device-id reset-0 --crash-store "$tmp/store" --dump-truth "$tmp/t3" \
    > "$tmp/sim3a.out" 2>&1
check "the crash store holds the crash after the first boot" \
    python3 -c "import sys; b=open(sys.argv[1],'rb').read(); assert b[:4]==b'ACD1' and len(b)==4096+131072" "$tmp/store"
"$sim" --link tcp:0 --rate 100 --counters 8 --duration 120 \
    --device-id reset-0 --crash-store "$tmp/store" > "$tmp/sim3b.out" 2>&1 &
pids="$pids $!"
wait_line "$tmp/sim3b.out" "link tcp" 10
daemon_on s3 "$(grep -o '127.0.0.1:[0-9]*' "$tmp/sim3b.out" | head -1)"
check "the crash of the earlier boot is delivered with its dump" wait_dumps 1 20
check "the dump is the region frozen before the reset" \
    same_as_truth 1 "$tmp/t3"
check "the crash is of the earlier boot, marked as delivered after a reset" \
    eval '"$ctl" events --limit 100 | grep " crash " | grep -q "after a board reset"'
check "core 1 of the new boot runs" eval '"$ctl" status | grep -q running'
sleep 0.5
check "the board's crash store is empty once the host has the dump" \
    python3 -c "import sys; assert open(sys.argv[1],'rb').read(4) == bytes(4)" "$tmp/store"
kill -TERM $pids; wait 2>/dev/null; pids=

# 3b. The same with a hang, a slow link and the daemon killed while the
# dump comes: the restarted daemon keeps one crash (its time, unknown for
# an earlier boot, is when the daemon first heard of that boot).
"$sim" --link tcp:0 --rate 100 --counters 8 --hang-after 0.5 --duration 3 \
    --device-id reset-1 --crash-store "$tmp/store3b" --dump-truth "$tmp/t3b" \
    > "$tmp/sim3c.out" 2>&1
"$sim" --link tcp:0 --rate 100 --counters 8 --duration 120 \
    --device-id reset-1 --crash-store "$tmp/store3b" > "$tmp/sim3d.out" 2>&1 &
pids="$pids $!"
slow_link "$tmp/sim3d.out" proxy3b 1
daemon_on s3b "127.0.0.1:$pport"
for _ in $(seq 150); do crashes | grep -q '"kind":"hang"' && break; sleep 0.1; done
sleep 2
kill -9 $dpid
wait $dpid 2>/dev/null
daemon_on s3b "127.0.0.1:$pport"
check "a hang of an earlier boot, the daemon killed mid-dump: its dump arrives" \
    wait_dumps 1 60
check "and the restarted daemon kept one crash for it, the earlier boot's" \
    eval '[ "$(crashes | grep -o "\"id\":" | wc -l)" -eq 1 ] &&
    same_as_truth 1 "$tmp/t3b"'
kill -TERM $pids 2>/dev/null; wait 2>/dev/null; pids=

# 4. A hang: core 1 stalled, its last PC/SP, and its dump.
"$appcored" --demo --state-dir "$tmp/s5" --user root --listen 127.0.0.1:0 \
    --socket "$tmp/s5.sock" --sim-args "--rate 100 --counters 8 \
    --hang-after 1 --dump-truth $tmp/t5 --duration 60" \
    > "$tmp/d5.out" 2> "$tmp/d5.err" &
pids="$pids $!"
export APPCORE_SOCKET=$tmp/s5.sock
check "an injected hang yields a hang crash with its dump" wait_dumps 1 20
check "with core 1's last PC and SP, the dump the stalled region" \
    eval 'crashes | python3 -c "
import json,sys; c=json.load(sys.stdin)[\"crashes\"][0]
assert c[\"kind\"] == \"hang\" and c[\"pc\"] == 0x42003a10 and c[\"sp\"] == 0x3fcc9710 + 0x20000 - 0x220, c
" && same_as_truth 1 "$tmp/t5"'
kill -TERM $pids; wait 2>/dev/null; pids=

# 5. Restart policy "at most 2 per hour": core 1 panics 1 s after every
# start; two restarts, then it stays stopped.
"$appcored" --demo --state-dir "$tmp/s4" --user root --listen 127.0.0.1:0 \
    --socket "$tmp/s4.sock" --sim-args "--rate 100 --counters 8 \
    --panic-after 1 --panic-each-run --restart 2 --crash-store $tmp/store4 \
    --dump-truth $tmp/t4 --duration 60" > "$tmp/d4.out" 2> "$tmp/d4.err" &
pids="$pids $!"
export APPCORE_SOCKET=$tmp/s4.sock
wait_dumps 3 20
sleep 2.5			# a fourth panic would come 1 s after a restart
check "three panics, each with its dump (two restarts)" \
    [ "$(crashes | grep -o '"dump_sha256":"' | wc -l)" -eq 3 ]
check "then core 1 stays stopped" eval '"$ctl" status | grep -q panicked'
check "each dump is the region of its own crash" \
    eval 'same_as_truth 1 "$tmp/t4" 0 && same_as_truth 2 "$tmp/t4" 1 &&
    same_as_truth 3 "$tmp/t4" 2'
kill -TERM $pids; wait 2>/dev/null; pids=
finish
