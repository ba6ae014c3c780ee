#!/usr/bin/env bash
# Build the wasm core with the reference toolchain (Debian's rustc 1.63 with
# its wasm32 std) and copy it to wasm/stoopt_core.wasm.
# Reproducible: build paths are remapped and symbols stripped, so the module
# is byte-identical from any folder. `--check` compares with the committed file.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rustc_bin=${STOOPT_WASM_RUSTC:-/usr/bin/rustc}
cargo_bin=${STOOPT_WASM_CARGO:-/usr/bin/cargo}
for t in "$rustc_bin" "$cargo_bin"; do
  [ -x "$t" ] || { echo "build-wasm: $t not found; install Debian's toolchain: apt-get install -y rustc cargo libstd-rust-dev-wasm32" >&2; exit 2; }
done
target_dir="$root/target/wasm-ref"
export RUSTC="$rustc_bin"
export CARGO_TARGET_DIR="$target_dir"
export RUSTFLAGS="-C target-feature=+simd128 --remap-path-prefix=$root=. -C strip=symbols"
# Debian's cargo must not touch the network: the core has no dependencies.
"$cargo_bin" build --offline --release --target wasm32-unknown-unknown -p stoopt-core >&2
built="$target_dir/wasm32-unknown-unknown/release/stoopt_core.wasm"
if [ "${1:-}" = "--check" ]; then
  if cmp -s "$built" wasm/stoopt_core.wasm; then
    echo "build-wasm: wasm/stoopt_core.wasm matches the sources ($(sha256sum < "$built" | cut -c1-16))" >&2
  else
    echo "build-wasm: wasm/stoopt_core.wasm differs from what the sources build; run 'npm run build:wasm' and commit it" >&2
    exit 1
  fi
else
  mkdir -p wasm
  cp "$built" wasm/stoopt_core.wasm.tmp && mv wasm/stoopt_core.wasm.tmp wasm/stoopt_core.wasm
  echo "build-wasm: wrote wasm/stoopt_core.wasm ($(stat -c %s wasm/stoopt_core.wasm) bytes, sha256 $(sha256sum < wasm/stoopt_core.wasm | cut -c1-16))" >&2
fi
