#!/usr/bin/env bash
# scripts/check-fixtures.sh - regenerate the packet fixtures with scapy and
# fail if they differ from the committed output (run with --write to update).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=tests/fixtures/gen_lb_fixtures.py
out=tests/fixtures/lb_fixtures.c
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
/usr/bin/python3 "$gen" > "$tmp"
if [ "${1:-}" = "--write" ]; then
  cp "$tmp" "$out"
  echo "check-fixtures: wrote $out"
  exit 0
fi
if ! diff -q "$out" "$tmp" >/dev/null; then
  echo "check-fixtures: $out is stale; run scripts/check-fixtures.sh --write" >&2
  diff "$out" "$tmp" | head -20 >&2
  exit 1
fi
echo "check-fixtures: $out matches its generator ($(grep -c 'FX_PACKET' "$out") packets)"
