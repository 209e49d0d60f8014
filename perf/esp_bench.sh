#!/bin/sh
# perf/esp_bench.sh - userspace ESP throughput (perf/esp_bench.c) with two
# baselines from the same run: the bare EVP AES-GCM measured inside
# esp_bench, and `openssl speed -evp aes-{128,256}-gcm` (its 64, 256,
# 1024, 8192 and 16384-byte columns, plus the nearest column to each of
# our sizes for a second ratio). One core, nothing else should be running.
#
# usage: perf/esp_bench.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR has bin/esp_bench (build it without sanitizers, e.g.
#   cmake -B /tmp/b -DSTRAIT_BPF=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo &&
#   cmake --build /tmp/b --target esp_bench); SECONDS per figure (2).
set -eu
build=${1:-build}
secs=${2:-2}
bench=$build/bin/esp_bench
[ -x "$bench" ] || { echo "esp_bench.sh: no $bench; build target esp_bench" >&2; exit 1; }

pin=
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
	pin="taskset -c 0"
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM
$pin "$bench" "$secs" | tee "$out"

echo
echo "# openssl speed -evp, Gbit/s per buffer size ($secs s each)"
printf '%-12s %8s %8s %8s %8s %8s\n' cipher 64 256 1024 8192 16384
for c in aes-128-gcm aes-256-gcm; do
	# -mr prints "+F:n:name:v16:v64:v256:v1024:v8192:v16384" in bytes/s
	line=$($pin openssl speed -mr -seconds "$secs" -evp "$c" 2>/dev/null |
		grep '^+F:' | tail -1)
	echo "$line" | awk -F: -v c="$c" '{ printf "%-12s", c;
		for (i = 5; i <= 9; i++) printf " %8.2f", $i * 8 / 1e9; printf "\n" }'
	echo "$line" >>"$out.ossl"
done

echo
echo "# ESP encap/decap against openssl speed's nearest column (64->64, 512->256, 1400->1024)"
printf '%-8s %5s %9s %9s %9s %9s\n' cipher bytes encGb/s decGb/s ossl_Gb/s enc/ossl
awk -v oss="$out.ossl" '
BEGIN { while ((getline l < oss) > 0) { n = split(l, f, ":"); k = (f[3] ~ /256/) ? "aes-256" : "aes-128";
	o[k, 64] = f[5]; o[k, 512] = f[6]; o[k, 1400] = f[7]; } }
$1 ~ /^aes-/ && $2 ~ /^[0-9]+$/ { g = o[$1, $2] * 8 / 1e9; if (g > 0)
	printf "%-8s %5s %9.2f %9.2f %9.2f %9.2f\n", $1, $2, $5, $8, g, $5 / g }' "$out"
rm -f "$out.ossl"
