#!/usr/bin/env bash
# A search on a real (local) Ray cluster that loses a worker node mid-search.
#
# Starts a head node and a second node with Ray's own commands, both on 127.0.0.1 with one CPU
# each, runs `recbole-spec tune --address=...` with two concurrent trials (one per node), kills
# the second node's raylet with SIGKILL once both trials have reported, and checks that the
# search still completes: the lost trial is retried (`--max-failures`), every trial ends
# TERMINATED and the best configuration is tested. Only the processes of this cluster are
# stopped at the end (never `ray stop`, which would stop every Ray on the machine).
#
#   benchmarks/ray_cluster_check.sh                          # Ray 2.6.3 (.venv)
#   PYTHON=.venv-modern/bin/python benchmarks/ray_cluster_check.sh   # current Ray
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
RAY=$(dirname "$PY")/ray
PORT=${PORT:-6391}
WORKER_PORT=$((PORT + 111))  # the second node's raylet port: how it is found and killed
WORK=$(mktemp -d /tmp/rsc-XXXXXX)  # short path: Ray's Unix sockets live under it
export RAY_TMPDIR=$WORK RAY_AUTH_MODE=${RAY_AUTH_MODE:-disabled} OMP_NUM_THREADS=1
export RAY_USAGE_STATS_ENABLED=0 PYTHONWARNINGS=ignore

kill_matching() {  # kill_matching TEXT: every process whose command line holds TEXT, and its tree
    "$PY" - "$1" <<'PYEOF'
import sys
import psutil
me = psutil.Process()
skip = {me.pid, *(p.pid for p in me.parents())}
found = {}
for proc in psutil.process_iter(["cmdline"]):
    try:
        if proc.pid not in skip and sys.argv[1] in " ".join(proc.info["cmdline"] or []):
            found[proc.pid] = proc
            found.update((c.pid, c) for c in proc.children(recursive=True))
    except psutil.Error:
        pass
for proc in found.values():
    try:
        proc.kill()
    except psutil.Error:
        pass
psutil.wait_procs(list(found.values()), timeout=10)
print(f"killed {len(found)} process(es) matching {sys.argv[1]!r}")
PYEOF
}
cleanup() {
    kill_matching "$WORK" >/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "=== ray start --head (127.0.0.1:$PORT) and a second node"
"$RAY" start --head --node-ip-address=127.0.0.1 --port="$PORT" --num-cpus=1 \
    --include-dashboard=false --temp-dir="$WORK/ray" --disable-usage-stats >"$WORK/head.log" 2>&1
"$RAY" start --address="127.0.0.1:$PORT" --node-ip-address=127.0.0.1 --num-cpus=1 \
    --node-manager-port="$WORKER_PORT" --disable-usage-stats >"$WORK/worker.log" 2>&1
"$RAY" status --address="127.0.0.1:$PORT" 2>/dev/null | sed -n '/Node status/,/Pending/p'

cat >"$WORK/space.yaml" <<'YAML'
learning_rate: {type: loguniform, low: 1.0e-3, high: 1.0e-2}
YAML
echo "=== recbole-spec tune --address=127.0.0.1:$PORT (4 trials, 2 at a time, 1 CPU each)"
start=$SECONDS
"$PY" -m recbole_spec tune --address="127.0.0.1:$PORT" --model=BPRMF --dataset=ml-100k \
    --space="$WORK/space.yaml" --out-dir="$WORK/out" --num-samples=4 --max-concurrent=2 \
    --cpus-per-trial=1 --max-failures=3 --scheduler=fifo --verbose=0 \
    --epochs=6 --stopping_step=6 --embedding_size=32 >"$WORK/tune.log" 2>&1 &
TUNE=$!

# both trials report -> one of them runs on the second node
for _ in $(seq 1 300); do
    reported=$( (find "$WORK/out/search" -name progress.csv -size +0 2>/dev/null || true) | wc -l)
    [ "$reported" -ge 2 ] && break
    kill -0 "$TUNE" 2>/dev/null || break
    sleep 1
done
echo "=== $((SECONDS - start)) s: $reported trial(s) reporting; SIGKILL the second node's raylet"
kill_matching "--node_manager_port=$WORKER_PORT"

if wait "$TUNE"; then rc=0; else rc=$?; fi
echo "=== tune exited with $rc after $((SECONDS - start)) s"
tail -n 25 "$WORK/tune.log"
"$PY" - "$WORK/out" "$rc" <<'PYEOF'
import csv
import json
import sys
from pathlib import Path

out, rc = Path(sys.argv[1]), int(sys.argv[2])
rows = list(csv.DictReader(open(out / "trials.csv")))
statuses = [row["status"] for row in rows]
failures = sum(int(row["failures"] or 0) for row in rows)
print(f"trials: {len(rows)}, statuses: {statuses}, retried failures: {failures}")
ok = rc == 0 and len(rows) == 4 and set(statuses) == {"TERMINATED"}
ok = ok and failures >= 1 and (out / "best_test.json").is_file()
if ok:
    test = json.loads((out / "best_test.json").read_text())["test_result"]
    print("best config test:", {k: round(v, 4) for k, v in test.items()})
    print("ray_cluster_check: OK (a worker node was lost, its trial retried, the search completed)")
else:
    sys.exit("ray_cluster_check: FAILED")
PYEOF
