#!/usr/bin/env bash
# Runs the benchmark suite (see bench/run.ts for workloads and flags) with a file limit high enough
# for tens of thousands of sockets per process.
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# The workloads skip connection counts this limit cannot hold (each process holds one end of each).
export BENCH_FD_LIMIT="$(ulimit -n)"
exec node -r ./test/support/ts-register.js bench/run.ts "$@"
