#!/usr/bin/env bash
# Proof that the loom models can fail: each mutant weakens one ordering the lock-free code
# relies on (a Release made Relaxed) in a scratch copy of the tree, runs the model that
# covers it, and expects that model to FAIL. A mutant the model lets pass is a check that
# cannot fail: this script then exits 1.
#
#   bash loom-tests/mutants.sh            # every mutant
#   bash loom-tests/mutants.sh inbox      # the ones whose name contains "inbox"
#
# Uses target/loom-mutants as its target directory (one build per mutant, incremental).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
filter="${1:-}"

# name | file | exact text | replacement | test binary | model filter
mutants=(
  "inbox-push-release|src/sched/inbox.rs|node.as_ptr(),\n                Ordering::Release,|node.as_ptr(),\n                Ordering::Relaxed,|inbox|close_racing_a_push_loses_nothing"
  "bounded-stamp-release|src/channel/bounded.rs|slot.stamp.store(tail + 1, Ordering::Release)|slot.stamp.store(tail + 1, Ordering::Relaxed)|channel|two_senders_vs_receiver_bounded_1"
  "unbounded-write-release|src/channel/unbounded.rs|slot.state.fetch_or(WRITE, Ordering::Release)|slot.state.fetch_or(WRITE, Ordering::Relaxed)|channel|one_sender_vs_receiver_unbounded_three_values"
)

scratch=$(mktemp -d /tmp/hiver-mutant.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
missed=0
for m in "${mutants[@]}"; do
  IFS='|' read -r name file from to bin model <<<"$m"
  if [ -n "$filter" ] && [[ "$name" != *"$filter"* ]]; then
    continue
  fi
  rm -rf "$scratch/tree"
  mkdir -p "$scratch/tree"
  # The sources only (no target/, no .git): a copy the mutation cannot leak out of.
  tar -C "$root" --exclude=./target --exclude=./.git --exclude=./fuzz/target -cf - . | tar -C "$scratch/tree" -xf -
  python3 - "$scratch/tree/$file" "$from" "$to" <<'EOF'
import sys
path, old, new = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
text = open(path).read()
if text.count(old) != 1:
    sys.exit(f"mutation anchor found {text.count(old)} times in {path} (want exactly 1): {old!r}")
open(path, "w").write(text.replace(old, new))
EOF
  log="$scratch/$name.log"
  rc=0
  (cd "$scratch/tree" && RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 \
    CARGO_TARGET_DIR="$root/target/loom-mutants" cargo test --locked -p hiver-loom-tests --release \
    --test "$bin" -- --exact "$model" >"$log" 2>&1) || rc=$?
  if [ "$rc" -ne 0 ] && grep -q "FAILED\|panicked" "$log"; then
    why=$(grep -m1 -A1 "panicked at" "$log" | tail -n1 | head -c 160 || true)
    echo "mutant $name: caught by $bin::$model (${why:-model failed})"
  elif [ "$rc" -ne 0 ]; then
    tail -n 30 "$log" >&2
    echo "mutant $name: the build or run broke for another reason" >&2
    exit 1
  else
    echo "mutant $name: MISSED: $bin::$model passed with $file weakened" >&2
    missed=1
  fi
done
exit "$missed"
