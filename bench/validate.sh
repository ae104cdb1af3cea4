#!/usr/bin/env bash
# Benchmark of `livecb validate` against a plain encoding/json decode of the
# same lines, `jq -c .` and `jq empty`; and peak memory on a 1 GB file.
# Writes bench/out/validate.md (bench/run folds it into bench/README.md).
#
#   bash bench/validate.sh            # 200,000 callbacks + a 1 GB file
#   N=50000 BIG=0 bash bench/validate.sh   # quicker: no 1 GB file
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-200000}
BIG=${BIG:-1GB}
out=bench/out
mkdir -p "$out"

if ! command -v jq >/dev/null || [ ! -x /usr/bin/time ]; then
  echo "installing jq and GNU time from Debian's packages"
  apt-get update -qq && apt-get install -y -qq jq time >/dev/null
fi

go build -o "$out/livecb" ./cmd/livecb
go build -o "$out/jsondecode" ./bench/jsondecode
go build -o "$out/gen" ./bench/gen
"$out/gen" -n "$N" -o "$out/mixed.ndjson"
size=$(stat -c %s "$out/mixed.ndjson")

# time1 NAME CMD...: one run's wall time and peak RSS (KB), appended to
# validate.times. GNU time puts "Command exited with non-zero status"
# first when a command fails (validate exits 1: the file has invalid
# callbacks on purpose), hence tail.
time1() {
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || true
  echo "$name $(tail -n 1 "$out/time.txt")" >>"$out/validate.times"
}

# Three rounds, the commands taking turns in each; the best of each
# command's three runs is reported.
names=("livecb validate -q" "encoding/json decode (baseline)" "jq -c ." "jq empty")
: >"$out/validate.times"
for _ in 1 2 3; do
  time1 v "$out/livecb" validate -q "$out/mixed.ndjson"
  time1 d "$out/jsondecode" "$out/mixed.ndjson"
  time1 j jq -c . "$out/mixed.ndjson"
  time1 e jq empty "$out/mixed.ndjson"
done
: >"$out/validate.rows"
for i in 0 1 2 3; do
  key=$(echo v d j e | cut -d' ' -f$((i + 1)))
  awk -v k="$key" -v n="${names[$i]}" -v size="$size" -v count="$N" '$1==k && (best == "" || $2 < best) { best = $2; kb = $3 }
    END { s = best; if (s == 0) s = 0.001
      printf "| %s | %.2f | %.1f | %.0f | %.0f |\n", n, s, size/1048576/s, count/s, kb/1024 }' "$out/validate.times" >>"$out/validate.rows"
done
cat "$out/validate.rows"

livecb_s=$(sed -n 1p "$out/validate.rows" | awk -F'|' '{print $3}')
decode_s=$(sed -n 2p "$out/validate.rows" | awk -F'|' '{print $3}')
jq_s=$(sed -n 3p "$out/validate.rows" | awk -F'|' '{print $3}')
jqe_s=$(sed -n 4p "$out/validate.rows" | awk -F'|' '{print $3}')

{
  echo "### Validating ($N mixed callbacks, $(awk -v s="$size" 'BEGIN{printf "%.1f", s/1048576}') MB of NDJSON)"
  echo
  echo "| command | seconds (best of 3) | MB/s | callbacks/s | peak RSS (MB) |"
  echo "|---|---|---|---|---|"
  cat "$out/validate.rows"
  echo
  awk -v l="$livecb_s" -v d="$decode_s" -v j="$jq_s" -v je="$jqe_s" 'BEGIN{
    printf "- time of validate / time of a plain decode: **%.2fx** (target: at most 2x)\n", l/d
    printf "- speed of validate against `jq empty` (time of jq empty / time of validate): **%.2fx** as fast (target: at least 1.5x); against `jq -c .`: %.2fx\n", je/l, j/l }'
} >"$out/validate.md"
# The ratio of the targets table: jq empty's time over validate's.
awk -v l="$livecb_s" -v je="$jqe_s" 'BEGIN{ printf "%.2f\n", je/l }' >"$out/validate.ratio"

if [ "$BIG" != "0" ]; then
  "$out/gen" -size "$BIG" -o "$out/big.ndjson"
  bigsize=$(stat -c %s "$out/big.ndjson")
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$out/livecb" validate -q "$out/big.ndjson" >/dev/null 2>&1 || true
  read -r secs kb < <(tail -n 1 "$out/time.txt")
  awk -v s="$secs" -v kb="$kb" -v size="$bigsize" 'BEGIN{
    printf "- peak memory of `livecb validate -q` on a %.2f GB file: **%.1f MB** in %.1f s (target: under 64 MB)\n", size/1073741824, kb/1024, s }' >>"$out/validate.md"
  rm -f "$out/big.ndjson"
fi
cat "$out/validate.md"
