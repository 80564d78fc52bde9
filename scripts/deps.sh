#!/bin/bash
# Installs the Debian packages appcore needs to build, test and demo,
# and only those missing.  Needs root (or sudo).
set -euo pipefail

packages=(
	# build
	gcc meson ninja-build pkg-config libssl-dev
	libserialport-dev libsqlite3-dev libgdbm-dev libinih-dev libsystemd-dev
	libmicrohttpd-dev libjson-c-dev
	# tests: the database from the shell, systemd-analyze
	sqlite3 systemd util-linux python3-jsonschema curl
	# tests: sanitizers, libFuzzer, Xtensa cross-compiler
	clang libclang-rt-14-dev
	gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf
	python3
	# benchmarks
	valgrind
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "appcore: installing ${missing[*]}" >&2
sudo=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "appcore: need root or sudo to install: ${missing[*]}" >&2
		exit 1
	}
	sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
