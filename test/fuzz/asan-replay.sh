#!/usr/bin/env bash
# Replays EVERY trace of ../shared/traces through the core built with AddressSanitizer + UBSan
# (native/build/sgfw-replay-asan, `make -C native asan-replay`) and fails on any sanitizer report.
# Tables: the controller's own blobs (test/fuzz/make-blob.mjs over the BUILT dist/, so run
# `npm run build` first) for
#   - every policy of test/fixtures/trace-policies, each against every trace (conntrack limited
#     to 4096 flows unless the policy says otherwise: a million-flow table per replay is slow
#     under ASan and says nothing more);
#   - a permissive AWS and a permissive Alibaba policy with one interface per address the traces
#     hold (so every packet reaches conntrack and the classifier), replayed plain and with a
#     table swap every few packets to a twin with the interfaces in reverse order (the reload
#     flushes flows) and the groups swapped; conntrack limited to 64 flows (full-table paths).
# Skips, saying why, when ../shared/traces is absent (it lives next to the checkout). Run from
# the repository root or anywhere: paths are resolved from this file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
traces_dir="${SGFW_TRACES:-$root/../shared/traces}"
bin="$root/native/build/sgfw-replay-asan"

if [ ! -d "$traces_dir" ]; then
  echo "asan-replay: skipped: $traces_dir is absent (the shared traces live next to the checkout, not in it)"
  exit 0
fi
shopt -s nullglob
traces=("$traces_dir"/*.pcap "$traces_dir"/*.pcapng)
if [ ${#traces[@]} -eq 0 ]; then
  echo "asan-replay: skipped: no .pcap/.pcapng in $traces_dir"
  exit 0
fi
[ -f "$root/dist/dataplane/policy-table.js" ] || { echo "asan-replay: dist/ missing: run npm run build first"; exit 1; }
make -s -C "$root/native" asan-replay

export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

work="$(mktemp -d /tmp/sgfw-asan-replay-XXXXXX)"
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
runs=0

# Every report goes to the log; any of these markers fails the run even if the exit status is 0.
run() {
  local log="$work/run-$runs.log"
  runs=$((runs + 1))
  if ! "$bin" "$@" >"$log" 2>&1 || grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|FAILED' "$log"; then
    echo "asan-replay: FAILED: $bin $*"
    cat "$log"
    exit 1
  fi
  grep -q 'rejected input' "$log" && grep 'rejected input' "$log" | sed 's/^/asan-replay: note: /'
  return 0
}

# The permissive tables, over the addresses the traces hold.
mapfile -t addrs < <("$bin" --list-addresses "${traces[@]}" | awk '{print $2}' | head -n 200)
[ ${#addrs[@]} -gt 0 ] || { echo "asan-replay: no IP address in the traces?"; exit 1; }
node "$root/test/fuzz/make-blob.mjs" --max-flows 64 --permissive aws "$work/aws.blob" "${addrs[@]}" >/dev/null
node "$root/test/fuzz/make-blob.mjs" --max-flows 64 --permissive alibaba "$work/alibaba.blob" "${addrs[@]}" >/dev/null
# Twins with the interface list reversed: a swap to them flushes every flow (other interfaces).
mapfile -t rev < <(printf '%s\n' "${addrs[@]}" | tac)
node "$root/test/fuzz/make-blob.mjs" --max-flows 64 --permissive aws "$work/aws-rev.blob" "${rev[@]}" >/dev/null
node "$root/test/fuzz/make-blob.mjs" --max-flows 64 --permissive alibaba "$work/alibaba-rev.blob" "${rev[@]}" >/dev/null

run "$work/aws.blob" "${traces[@]}"
run "$work/alibaba.blob" "${traces[@]}"
run --swap-every 3 --swap-blob "$work/aws-rev.blob" "$work/aws.blob" "${traces[@]}"
run --swap-every 2 --swap-blob "$work/alibaba-rev.blob" "$work/alibaba.blob" "${traces[@]}"
echo "asan-replay: permissive AWS and Alibaba tables: ${#traces[@]} traces, ${#addrs[@]} interfaces, plain and with swaps: clean"

# Every trace policy against every trace (most packets then meet no interface or the defaults).
n=0
for p in "$root"/test/fixtures/trace-policies/*.json; do
  node "$root/test/fuzz/make-blob.mjs" --max-flows 4096 "$p" "$work/p$n.blob" >/dev/null
  run "$work/p$n.blob" "${traces[@]}"
  n=$((n + 1))
done
echo "asan-replay: $n trace policies x ${#traces[@]} traces: clean"
echo "asan-replay: $runs sanitizer runs, no report, in $(( $(date +%s) - start ))s"
