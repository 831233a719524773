#!/usr/bin/env bash
# LM Playground build script. Installs what is missing (idempotently), builds, serves, tests, benchmarks.
#
#   ./build.sh serve [--port N]   build the release wasm and serve the page on http://127.0.0.1:8080
#   ./build.sh test               every test: native cargo tests, wasm tests in node, browser tests
#   ./build.sh bench              benchmark table; JSON in bench-results/bench.json
#   ./build.sh nanogpt [--steps N] the 2000-step nanoGPT recipe in headless chromium (≈ 15 min; JSON)
#   ./build.sh dist               a static folder (dist/) ready to host
#   ./build.sh build              just build the page's wasm (and the CLI)
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_wasm_target() {
  rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown && return
  log "installing the rustup target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
}

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
ensure_wasm_bindgen() {
  [ -f Cargo.lock ] || cargo generate-lockfile
  local want have
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
  [ -n "$want" ] || die "wasm-bindgen is not in Cargo.lock"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  [ "$have" = "$want" ] && return
  log "installing wasm-bindgen-cli $want (found: ${have:-none}); this takes a few minutes"
  # Without --locked: with it the install fails on this toolchain.
  cargo install wasm-bindgen-cli --version "$want" --force
}

# Node 20 or later (playwright-core and `node --test --test-concurrency` need it).
ensure_node() {
  command -v node >/dev/null || die "node is missing: install Node.js 20 or later (and npm)"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 20 ] || die "Node.js $(node --version) is too old: the tests need Node.js 20 or later"
}

# npm packages (wasm-opt from binaryen, playwright-core, UI libraries) from the committed lock file.
ensure_npm() {
  ensure_node
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund
  fi
}

# Debian's chromium for the browser tests, and a CJK font so Chinese text renders in screenshots.
ensure_chromium() {
  [ -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ -d /usr/share/fonts/opentype/noto ] && return
  log "installing Debian's chromium and fonts-noto-cjk for the browser tests"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
}

# A Vulkan driver for the GPU backend's native tests and benchmarks: Mesa's lavapipe (a software
# adapter, "llvmpipe") where the machine has no GPU. With none, the GPU tests print a notice and pass.
ensure_vulkan() {
  [ -n "$(ls /usr/share/vulkan/icd.d/*.json 2>/dev/null)" ] && return
  log "installing Debian's mesa-vulkan-drivers (lavapipe) for the GPU backend's tests"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
}
# Mesa's drivers want a runtime directory (they print an error on every device without one).
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

vulkan_adapter() {
  ls /usr/share/vulkan/icd.d/ 2>/dev/null | tr '\n' ' ' || echo none
}

