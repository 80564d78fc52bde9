#!/bin/bash
# The Rust crates with one toolchain: appcore-core1's own tests (the
# layout against a table generated from region.h, the API) and the host
# library's build, offline, warnings as errors.
# usage: rust_crate.sh CARGO RUSTC TARGET_DIR SOURCE_ROOT
set -u
. "$(dirname "$0")/lib.sh"
cargo=$1 rustc=$2 target=$3 root=$4
crates=$root/firmware-agent/rust
if [ ! -x "$rustc" ] || [ ! -x "$cargo" ]; then
	nok "$rustc or $cargo is missing: scripts/deps.sh installs Debian's"
	finish
fi
echo "# $("$rustc" --version), $("$cargo" --version)"
export RUSTC=$rustc RUSTFLAGS="-D warnings" CARGO_TARGET_DIR=$target
out=$("$cargo" test --offline --lib --tests \
    --manifest-path "$crates/appcore-core1/Cargo.toml" 2>&1)
rc=$?
echo "$out" | grep -E '^test |test result|error|warning' | sed 's/^/# /'
passed=$(echo "$out" | awk '/test result: ok/ {n += $4} END {print n + 0}')
check "appcore-core1: cargo test, $passed tests passed" \
    [ $rc -eq 0 -a "$passed" -ge 8 ]
out=$("$cargo" build --offline --release \
    --manifest-path "$crates/appcore-core1-host/Cargo.toml" 2>&1)
rc=$?
echo "$out" | grep -E 'error|warning' | sed 's/^/# /'
check "appcore-core1-host: the static library builds" [ $rc -eq 0 ]
finish
