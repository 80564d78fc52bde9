#!/bin/bash
# appcorectl against a real appcored --demo (simulator on a pty, real
# SQLite, HTTP on the daemon's unix socket and on loopback): every command,
# its --json form, a crash dump fetched as an ELF core, and the errors and
# exit statuses of appcorectl(1).  TAP output.
#
# usage: cli_test.sh APPCORED APPCORECTL
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
ctl=$2
tmp=$(mktemp -d)
trap 'kill $dpid 2>/dev/null; wait $dpid 2>/dev/null; rm -rf "$tmp"' EXIT

"$appcored" --demo --state-dir "$tmp/state" --user root \
    --listen 127.0.0.1:0 --socket "$tmp/appcored.sock" \
    --snapshot-interval 1s \
    --sim-args "--rate 200 --counters 16 --panic-after 3 --duration 120" \
    > "$tmp/out" 2> "$tmp/err" &
dpid=$!
wait_line "$tmp/out" "dashboard on" 20 || { nok "appcored starts"; cat "$tmp/err"; finish; exit; }
url=$(grep -o 'http://[^/]*' "$tmp/out")
export APPCORE_SOCKET=$tmp/appcored.sock APPCORE_TOKEN_FILE=$tmp/state/api-token

run() { # run EXPECTED_RC args...: output in $tmp/o, errors in $tmp/e
	want=$1
	shift
	"$ctl" "$@" > "$tmp/o" 2> "$tmp/e"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "# appcorectl $*: exit $got, wanted $want"
		sed 's/^/#   /' "$tmp/o" "$tmp/e"
		return 1
	fi
}
has() { grep -q -- "$1" "$tmp/$2"; }

# Wait for the simulated panic to be recorded.
for _ in $(seq 100); do
	"$ctl" crash list 2>/dev/null | grep -q assert && break
	sleep 0.2
done

check "status: the daemon's version, uptime, URL, socket, database and boards" \
    eval 'run 0 status && has "^appcored 0.1.0, up [0-9]* s (since 20[0-9-]* [0-9:.]* UTC)" o &&
    has "dashboard  $url/" o && has "socket     $tmp/appcored.sock" o &&
    has "database   $tmp/state/appcore.db (" o && has "boards     1, 1 connected" o &&
    has "^    1    sim-0  *core 1 [a-z]* *link up$" o'
check "status --json: the same facts as the API's JSON" \
    eval 'run 0 --json status && python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d[\"version\"]==\"0.1.0\" and d[\"devices\"]==1 and d[\"uptime_s\"]>0 and d[\"database_bytes\"]>0, d" "$tmp/o"'
check "--version" eval 'run 0 --version && has "^appcorectl 0.1.0$" o'
check "devices: a table with the board, its rate and counters" \
    eval 'run 0 devices && has "^1 *sim-0 .* up *200 *16 " o'
check "counters: every counter with its value" \
    eval 'run 0 counters && [ $(grep -c "^[a-z].* [0-9][0-9]* " "$tmp/o") -ge 16 ] && has "audio.frames" o'
check "counters --json is the API's JSON" \
    eval 'run 0 --json counters --device 1 && python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"counters\"])==16" "$tmp/o"'
check "events: the boot and the crash, newest first" \
    eval 'run 0 events --limit 10 && has "crash .*dsp/mixer.c" o && has "boot " o &&
    [ "$(grep -n crash "$tmp/o" | head -1 | cut -d: -f1)" -lt "$(grep -n boot "$tmp/o" | head -1 | cut -d: -f1)" ]'
check "events --limit 1 gives one row, under the line naming the board" \
    eval 'run 0 events --limit 1 && [ $(wc -l < "$tmp/o") -eq 2 ] && has "^board sim-0 (id 1)$" o'
check "a board by its name: --device sim-0" \
    eval 'run 0 counters --device sim-0 && has "^board sim-0 (id 1): core 1" o'
check "logs name their board" eval 'run 0 logs --limit 1 && has "^board sim-0 (id 1)$" o'
check "watch --filter: the board, core 1's state and only the counters asked for" \
    eval 'run 0 watch --count 2 --filter audio. && has "^board sim-0 (id 1)  core 1 [a-z]*  20[0-9-]* [0-9:.]* UTC  filter: audio.$" o &&
    [ "$(grep -c "^audio\\." "$tmp/o")" -eq 8 ] && ! has "^dsp\\." o'
check "watch on a 10-line terminal: each screen fits, and says how many more" \
    python3 - "$ctl" <<'PY'
