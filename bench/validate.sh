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
go run ./bench/gen -n "$N" -o "$out/mixed.ndjson"
size=$(stat -c %s "$out/mixed.ndjson")

# run NAME CMD...: best wall time of 3 runs and its peak RSS (KB). GNU time
# puts "Command exited with non-zero status" first when a command fails
# (validate exits 1: the file has invalid callbacks on purpose), hence tail.
run() {
  local name=$1; shift
  local best="" rss=""
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" || true
    read -r secs kb < <(tail -n 1 "$out/time.txt")
    if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; rss=$kb; fi
  done
  awk -v n="$name" -v s="$best" -v kb="$rss" -v size="$size" -v count="$N" 'BEGIN{
    if (s == 0) s = 0.001
    printf "| %s | %.2f | %.1f | %.0f | %.0f |\n", n, s, size/1048576/s, count/s, kb/1024 }' >>"$out/validate.rows"
  echo "$name: ${best}s"
}

: >"$out/validate.rows"
run "livecb validate -q" "$out/livecb" validate -q "$out/mixed.ndjson"
run "encoding/json decode (baseline)" "$out/jsondecode" "$out/mixed.ndjson"
run "jq -c ." jq -c . "$out/mixed.ndjson"
run "jq empty" jq empty "$out/mixed.ndjson"

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
    printf "- validate / plain decode: **%.2fx** (target: at most 2x)\n", l/d
    printf "- validate / `jq -c .`: **%.2fx**; validate / `jq empty`: **%.2fx** (target: below 1, faster than jq)\n", l/j, l/je }'
} >"$out/validate.md"

if [ "$BIG" != "0" ]; then
  go run ./bench/gen -size "$BIG" -o "$out/big.ndjson"
  bigsize=$(stat -c %s "$out/big.ndjson")
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$out/livecb" validate -q "$out/big.ndjson" >/dev/null 2>&1 || true
  read -r secs kb < <(tail -n 1 "$out/time.txt")
  awk -v s="$secs" -v kb="$kb" -v size="$bigsize" 'BEGIN{
    printf "- peak memory of `livecb validate -q` on a %.2f GB file: **%.1f MB** in %.1f s (target: under 64 MB)\n", size/1073741824, kb/1024, s }' >>"$out/validate.md"
  rm -f "$out/big.ndjson"
fi
cat "$out/validate.md"
