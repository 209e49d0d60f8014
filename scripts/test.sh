#!/usr/bin/env bash
# scripts/test.sh - the one test command: installs dependencies, builds
# (normal, ASan+UBSan for the userspace suites, libFuzzer harnesses), and
# runs every suite through ctest. Exits non-zero on any failure.
#
#   sudo scripts/test.sh            # everything
#   STRAIT_SKIP_DEPS=1 scripts/test.sh
#   STRAIT_TEST_FILTER=bpf scripts/test.sh   # ctest -R filter
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=$(nproc)
t0=$(date +%s)
step() { printf '\n== %s (%ds)\n' "$*" $(( $(date +%s) - t0 )); }

if [ -z "${STRAIT_SKIP_DEPS:-}" ]; then
  step "dependencies"
  scripts/install-deps.sh
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "test.sh: the BPF and end-to-end suites need root" >&2
  exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
ulimit -l unlimited 2>/dev/null || true

filter=()
[ -n "${STRAIT_TEST_FILTER:-}" ] && filter=(-R "$STRAIT_TEST_FILTER")

step "build (RelWithDebInfo)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs" 2>&1 | grep -Ev '^\[|^-- ' || true
cmake --build build -j"$jobs" >/dev/null   # fail here if the build failed

step "build (ASan+UBSan, userspace suites)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSTRAIT_SANITIZE=ON \
      -DSTRAIT_BPF=OFF >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null

step "build (libFuzzer harnesses)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSTRAIT_FUZZ=ON -DSTRAIT_BPF=OFF >/dev/null
cmake --build build-fuzz -j"$jobs" >/dev/null

step "fixtures are up to date with their generator"
scripts/check-fixtures.sh

rc=0
step "unit + fixtures under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -L unit "${filter[@]}") || rc=1

step "all suites (unit, bpf, e2e)"
(cd build && ctest --output-on-failure "${filter[@]}") || rc=1

step "fuzz (short runs)"
(cd build-fuzz && ctest --output-on-failure -L fuzz "${filter[@]}") || rc=1

step "done"
if [ $rc -ne 0 ]; then
  echo "test.sh: FAILED"
  exit 1
fi
echo "test.sh: all suites passed"
