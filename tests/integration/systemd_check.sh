#!/bin/bash
# The systemd side: meson install puts every file in place, the unit
# verifies and scores <= 2.0 with systemd-analyze security, the man pages
# are clean, and appcored speaks the notify protocol.
# usage: systemd_check.sh BUILD_DIR APPCORED
set -u
. "$(dirname "$0")/lib.sh"
build=$1
appcored=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

meson install -C "$build" --destdir "$tmp/root" --no-rebuild --quiet \
    > "$tmp/install.log" 2>&1
check "meson install" [ $? -eq 0 ]
prefix=$(meson introspect "$build" --buildoptions |
    python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
unit=$(find "$tmp/root" -name appcored.service | head -1)
for f in sbin/appcored bin/appcore-sim bin/appcore-decode \
    share/man/man8/appcored.8 share/man/man5/appcored.conf.5; do
	check "installed $prefix/$f" [ -e "$tmp/root$prefix/$f" ]
done
check "installed the unit ($unit)" [ -n "$unit" ]
check "installed the udev rule" [ -n "$(find "$tmp/root" -name 99-appcore.rules)" ]
check "installed sysusers.d and tmpfiles.d entries" \
    [ "$(find "$tmp/root" -path '*sysusers.d/appcored.conf' -o -path '*tmpfiles.d/appcored.conf' | wc -l)" = 2 ]
check "installed /etc/appcored/appcored.conf" [ -n "$(find "$tmp/root" -path '*appcored/appcored.conf' -not -path '*.d/*')" ]
check "the installed example configuration is valid" \
    bash -c "'$appcored' --config '$(find "$tmp/root" -path '*etc/appcored/appcored.conf')' --check-config > /dev/null"

# verify and score the unit, with ExecStart pointing at a real binary
sed "s|^ExecStart=[^ ]*|ExecStart=$(readlink -f "$appcored")|" "$unit" > "$tmp/appcored.service"
systemd-analyze verify --man=no "$tmp/appcored.service" > "$tmp/verify" 2>&1
check "systemd-analyze verify passes" [ $? -eq 0 ]
sed 's/^/# /' "$tmp/verify"
systemd-analyze security --offline=true --no-pager "$tmp/appcored.service" \
    > "$tmp/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for appcored.service: \([0-9.]*\).*/\1/p' "$tmp/security")
echo "# systemd-analyze security: exposure $score"
grep '✗' "$tmp/security" | sed 's/  */ /g; s/^/#   /'
check "exposure score $score is at most 2.0" \
    python3 -c "import sys; sys.exit(not (0 <= float('$score') <= 2.0))"
check "sysusers entry parses" bash -c "systemd-sysusers --dry-run \
    '$(find "$tmp/root" -path '*sysusers.d/appcored.conf')' > /dev/null 2>&1"
for m in "$tmp/root$prefix"/share/man/man*/appcored*; do
	check "man page $(basename "$m") has no groff warnings" \
	    bash -c "[ -z \"\$(LC_ALL=C.UTF-8 groff -man -ww -z '$m' 2>&1)\" ]"
done

# The notify protocol, against a stand-in for systemd's socket.
python3 "$here/notify_listen.py" "$tmp/notify" > "$tmp/notes" &
wait_line "$tmp/notes" listening 5
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=400000 bash -c \
    'WATCHDOG_PID=$$ exec "$0" --demo --state-dir "$1/state" --user root --listen 127.0.0.1:0' \
    "$appcored" "$tmp" > "$tmp/d.out" 2>&1 &
dpid=$!
wait_line "$tmp/notes" 'READY=1' 10
check "READY=1 once started" grep -q 'READY=1' "$tmp/notes"
sleep 1.5
check "WATCHDOG=1 at half the watchdog interval ($(grep -c WATCHDOG=1 "$tmp/notes") in 1.5 s)" \
    [ "$(grep -c 'WATCHDOG=1' "$tmp/notes")" -ge 3 ]
wait_line "$tmp/notes" 'STATUS=1 of 1 devices connected' 6
check "STATUS says what it is doing: $(grep STATUS= "$tmp/notes" | tail -1)" \
    grep -q 'STATUS=1 of 1 devices connected' "$tmp/notes"
kill -HUP $dpid
sleep 0.5
check "SIGHUP: RELOADING=1 then READY=1" \
    bash -c "grep -A5 RELOADING=1 '$tmp/notes' | grep -q READY=1"
kill -TERM $dpid
wait $dpid
check "SIGTERM: STOPPING=1, exit 0" bash -c "[ $? -eq 0 ] && grep -q STOPPING=1 '$tmp/notes'"
finish
