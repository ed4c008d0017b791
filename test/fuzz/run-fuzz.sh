#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (called by `make -C native fuzz`; run from native/).
# Seeds are generated now (make_seeds: byte fixtures, ../shared/traces when present, valid table
# blobs) next to the persistent corpus in $FUZZ_CORPUS/<target> (native/build, gitignored), and
# the committed regression inputs of test/fuzz/regressions/<target> are replayed first.
# Exits non-zero when any target finds a crash, a leak, a timeout or a broken invariant, after
# printing the input's path, its bytes in hex and the command that reproduces it.
set -u
: "${FUZZ_SECONDS:=60}" "${FUZZ_SEED:=1}" "${FUZZ_RSS_MB:=2048}"
: "${FUZZ_BIN:=build/fuzz}" "${FUZZ_CORPUS:=build/fuzz-corpus}"
: "${FUZZ_TARGETS:=parse_frame pipeline table_loader}"
here="$(cd "$(dirname "$0")" && pwd)"
regressions="$here/regressions"
traces_dir="${SGFW_TRACES:-$here/../../../shared/traces}"

seeds="$FUZZ_BIN/seeds"
rm -rf "$seeds"
traces=()
if [ -d "$traces_dir" ]; then
  traces=("$traces_dir"/*.pcap "$traces_dir"/*.pcapng)
  traces=($(for t in "${traces[@]}"; do [ -f "$t" ] && echo "$t"; done))
else
  echo "fuzz: $traces_dir absent: seeding from the byte fixtures and table blobs only"
fi
"$FUZZ_BIN/make_seeds" "$seeds" "${traces[@]}" || { echo "fuzz: make_seeds failed"; exit 1; }

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

status=0
for t in $FUZZ_TARGETS; do
  bin="$FUZZ_BIN/fuzz_$t"
  corpus="$FUZZ_CORPUS/$t"
  artifacts="$FUZZ_BIN/artifacts/$t"
  mkdir -p "$corpus" "$artifacts" "$regressions/$t"
  rm -f "$artifacts"/*
  log="$FUZZ_BIN/fuzz_$t.log"
  echo "fuzz: $t for ${FUZZ_SECONDS}s (corpus $corpus, seed $FUZZ_SEED)"
  start=$(date +%s)
  # Regressions first, one by one as plain inputs: a finding that comes back fails here, by name.
  failed_regressions=0
  for r in "$regressions/$t"/*; do
    [ -f "$r" ] || continue
    if ! "$bin" -rss_limit_mb="$FUZZ_RSS_MB" "$r" >"$log.regression" 2>&1; then
      echo "fuzz: $t: committed regression input fails again: $r"
      grep -E 'ERROR:|runtime error:|invariant broken' "$log.regression" | head -n 3 | sed 's/^/    /'
      failed_regressions=$((failed_regressions + 1))
    fi
  done
  if [ $failed_regressions -gt 0 ]; then
    echo "fuzz: $t: not fuzzed while $failed_regressions regression input(s) fail (it would only find them again)"
    status=1
    continue
  fi
  "$bin" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb="$FUZZ_RSS_MB" -timeout=25 -seed="$FUZZ_SEED" \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "$corpus" "$seeds/$t" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  stats=$(grep -E '^stat::(number_of_executed_units|new_units_added)' "$log" | awk '{print $2}' | paste -sd/ -)
  found=$(ls "$artifacts" 2>/dev/null | head -n 1)
  if [ $rc -ne 0 ] || [ -n "$found" ]; then
    status=1
    echo "fuzz: $t FOUND A PROBLEM after $((end - start))s (exit $rc)"
    grep -E 'ERROR:|runtime error:|invariant broken|SUMMARY:' "$log" | head -n 10
    grep -E '^ +#[0-9]+ ' "$log" | head -n 25
    if [ -n "$found" ]; then
      input="$artifacts/$found"
      echo "fuzz: crashing input: $input"
      echo "fuzz: input hex: $(od -An -v -tx1 "$input" | tr -d ' \n' | head -c 4096)"
      echo "fuzz: reproduce: (cd native && $bin $input)"
      echo "fuzz: keep it: cp $input test/fuzz/regressions/$t/<name>"
    fi
    echo "fuzz: full log: $log"
  else
    echo "fuzz: $t ok in $((end - start))s (executions/new units: ${stats:-?}, corpus $(ls "$corpus" | wc -l) files)"
  fi
done
exit $status
