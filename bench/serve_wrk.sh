#!/bin/sh
# serve_wrk.sh — bounded load run of `slava serve` with wrk (Debian's wrk): text queries on
# /api/search at 1 and 8 concurrent clients, DURATION seconds each; prints requests/s and the
# p50 / p99 latency. Not part of the tests (timings never gate tests); docs/serve.md has figures.
# Usage: bench/serve_wrk.sh INDEX [DURATION_S] [-- serve options, e.g. --clip DIR --clap DIR]
set -eu
INDEX=${1:?usage: bench/serve_wrk.sh INDEX [DURATION_S] [-- serve options]}
shift
DUR=10
if [ $# -gt 0 ] && [ "$1" != "--" ]; then DUR=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
SLAVA=${SLAVA:-$(dirname "$0")/../build/slava}
command -v wrk >/dev/null || { echo "serve_wrk: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
OUT=$(mktemp -d)
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$OUT"' EXIT
"$SLAVA" serve "$INDEX" --port 0 --quiet "$@" >"$OUT/url" 2>"$OUT/err" &
PID=$!
for i in $(seq 1 600); do grep -q listening "$OUT/url" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^listening on //p' "$OUT/url")
[ -n "$URL" ] || { echo "serve_wrk: the server did not start:" >&2; cat "$OUT/err" >&2; exit 1; }
Q="api/search?text=a+dog+barks+while+a+car+passes&in=both&k=10"
curl -sf "$URL$Q" >/dev/null 2>&1 || wget -q -O /dev/null "$URL$Q" 2>/dev/null || true
echo "slava serve load: GET /$Q, ${DUR} s per run, $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-8s %-8s %12s %10s %10s %8s\n" clients threads requests/s p50 p99 errors
for C in 1 8; do
  T=$([ $C = 1 ] && echo 1 || echo 2)
  wrk -t$T -c$C -d${DUR}s --latency "$URL$Q" >"$OUT/wrk" 2>&1
  RPS=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk")
  P50=$(awk '$1 == "50%" {print $2}' "$OUT/wrk")
  P99=$(awk '$1 == "99%" {print $2}' "$OUT/wrk")
  ERR=$(awk '/Non-2xx|Socket errors/ {e = e $0 "; "} END {print e == "" ? 0 : e}' "$OUT/wrk")
  printf "%-8s %-8s %12s %10s %10s %8s\n" "$C" "$T" "$RPS" "$P50" "$P99" "$ERR"
done
