#!/bin/bash
# Installs the Debian packages appcore needs, and only those missing.
# Needs root (or sudo).
#   scripts/deps.sh        everything: build, demo, tests, benchmarks
#   scripts/deps.sh demo   what scripts/demo needs: the build, the demo's
#                          core-1 ELF (the Xtensa compiler), uPlot
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

packages=(
	# build
	gcc meson ninja-build pkg-config libssl-dev
	libserialport-dev libsqlite3-dev libgdbm-dev libinih-dev libsystemd-dev
	libmicrohttpd-dev libjson-c-dev libcurl4-openssl-dev libdw-dev libelf-dev
	python3
	# the demo's core-1 ELF (its crashes are named) and the emulated board
	gcc-xtensa-lx106 binutils-xtensa-lx106 picolibc-xtensa-lx106-elf
)
if [ "$what" != demo ]; then
	packages+=(
		# tests: the database from the shell, systemd-analyze
		sqlite3 systemd util-linux python3-jsonschema curl
		# tests: sanitizers, libFuzzer
		clang libclang-rt-14-dev
		# tests: Xtensa programs under emulation
		qemu-system-misc
		# tests: the Rust crate with Debian's rustc 1.63 (also what builds
		# --core1 rust where no other cargo is on the PATH)
		rustc cargo
		# the dashboard's browser test
		chromium fonts-dejavu-core
		# fleets: a real Prometheus (and promtool) and ClickHouse
		prometheus clickhouse-server
		# benchmarks
		valgrind wrk nginx-light
	)
fi

# npm installs uPlot (and for the tests playwright-core); a Node.js from
# elsewhere will do.
command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
npm_install() {
	# uPlot for the dashboard, playwright-core for the browser test:
	# exactly what each package-lock.json names.
	local dirs=(web)
	[ "$what" = demo ] || dirs+=(tests/browser)
	for d in "${dirs[@]}"; do
		if [ ! -f "$d/node_modules/.package-lock.json" ] ||
		    [ "$d/package-lock.json" -nt "$d/node_modules/.package-lock.json" ]; then
			echo "appcore: npm ci in $d" >&2
			(cd "$d" && npm ci --no-audit --no-fund --silent)
		fi
	done
}

if [ ${#missing[@]} -eq 0 ]; then
	npm_install
	exit 0
fi

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
npm_install
