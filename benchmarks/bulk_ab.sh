#!/bin/bash
# Bulk throughput of this checkout against an earlier commit, interleaved in one session, so the
# busy shared machine's drift hits both sides alike (absolute records/s move by 20-30% between
# sessions here). Each round runs benchmarks/bulk_tag.py of each side with that side's own code
# and shipped model; results go to benchmarks/results/bulk_ab/.
#
#   benchmarks/bulk_ab.sh [COMMIT (default 9463bbf: the v3 model)] [ROUNDS (default 2)] [RUNS (default jobs2)]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-9463bbf}; rounds=${2:-2}; runs=${3:-jobs2}
shared=${SHARED:-$here/../shared}
old=$(mktemp -d /tmp/tagger-ab-XXXX)
trap 'git -C "$here" worktree remove --force "$old" >/dev/null 2>&1 || true' EXIT
git -C "$here" worktree add --detach -f "$old" "$rev" >/dev/null
out=$here/benchmarks/results/bulk_ab
mkdir -p "$out"
for round in $(seq "$rounds"); do
  (cd "$here" && .venv/bin/python benchmarks/bulk_tag.py --shared "$shared" --runs "$runs" \
     --json "$out/new_${runs//,/-}_$round.json" | tail -1)
  # the earlier commit's own benchmark script, code (PYTHONPATH) and shipped model
  (cd "$old" && PYTHONPATH="$old" "$here/.venv/bin/python" benchmarks/bulk_tag.py \
     --shared "$shared" --runs "$runs" --json "$out/old_${runs//,/-}_$round.json" | tail -1)
done