import fcntl, os, pty, struct, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "watch", "--count", "3"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 10, 80, 0, 0))
out = b""
end = time.time() + 15
while time.time() < end:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
screens = [s for s in out.decode().split("\x1b[H\x1b[J") if s.strip()]
rows = [s.rstrip("\r\n").count("\n") + 1 for s in screens]
print("# %d screens of %s lines" % (len(screens), rows))
ok = len(screens) == 3 and all(r <= 10 for r in rows) and \
    all("10 more: --filter" in s for s in screens)
sys.exit(0 if ok else 1)
PY
check "logs: core 1's log" \
    eval 'run 0 logs && has "panic: assert failed" o'
check "crash list: the assert, with file, line and pc" \
    eval 'run 0 crash list && has "panic assert: assert failed: fill <= BUF_FRAMES (dsp/mixer.c:217, pc 0x" o'
id=$("$ctl" crash list | awk 'NR==1{print $1}')
# The dump is the agent's, sent right after the panic.
for _ in $(seq 50); do
	"$ctl" crash get "$id" --format raw -o "$tmp/c.raw" >/dev/null 2>&1 && break
	sleep 0.2
done
check "crash show: registers and backtrace" \
    eval 'run 0 crash show "$id" && has "^  pc 0x42002a31" o &&
    has "^    #0  0x42002a1c" o && has "core-1 image [0-9a-f]\{64\}" o &&
    has "^  dump: 131072 bytes, sha256 [0-9a-f]\{64\}" o'
check "crash show: core 1's states before the crash" \
    eval 'has "running -> panicked (heartbeat [0-9]*)" o'
check "crash show: every counter over the 10 s before" \
    eval 'has "counters over the 10 s before the crash" o &&
    [ $(sed -n "/^counters over/,/^\$/p" "$tmp/o" | grep -c "^  [a-z0-9_.]* *-\?[0-9]") -eq 16 ]'
check "crash show: the shared region's changes since the last snapshot" \
    eval 'has "^shared region, the dump against the snapshot of .*: [1-9][0-9]* of 131072 bytes changed" o &&
    has "^  0x3fcc97.. +[0-9]" o'
check "crash show --json: the report" \
    eval 'run 0 crash show "$id" --json && python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d[\"crash\"][\"reason\"]==\"assert\" and d[\"crash\"][\"backtrace\"]
