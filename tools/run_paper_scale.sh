#!/usr/bin/env bash
# Runs every experiment's paper preset, one `jaxrnn run` each (what `jaxrnn
# reproduce --preset paper` does in one process, but one failure does not stop
# the rest), logging wall time, CPU time (user + system), exit status and load
# average to
# OUT/timing.txt; then copies records, summaries and figures (no files over
# 2 MB, no locks) into docs/paper-scale and rebuilds the claim table.
#
#   bash tools/run_paper_scale.sh [OUT]      # default OUT: results-paper
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-results-paper}
DOCS=docs/paper-scale
mkdir -p "$OUT"
: > "$OUT/timing.txt"
TIMEFORMAT="%U %S"
for n in $(jaxrnn list | awk '{print $1}'); do
  s=$(date +%s)
  { time jaxrnn run "$n" --preset paper --out "$OUT" --no-progress > "$OUT/$n.log" 2>&1; } 2> "$OUT/$n.time"
  rc=$?
  cpu=$(awk '{printf "%d", $1 + $2}' "$OUT/$n.time")
  echo "$n rc=$rc wall_s=$(( $(date +%s) - s )) cpu_s=$cpu load=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/timing.txt"
done
for d in "$OUT"/*/paper; do
  n=$(basename "$(dirname "$d")")
  mkdir -p "$DOCS/$n/paper"
  for f in "$d"/config.json "$d"/results.jsonl "$d"/summary.md "$d"/*.png; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 2000000 ] && cp "$f" "$DOCS/$n/paper/"
  done
done
cp "$OUT/timing.txt" "$DOCS/timing.txt"
python tools/paper_table.py
