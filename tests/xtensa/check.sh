#!/bin/sh
# Proves the agent's portable core and the shared layout build freestanding
# for a 32-bit little-endian Xtensa with no warnings, need nothing from a
# platform but a few libc and libgcc routines, and lay the region out
# exactly as the host build does.
# usage: check.sh SOURCE_ROOT WORK_DIR
set -eu
src=$1
work=$2
mkdir -p "$work"
XCC=xtensa-lx106-elf-gcc
specs=/usr/lib/xtensa-lx106-elf/picolibc.specs
for tool in $XCC xtensa-lx106-elf-as xtensa-lx106-elf-objcopy xtensa-lx106-elf-nm xtensa-lx106-elf-ld; do
	command -v $tool >/dev/null || {
		echo "FAIL: $tool missing (Debian gcc-xtensa-lx106, binutils-xtensa-lx106)"
		exit 1
	}
done
[ -f $specs ] || { echo "FAIL: $specs missing (picolibc-xtensa-lx106-elf)"; exit 1; }
flags="--specs=$specs -ffreestanding -std=c11 -O2 -Wall -Wextra -Wpedantic
 -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-align
 -Wvla -I$src/firmware-agent/include"

pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
nok() { echo "not ok - $*"; fail=$((fail + 1)); }

# 1. No platform header may enter the portable core.
if grep -nE '#include *[<"](esp_|freertos/|driver/|soc/|hal/|pthread|unistd|sys/|stdio|stdlib)' \
    "$src"/firmware-agent/core/*.c "$src"/firmware-agent/include/appcore/*.h; then
	nok "the portable core includes a platform header"
else
	ok "the portable core includes no platform header"
fi

# 2. Freestanding Xtensa build of the core, the core-1 API and the layout.
objs=
missing=$(cd "$src/firmware-agent/core" && ls ./*.c | sed 's|^\./||' |
    grep -vxF -f sources.txt || true)
if [ -z "$missing" ]; then
	ok "firmware-agent/core/sources.txt names every file of the core"
else
	nok "not in firmware-agent/core/sources.txt: $missing"
fi
core=$(sed 's|^|firmware-agent/core/|' "$src/firmware-agent/core/sources.txt")
for f in $core tests/xtensa/core1_api.c tests/xtensa/layout.c; do
	o=$work/$(basename "$f" .c).xt.o
	if $XCC $flags -c "$src/$f" -o "$o" 2>"$o.log"; then
		ok "xtensa build of $f, no warnings"
		objs="$objs $o"
	else
		cat "$o.log"
		nok "xtensa build of $f"
	fi
done

# The core-1 boot trampoline of the ESP-IDF port assembles for Xtensa.
if xtensa-lx106-elf-as "$src/firmware-agent/port/esp-idf/core1_trampoline.S" \
    -o "$work/trampoline.o" 2>"$work/trampoline.log"; then
	ok "ESP-IDF core-1 trampoline assembles"
else
	cat "$work/trampoline.log"
	nok "ESP-IDF core-1 trampoline assembles"
fi

# 3. What the core needs from a platform: libc mem* and libgcc helpers only.
xtensa-lx106-elf-ld -r -o "$work/core.xt.o" $objs
needs=$(xtensa-lx106-elf-nm -u "$work/core.xt.o" | awk '{print $NF}' | sort -u)
undef=$(echo "$needs" | grep -vE '^(memcpy|memmove|memset|memchr|memcmp|__[a-z0-9_]+|)$' || true)
if [ -z "$undef" ]; then
	ok "core needs only mem* and libgcc helpers:" $needs
else
	nok "core needs symbols a bare platform lacks:" $undef
fi
xtensa-lx106-elf-size $objs | sed 's/^/# /'

# 4. Identical layout on both sides.
${CC:-cc} -std=c11 -c -I"$src/firmware-agent/include" \
    "$src/tests/xtensa/layout.c" -o "$work/layout.host.o"
objcopy -O binary --only-section=.appcore_layout "$work/layout.host.o" \
    "$work/layout.host.bin"
xtensa-lx106-elf-objcopy -O binary --only-section=.appcore_layout \
    "$work/layout.xt.o" "$work/layout.xt.bin"
n=$(($(wc -c < "$work/layout.host.bin") / 8))
if [ "$n" -gt 40 ] && cmp "$work/layout.host.bin" "$work/layout.xt.bin"; then
	ok "$n layout entries (offset, size) identical on host and Xtensa"
else
	nok "layout differs between host and Xtensa ($n entries)"
	od -An -tu4 -w8 "$work/layout.host.bin" > "$work/h.txt"
	od -An -tu4 -w8 "$work/layout.xt.bin" > "$work/x.txt"
	diff "$work/h.txt" "$work/x.txt" || true
fi

echo "1..$((pass + fail))"
[ $fail -eq 0 ]