# Third-party browser libraries, copied from node_modules (git-ignored; versions pinned in package.json).
vendor() {
  ensure_npm
  rm -rf www/vendor
  mkdir -p www/vendor/uplot www/vendor/katex/fonts www/vendor/idb
  cp node_modules/uplot/dist/uPlot.esm.js node_modules/uplot/dist/uPlot.min.css node_modules/uplot/LICENSE www/vendor/uplot/
  cp node_modules/katex/dist/katex.mjs node_modules/katex/dist/katex.min.css node_modules/katex/LICENSE www/vendor/katex/
  cp node_modules/katex/dist/fonts/*.woff2 www/vendor/katex/fonts/
  cp node_modules/idb/build/index.js www/vendor/idb/idb.js
  cp node_modules/idb/LICENSE www/vendor/idb/
}

build_wasm() {
  vendor
  ensure_wasm_target
  ensure_wasm_bindgen
  ensure_npm
  log "building the wasm core (release, +simd128)"
  cargo build --lib --release --target wasm32-unknown-unknown -p lmplay
  rm -rf www/pkg
  wasm-bindgen --target web --no-typescript --out-dir www/pkg target/wasm32-unknown-unknown/release/lmplay.wasm
  wasm-opt -O3 $WASM_OPT_MEMORY --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals www/pkg/lmplay_bg.wasm -o www/pkg/lmplay_bg.wasm
  log "www/pkg/lmplay_bg.wasm: $(wc -c < www/pkg/lmplay_bg.wasm) bytes, $(gzip -9c www/pkg/lmplay_bg.wasm | wc -c) gzipped"
  build_wasm_relaxed
}

# wasm-opt folds `load(p + C)` into the load's offset (`load offset=C (p)`) with this flag: one add
# fewer per access in the kernels' loops (+1.7 % on a Transformer step, in-process A/B). The two
# differ only where p + C wraps past 2^32 into the first KiB, which no pointer of ours does (memory
# is far below 4 GiB; Rust puts the stack first, in [0, 1 MiB)).
WASM_OPT_MEMORY="--low-memory-unused"

# The same core with relaxed SIMD (fused multiply-add in the kernels) as a second module, www/pkg-relaxed/.
# The worker loads it only where relaxed SIMD validates (docs/architecture.md, "Relaxed SIMD").
# Its own target dir: different RUSTFLAGS would otherwise rebuild the main module every time.
RELAXED_FLAGS="-C target-feature=+simd128,+relaxed-simd"
build_wasm_relaxed() {
  log "building the relaxed-SIMD wasm core (www/pkg-relaxed)"
  RUSTFLAGS="$RELAXED_FLAGS" CARGO_TARGET_DIR=target/relaxed \
    cargo build --lib --release --target wasm32-unknown-unknown -p lmplay
  rm -rf www/pkg-relaxed
  wasm-bindgen --target web --no-typescript --out-dir www/pkg-relaxed target/relaxed/wasm32-unknown-unknown/release/lmplay.wasm
  wasm-opt -O3 $WASM_OPT_MEMORY --enable-simd --enable-relaxed-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals www/pkg-relaxed/lmplay_bg.wasm -o www/pkg-relaxed/lmplay_bg.wasm
}

build_cli() {
  log "building the native CLI (target/release/lmplay)"
  cargo build --release -p lmplay --bin lmplay
}

cmd_serve() {
  local port=${PORT:-8080}
  if [ "${1:-}" = "--port" ]; then port=$2; fi
  build_wasm
  log "serving on http://127.0.0.1:$port/"
  exec node tests/harness/server.mjs --port "$port" --root .
}

# The suite builds what ships (www/pkg, www/pkg-relaxed) with the release profile, and its own test
# builds and the CLI the browser tests compare with under the `ci` profile (Cargo.toml: release code
# without LTO, parallel codegen), which compiles in about half the time.
cmd_test() {
  build_wasm
  log "building the native CLI for the tests (target/ci/lmplay, profile ci)"
  cargo build --profile ci -p lmplay --bin lmplay
  export LMPLAY_CLI=target/ci/lmplay
  ensure_chromium
  ensure_vulkan
  log "native tests (cargo test; the GPU backend's on $(vulkan_adapter))"
  cargo test --workspace --profile ci
  log "wasm tests in node (wasm-bindgen-test-runner)"
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --profile ci --target wasm32-unknown-unknown -p lmplay --lib
  log "wasm tests of the relaxed-SIMD build in node (--experimental-wasm-relaxed-simd)"
  RUSTFLAGS="$RELAXED_FLAGS" CARGO_TARGET_DIR=target/relaxed NODE_ARGS=--experimental-wasm-relaxed-simd \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test --profile ci --target wasm32-unknown-unknown -p lmplay --lib
  log "UI unit tests (node)"
  node --test tests/unit/*.test.mjs
  log "browser tests (headless chromium)"
  node --test --test-concurrency=1 tests/e2e/*.test.mjs
  log "all tests passed"
}

cmd_bench() {
  build_wasm
  build_cli
  ensure_chromium
  ensure_vulkan
  mkdir -p bench-results
  node tests/bench/run.mjs --out bench-results/bench.json
}

cmd_nanogpt() {
  build_wasm
  ensure_chromium
  node tests/bench/nanogpt.mjs "$@"
}

cmd_dist() {
  build_wasm
  log "assembling dist/"
  rm -rf dist
  mkdir -p dist
  cp index.html README.md dist/
  cp -r www dist/www
  log "dist/ is ready ($(du -sh dist | cut -f1)): serve it as static files; no special headers are needed"
}

case "${1:-}" in
  serve) shift; cmd_serve "$@" ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  nanogpt) shift; cmd_nanogpt "$@" ;;
  dist) cmd_dist ;;
  build) build_wasm; build_cli ;;
  *) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