assert len(d[\"counters\"])==16 and d[\"region_diff\"][\"available\"]" "$tmp/o"'
check "crash get --format elf: an Xtensa ELF core file" \
    eval 'run 0 crash get "$id" --format elf -o "$tmp/c.elf" &&
    xtensa-lx106-elf-readelf -h "$tmp/c.elf" | grep -q "CORE (Core file)" &&
    xtensa-lx106-elf-readelf -h "$tmp/c.elf" | grep -q "Xtensa"'
check "crash get --format raw: the region's bytes, same size as reported" \
    eval 'run 0 crash get "$id" --format raw -o "$tmp/c.raw" &&
    has "$(stat -c %s "$tmp/c.raw") bytes (raw)" o'
check "crash get --format json: registers" \
    eval 'run 0 crash get "$id" --format json -o "$tmp/c.json" &&
    python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$tmp/c.json"'
check "over --url (TCP) as well as the unix socket" \
    eval 'run 0 --url "$url" devices && has "sim-0" o'

check "watch --count 2: two tables of live counters with rates" \
    eval 'run 0 watch --count 2 && [ $(grep -c "^COUNTER" "$tmp/o") -eq 2 ] &&
    [ $(grep -c "^audio.frames .* [0-9][0-9]*\.[0-9]$" "$tmp/o") -eq 1 ]'
check "watch --json: the stream's samples" \
    eval 'run 0 --json watch --count 3 && [ $(grep -c "\"values\":\[" "$tmp/o") -eq 3 ]'
check "query: a read-only SELECT, printed as sqlite3 does" \
    eval 'run 0 query "SELECT id, name FROM devices" && [ "$(cat "$tmp/o")" = "id|name
1|sim-0" ]'
check "query --json and --limit" \
    eval 'run 0 --json query "SELECT t FROM samples" --limit 5 && python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); assert len(d[\"rows\"])==5 and d[\"truncated\"]" "$tmp/o" &&
    run 0 query "SELECT t FROM samples" --limit 2 && [ $(wc -l < "$tmp/o") -eq 3 ] &&
    has "more rows than --limit 2" e'
check "query: writing is refused, exit 1" \
    eval 'run 1 query "DELETE FROM events" && has "only reading" e &&
    run 0 query "SELECT count(*) > 0 FROM events" && has "^1$" o'
check "query without SQL: usage, exit 2" eval 'run 2 query'
check "a bad --count: exit 2" eval 'run 2 watch --count -1'
check "rate set: needs and uses the API token" \
    eval 'run 0 rate set 100 && has "set-rate: sent to board sim-0 (id 1)" o'
for _ in $(seq 50); do
	"$ctl" devices 2>/dev/null | grep -q " 100 *16 " && break
	sleep 0.2
done
check "the board runs at the new rate" eval 'run 0 devices && has " 100 *16 " o'
check "core1 policy 2: sent (at most 2 restarts an hour)" \
    eval 'run 0 core1 policy 2 && has "set-restart: sent to board sim-0 (id 1)" o'
check "core1 policy never: sent" \
    eval 'run 0 core1 policy never && has "set-restart: sent" o'
# logs -f follows the log: the restart's "core1 up" arrives live.
"$ctl" logs -f --count 1 --limit 1 > "$tmp/follow" 2>&1 &
fpid=$!
wait_line "$tmp/follow" "^board sim-0" 10
check "core1 restart brings core 1 back up" \
    eval 'run 0 core1 restart && has "restart-core1: sent" o'
for _ in $(seq 100); do kill -0 $fpid 2>/dev/null || break; sleep 0.1; done
check "logs -f: the log, then what comes, as it comes" \
    eval '! kill -0 $fpid 2>/dev/null && wait $fpid && [ $(wc -l < "$tmp/follow") -eq 3 ] &&
    tail -1 "$tmp/follow" | grep -q "info    core1 up"'
kill $fpid 2>/dev/null
for _ in $(seq 50); do
	"$ctl" devices 2>/dev/null | grep -q " running " && break
	sleep 0.2
done
sleep 2.5	# two live updates after the restart
check "after the restart: running, with a sane heartbeat rate" \
    eval 'run 0 --json counters && python3 -c "
import json,sys; d=json.load(open(sys.argv[1]))
assert d[\"state\"]==\"running\", d[\"state\"]
assert 0 < d[\"heartbeat_rate\"] < 1e6, d[\"heartbeat_rate\"]" "$tmp/o"'

# Errors: a clear message and the documented exit status.
echo wrong > "$tmp/bad-token"
check "a wrong token: refused, exit 1, the daemon's reason" \
    eval 'run 1 --token-file "$tmp/bad-token" rate set 10 && has "Bearer" e'
check "a missing token file: exit 1, names the file" \
    eval 'run 1 --token-file "$tmp/none" core1 restart && has "$tmp/none" e'
check "no daemon: exit 1, says so" \
    eval 'run 1 --socket "$tmp/nope.sock" status && has "cannot reach appcored" e'
check "an unknown crash: exit 1" eval 'run 1 crash show 9999 && has "no crash" e'
check "an unknown device: exit 1, the boards there are" \
    eval 'run 1 counters --device 77 && has "no board 77; the boards: sim-0 (1)" e'
check "with --json the error is JSON too" \
    eval 'run 1 --json counters --device 77 && python3 -c "
import json,sys; d=json.load(open(sys.argv[1])); assert d[\"error\"][\"code\"]==\"not_found\", d" "$tmp/o"'
check "an unknown command: said, exit 2" eval 'run 2 frobnicate && has "unknown command .frobnicate." e'
check "a bad rate: exit 2" eval 'run 2 rate set 5000 && has "1..1000" e'
check "a bad restart policy: exit 2" \
    eval 'run 2 core1 policy sometimes && has "never, always or 1..16" e &&
    run 2 core1 policy 17'
check "core1 policy without a value: usage, exit 2" \
    eval 'run 2 core1 policy && has "usage:" e'
check "an unknown board name: exit 1" eval 'run 1 logs --device x && has "no board x" e'
check "a bad --limit: exit 2" eval 'run 2 logs --limit 0 && has "1 to 1000" e'
check "crash get without -o: usage, exit 2" eval 'run 2 crash get "$id"'
check "crash get with an unknown format: exit 2" \
    eval 'run 2 crash get "$id" --format png -o "$tmp/x"'
check "--url must be http: exit 2" eval 'run 2 --url ftp://x status'
check "an unwritable output file: exit 1, nothing half-written" \
    eval 'run 1 crash get "$id" -o "$tmp/no/such/dir/c.elf" && has "No such file" e'
check "--help: usage on stdout, exit 0" eval 'run 0 --help && has "usage:" o'
check "the daemon is still up after all that" eval 'kill -0 $dpid'
finish
