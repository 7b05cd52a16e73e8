#!/usr/bin/env bash
# Consumer smoke test: installs the package as a user would and uses it.
#
# Packs this repository (the tarball `npm publish` would upload), installs it with NestJS 11 and the
# official @microsoft/signalr client from the registry into two fresh strict apps (strict: true,
# skipLibCheck: false) in a temporary directory: one CommonJS (module node16) and one ESM ("type":
# "module", module nodenext), built from test/consumer/. Each app type-checks with TypeScript 5.9, 6
# and 7, then runs: it reaches its hub over WebSockets, Server-Sent Events and Long Polling and
# checks that import and require load one copy of the package, then calls the hub in process through
# nestjs-signalr/testing. The CommonJS app takes @microsoft/signalr ^11 and the ESM app ^10, so a
# plain npm install (which fails with ERESOLVE on a client outside our peer range) proves both ends of
# the range. The project itself must also build with TypeScript 6 and 7. After the pack,
# the three jobs run side by side. Any failure exits non-zero.
# Needs the registry (npm install, and npx for TypeScript 6 and 7).
#
# CONSUMER_NEST=12 installs Nest 12 instead of 11 (for a lane on a Node that runs it). Nest 12 is
# ES modules only, which a CommonJS app can import only under `module: nodenext` (TypeScript 5.8 and
# later: require of ES modules), so its CommonJS app uses nodenext instead of node16.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS
nest=${CONSUMER_NEST:-11}
work=$(mktemp -d "${TMPDIR:-/tmp}/nestjs-signalr-consumers.XXXXXX")
trap 'rm -rf "$work"' EXIT
step() { printf '[consumer-smoke %3ds] %s\n' "$((SECONDS - started))" "$*"; }
quiet() { # runs a command, showing its output only when it fails
  local log
  log=$(mktemp "$work/step.XXXXXX")
  if ! "$@" >"$log" 2>&1; then cat "$log"; echo "FAILED: $*"; return 1; fi
}

project_builds_with_typescript_6_and_7() {
  for major in 6 7; do
    step "project: build with TypeScript $major (output discarded)"
    quiet npx --yes -p "typescript@$major" tsc -p tsconfig.build.json --outDir "$work/ts$major-build"
  done
  step "project: built with TypeScript 6 and 7"
}

consumer() {
  local kind=$1 app="$work/$1"
  mkdir -p "$app/src"
  cp test/consumer/shared/*.ts "test/consumer/$kind/"*.ts "$app/src/"
  cp "test/consumer/$kind/package.json" "test/consumer/$kind/tsconfig.json" "$app/"
  # Only the @nestjs lines: @microsoft/signalr's "^11.0.0" is the client's major, not Nest's.
  sed -i "/\"@nestjs\//s/\"\\^11\.0\.0\"/\"^$nest.0.0\"/" "$app/package.json"
  if [ "$nest" -ge 12 ]; then sed -i 's/"node16"/"nodenext"/g' "$app/tsconfig.json"; fi
  cd "$app"
  step "$kind: install the tarball, Nest $nest and @microsoft/signalr $(node -p "require('./package.json').dependencies['@microsoft/signalr']")"
  quiet npm install --no-audit --no-fund --loglevel=error "$tarball"
  step "$kind: type-check with TypeScript $(npx tsc --version | cut -d' ' -f2) and build"
  quiet npx tsc -p tsconfig.json
  for major in 6 7; do
    step "$kind: type-check with TypeScript $major"
    quiet npx --yes -p "typescript@$major" tsc -p tsconfig.json --noEmit
  done
  step "$kind: run"
  node dist/main.js
  step "$kind: passed"
}

step "npm pack (builds through prepare)"
quiet npm pack --pack-destination "$work"
tarball=$(ls "$work"/nestjs-signalr-*.tgz)

jobs=(project_builds_with_typescript_6_and_7 "consumer cjs" "consumer esm")
pids=()
for job in "${jobs[@]}"; do
  (cd "$root" && $job) >"$work/job-${#pids[@]}.log" 2>&1 &
  pids+=($!)
done
failed=0
for i in "${!jobs[@]}"; do
  if ! wait "${pids[$i]}"; then failed=1; fi
  cat "$work/job-$i.log"
done
if [ "$failed" -ne 0 ]; then
  step "FAILED"
  exit 1
fi
step "passed"
