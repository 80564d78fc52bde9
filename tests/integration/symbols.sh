#!/bin/bash
# Symbols for a crash: a core-1 ELF built here for Xtensa (gcc-xtensa-
# lx106), uploaded with appcorectl, names the crash's PC and backtrace as
# binutils' xtensa-lx106-elf-addr2line does; an ELF that is not the image
# the crash ran is refused, or, uploaded without --crash, never used; files
# that are not Xtensa ELFs are refused with a reason.  The real daemon
# with its simulator running that image (--image).  TAP output.
#
# usage: symbols.sh APPCORED APPCORECTL SRCDIR
set -u
. "$(dirname "$0")/lib.sh"
appcored=$1
ctl=$2
src=$3
tmp=$(mktemp -d)
dpid=
trap 'kill $dpid 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT

XCC=xtensa-lx106-elf-gcc
build() { # build OUT [extra gcc flags]
	$XCC -g -O0 -ffunction-sections -ffreestanding -nostdlib \
	    -mtext-section-literals -T "$src/firmware-agent/port/posix/core1_image.ld" \
	    "${@:2}" "$src/firmware-agent/port/posix/core1_image.c" -o "$1"
}
check "an Xtensa core-1 ELF with DWARF builds" build "$tmp/core1.elf"
check "the flash image is stamped with the ELF's SHA-256 (core1_image.py)" \
    eval 'python3 "$src/firmware-agent/tools/core1_image.py" --objcopy \
    xtensa-lx106-elf-objcopy "$tmp/core1.elf" "$tmp/core1.bin" >/dev/null &&
    python3 -c "
import hashlib,struct,sys; b=open(sys.argv[1],\"rb\").read(); e=open(sys.argv[2],\"rb\").read()
assert struct.unpack_from(\"<II\", b) == (0x42000a00, 0x49314341), b[:8]
assert b[8:40] == hashlib.sha256(e).digest(), \"hash\"
assert e.find(b[0xa00:0xa20]) > 0, \"app_main at its place\"
" "$tmp/core1.bin" "$tmp/core1.elf"'
check "and one that differs (another build of it)" \
    build "$tmp/other.elf" -DSINK_INIT=1 -Dsink=sink2

"$appcored" --demo --state-dir "$tmp/s" --user root --listen 127.0.0.1:0 \
    --socket "$tmp/s.sock" --sim-args "--rate 100 --counters 4 \
    --panic-after 1 --image $tmp/core1.elf --duration 60" \
    > "$tmp/d.out" 2> "$tmp/d.err" &
dpid=$!
export APPCORE_SOCKET=$tmp/s.sock APPCORE_TOKEN_FILE=$tmp/s/api-token
for _ in $(seq 100); do
	"$ctl" crash show 1 > /dev/null 2>&1 && break
	sleep 0.1
done
report() { "$ctl" --json crash show 1; }
check "the crash names the image's SHA-256 as its image hash" \
    python3 -c "
import hashlib,json,sys; r=json.loads(sys.argv[1])
assert r['crash']['image_hash'] == hashlib.sha256(open(sys.argv[2],'rb').read()).hexdigest()" \
    "$(report)" "$tmp/core1.elf"
check "without its ELF the report has addresses and says why no names" \
    python3 -c "
import json,sys; s=json.loads(sys.argv[1])['symbols']
assert not s['available'] and 'no core-1 ELF' in s['why'], s
assert s['pc']['address'] == 0x42002a31 and 'function' not in s['pc'], s" "$(report)"

"$ctl" elf add "$tmp/other.elf" --crash 1 > "$tmp/o" 2> "$tmp/e"
rc=$?
check "an ELF that is not the crash's image is refused (exit 1)" \
    eval '[ $rc -eq 1 ] && grep -q "not the image crash 1 ran" "$tmp/e"'
check "an ELF of another machine is refused with the reason" \
    eval '! "$ctl" elf add /bin/sh 2> "$tmp/e" && grep -q "not a 32-bit little-endian Xtensa" "$tmp/e"'
printf 'not an elf' > "$tmp/text"
check "a file that is no ELF is refused" \
    eval '! "$ctl" elf add "$tmp/text" 2> "$tmp/e" && grep -q "not an ELF" "$tmp/e"'
xtensa-lx106-elf-strip -o "$tmp/stripped.elf" "$tmp/core1.elf"
check "a stripped ELF (no symbol table) is refused" \
    eval '! "$ctl" elf add "$tmp/stripped.elf" 2> "$tmp/e" && grep -q "no symbol table" "$tmp/e"'
check "a mismatched ELF uploaded without --crash is stored" \
    eval '"$ctl" elf add "$tmp/other.elf" > /dev/null'
check "but never used for the crash" \
    python3 -c "
import json,sys; s=json.loads(sys.argv[1])['symbols']
assert not s['available'] and 'function' not in s['pc'], s" "$(report)"
check "the crash's own ELF is accepted with --crash" \
    eval '"$ctl" elf add "$tmp/core1.elf" --crash 1 | grep -q "5 functions, with DWARF; ran 1 crash"'

# What binutils says of each address, against the report.
addrs=$(report | python3 -c "
import json,sys; s=json.load(sys.stdin)['symbols']
print(' '.join(hex(f.get('call', f['address'])) for f in [s['pc']] + s['backtrace']))")
xtensa-lx106-elf-addr2line -f -e "$tmp/core1.elf" $addrs > "$tmp/a2l"
check "PC and all 5 backtrace frames named as addr2line names them" \
    python3 -c "
import json,sys; s=json.loads(sys.argv[1])['symbols']
a=open(sys.argv[2]).read().split('\n')
frames=[s['pc']] + s['backtrace']
assert s['available'] and s['dwarf'] and len(frames) == 6, s
for i, f in enumerate(frames):
    fn, loc = a[2 * i], a[2 * i + 1]
    assert f['function'] == fn, (f, fn)
    assert '%s:%d' % (f['file'], f['line']) == loc, (f, loc)
assert frames[0]['function'] == 'mixer_process' and frames[0]['offset'] == 0x2d, frames[0]
" "$(report)" "$tmp/a2l"
check "a windowed return address in the backtrace is named at its call" \
    python3 -c "
import json,sys; f=json.loads(sys.argv[1])['symbols']['backtrace'][4]
assert f['address'] == 0x82000a13 and f['call'] == 0x42000a10, f
assert f['function'] == 'app_main' and f['offset'] == 0x10, f" "$(report)"
check "appcorectl crash show prints function+offset (file:line)" \
    eval '"$ctl" crash show 1 | grep -q "pc 0x42002a31  mixer_process+0x2d  (.*core1_image.c:[0-9]*)"'
check "elf list shows both, the right one tied to the crash" \
    eval '"$ctl" elf list | grep "core1.elf" | grep -q "1 crash(es)" &&
    "$ctl" elf list | grep "other.elf" | grep -q "0 crash(es)"'
check "elf --json list" \
    eval '"$ctl" --json elf list | python3 -c "import json,sys; assert len(json.load(sys.stdin)[\"images\"]) == 2"'
check "elf with bad arguments: usage, exit 2" \
    eval '"$ctl" elf add 2>/dev/null; [ $? -eq 2 ] && { "$ctl" elf add x --crash zero 2>/dev/null; [ $? -eq 2 ]; }'
check "without the token, elf add is refused" \
    eval 'APPCORE_TOKEN_FILE=/nonexistent "$ctl" elf add "$tmp/core1.elf" 2>/dev/null; [ $? -eq 1 ]'
finish
