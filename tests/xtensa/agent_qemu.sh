#!/bin/bash
# The agent's portable core built for Xtensa and run under QEMU on a
# recorded sequence of region states (replay.h): its wire bytes must equal
# the host build's byte for byte, and its cost per sample is counted
# exactly (instructions under -icount, ../shared/notes/xtensa-qemu.md).
# usage: agent_qemu.sh SOURCE_ROOT WORK_DIR RECORD_STATES REPLAY_HOST
set -u
src=$1
work=$2
record=$3
replay_host=$4
mkdir -p "$work"
n=0
failed=0
check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
command -v qemu-system-xtensa >/dev/null || {
	echo "not ok 1 - qemu-system-xtensa missing (Debian qemu-system-misc; scripts/deps.sh)"
	echo "1..1"
	exit 1
}
XCC=xtensa-lx106-elf-gcc
flags="--specs=/usr/lib/xtensa-lx106-elf/picolibc.specs -ffreestanding
 -std=c11 -O2 -g -Wall -Wextra -Werror -mtext-section-literals
 -I$src/firmware-agent/include -I$src/tests/xtensa
 -I$src/firmware-agent/port/qemu-xtensa"

# The guest: the agent's core, the replay, the runtime.
objs=
core=$(sed 's|^|firmware-agent/core/|' "$src/firmware-agent/core/sources.txt")
for f in $core tests/xtensa/replay.c \
    tests/xtensa/replay_guest.c firmware-agent/port/qemu-xtensa/libgcc_extra.c; do
	o=$work/$(basename "$f" .c).o
	$XCC $flags -c "$src/$f" -o "$o" || { check 1 "xtensa build of $f"; echo "1..$n"; exit 1; }
	objs="$objs $o"
done
$XCC $flags -c "$src/firmware-agent/port/qemu-xtensa/start.S" -o "$work/start.o" || exit 1

for counters in 16 64; do
	rec=$work/states-$counters.bin
	"$record" $counters 2000 > "$rec"
	printf '\t.section .rodata\n\t.global recording, recording_end\n\t.align 4\nrecording:\n\t.incbin "%s"\nrecording_end:\n' \
	    "$rec" > "$work/recording-$counters.S"
	$XCC $flags -c "$work/recording-$counters.S" -o "$work/recording-$counters.o"
	elf=$work/replay-$counters.elf
	$XCC $flags -nostartfiles -T "$src/firmware-agent/port/qemu-xtensa/xtensa.ld" \
	    "$work/start.o" $objs "$work/recording-$counters.o" -o "$elf"
	check $? "the replay links for Xtensa ($counters counters)"
	"$replay_host" "$rec" > "$work/host-$counters.wire" 2> "$work/host-$counters.txt"
	check $? "the host build replays $counters counters: $(cat "$work/host-$counters.txt")"
	timeout 120 qemu-system-xtensa -M sim -cpu lx106 -nographic -monitor none \
	    -semihosting -icount shift=6,sleep=off -kernel "$elf" \
	    > "$work/xtensa-$counters.wire" 2> "$work/xtensa-$counters.txt"
	rc=$?
	check $rc "the Xtensa build runs under QEMU: $(grep xtensa: "$work/xtensa-$counters.txt")"
	hb=$(stat -c %s "$work/host-$counters.wire")
	cmp -s "$work/host-$counters.wire" "$work/xtensa-$counters.wire"
	check $? "its wire bytes equal the host build's, byte for byte ($hb bytes, $counters counters)"
	line=$(grep xtensa: "$work/xtensa-$counters.txt")
	insns=$(echo "$line" | sed -n 's/.* insns \([0-9]*\).*/\1/p')
	samples=$(echo "$line" | sed -n 's/.* samples \([0-9]*\).*/\1/p')
	polls=$(echo "$line" | sed -n 's/.* polls \([0-9]*\).*/\1/p')
	[ -n "$insns" ] && [ "${samples:-0}" -gt 0 ]
	check $? "Xtensa instructions in ac_agent_poll: $insns for $samples samples over $polls polls"
	naive=$(grep naive: "$work/xtensa-$counters.txt")
	ninsns=$(echo "$naive" | sed -n 's/.* insns \([0-9]*\).*/\1/p')
	nsamples=$(echo "$naive" | sed -n 's/.* samples \([0-9]*\).*/\1/p')
	[ -n "$ninsns" ] && [ "${nsamples:-0}" -gt 0 ]
	check $? "the naive sampler on the same states: $naive"
	if [ -n "$insns" ] && [ "${samples:-0}" -gt 0 ] && [ "${nsamples:-0}" -gt 0 ]; then
		echo "# xtensa counters $counters agent_insns_per_sample $((insns / samples)) naive_insns_per_sample $((ninsns / nsamples))"
	fi
done
echo "1..$n"
[ $failed -eq 0 ]
