#!/bin/sh
# Builds a crate's static library with cargo, offline, warnings as errors,
# and copies it where meson wants it.  cargo decides what is stale.
#   cargo_build.sh CARGO OUTPUT CRATE_DIR TARGET_DIR
set -eu
cargo=$1 out=$2 crate=$3 target=$4
RUSTFLAGS="${RUSTFLAGS:-} -D warnings" "$cargo" build --quiet --offline \
    --release --manifest-path "$crate/Cargo.toml" --target-dir "$target"
cp "$target/release/$(basename "$out")" "$out.tmp"
mv "$out.tmp" "$out"
