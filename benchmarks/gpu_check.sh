#!/usr/bin/env bash
# GPU check for the device machine (Python 3.12, numpy 2, torch CUDA, pandas, scipy present;
# no RecBole, no Ray, no network). Builds nothing there. Three modes:
#
#   benchmarks/gpu_check.sh prepare   here, with network: wheels/ (RecBole 1.2.1 and the small
#                                     pure-Python packages it imports that the image lacks) and
#                                     gpu_data/ (CiteULike imported, paper protocol); both are
#                                     git-ignored and travel with the run tool's `carry`
#   benchmarks/gpu_check.sh device    on the GPU machine: install the wheels into /tmp/site, then
#                                     pytest -m gpu, one epoch of every plugin model on CiteULike,
#                                     the evaluation and epoch benchmarks, paper-protocol epochs
#                                     on CiteULike and Gowalla eager vs CUDA graph, and the Gowalla
#                                     headline run under holdout; logs to $OUT
#   benchmarks/gpu_check.sh dry-run   here: the device steps on the CPU with .venv-modern's
#                                     Python and the carried wheels first on the path (GPU tests
#                                     skip, ml-100k instead of CiteULike); checks the script only
#
# Every step has its own time limit (pytest 120 s, each model 60 s, each benchmark 60 s) and no
# step starts after 7 minutes, so the device mode ends within 8; on an H100 each step should
# take a fraction of its limit.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE=${1:-device}
WHEELS=wheels
DATA=gpu_data
# The packages RecBole 1.2.1 imports that the GPU image lacks (it has torch, numpy, scipy,
# pandas, scikit-learn, tensorboard, tqdm, pyyaml, psutil, tabulate, colorama, pytest). plotly
# and ray are imported only by RecBole's hyper-tuning and quick-start modules, which the plugin's
# run does not use.
WHEEL_SPECS=(recbole==1.2.1 colorlog==6.12.0 texttable==1.7.0 thop==0.1.1.post2209072238)

prepare() {
    local py=${PYTHON:-.venv/bin/python}
    rm -rf "$WHEELS" && mkdir -p "$WHEELS"
    "$py" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        -d "$WHEELS" "${WHEEL_SPECS[@]}" 2>&1 | grep -v "is ignored" || true
    local count
    count=$(ls "$WHEELS"/*.whl 2>/dev/null | wc -l)
    if [ "$count" -ne "${#WHEEL_SPECS[@]}" ]; then
        echo "gpu_check: expected ${#WHEEL_SPECS[@]} wheels in $WHEELS, got $count" >&2
        return 1
    fi
    if [ ! -f "$DATA/citeulike/citeulike.train.inter" ]; then
        local source=${RECBOLE_SPEC_SOURCE:-../shared/datasets}
        RECBOLE_SPEC_DATA_HOME=$PWD/$DATA "$py" -m recbole_spec import citeulike \
            --source "$source" --protocol=paper || return 1
    fi
    if [ ! -f "$DATA/gowalla/gowalla.train.inter" ]; then
        RECBOLE_SPEC_DATA_HOME=$PWD/$DATA "$py" -m recbole_spec import gowalla \
            --source "${RECBOLE_SPEC_SOURCE:-../shared/datasets}" || return 1
    fi
    du -sh "$WHEELS" "$DATA"
    echo "gpu_check: prepared; carry [\"$WHEELS\", \"$DATA\"]"
}

SUMMARY=()
FAILED=0
step() {  # step NAME LIMIT_S COMMAND...: skipped once DEADLINE seconds have passed
    local name=$1 limit=$2 start=$SECONDS rc
    shift 2
    if [ "$SECONDS" -ge "${DEADLINE:-100000}" ]; then
        SUMMARY+=("skip  0s  $name (past the ${DEADLINE}s deadline)")
        FAILED=$((FAILED + 1))
        return
    fi
    echo "=== $name"
    timeout "$limit" "$@"
    rc=$?
    local took=$((SECONDS - start))
    if [ "$rc" -eq 0 ]; then
        SUMMARY+=("ok    ${took}s  $name")
    else
        SUMMARY+=("FAIL  ${took}s  $name (exit $rc)")
        FAILED=$((FAILED + 1))
    fi
}

optional_bench() {  # optional_bench SCRIPT LIMIT_S ARGS...: skipped when the script is absent
    local script=$1 limit=$2
    shift 2
    if [ ! -f "$script" ]; then
        SUMMARY+=("skip  0s  $script (not in this checkout)")
        return
    fi
    local extra=()
    if "$PY" "$script" --help 2>/dev/null | grep -q -- "--device"; then
        extra+=("--device=$DEVICE")
    fi
    step "$script $* ${extra[*]}" "$limit" "$PY" "$script" "$@" "${extra[@]}"
}

run_checks() {
    local site=/tmp/recbole_spec_site
    case "$PY" in  # an absolute path: the model runs work in another folder
        */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;;
    esac
    rm -rf "$site"
    "$PY" -m pip install --quiet --no-index --no-deps --no-compile --target "$site" \
        "$WHEELS"/*.whl || { echo "gpu_check: wheel install failed" >&2; return 1; }
    export PYTHONPATH="$site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
    export RECBOLE_SPEC_DATA_HOME=$PWD/$DATA PYTHONUNBUFFERED=1 PYTHONWARNINGS=ignore
    "$PY" - <<'PYEOF'
import numpy, pandas, recbole, scipy, torch
import recbole_spec
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
print(f"python ok: torch {torch.__version__} (CUDA device: {cuda}), numpy {numpy.__version__}, "
      f"pandas {pandas.__version__}, scipy {scipy.__version__}, recbole {recbole.__version__} "
      f"from {recbole.__file__}")
PYEOF
    [ $? -eq 0 ] || return 1
    local models
    models=${GPU_CHECK_MODELS:-$("$PY" -c "from recbole_spec import list_models; print(' '.join(list_models()))")}
    [ -f "$DATA/citeulike/citeulike.train.inter" ] || { echo "gpu_check: no $DATA/citeulike" >&2; return 1; }
    step "pytest -m gpu" 120 "$PY" -m pytest -q -m gpu -p no:cacheprovider tests/
    local repo=$PWD work=/tmp/recbole_spec_gpu_work
    mkdir -p "$work" && cd "$work" || return 1  # RecBole's log/ and saved/ go here
    for model in $models; do
        step "$model: 1 epoch on $DATASET ($DEVICE)" "$EPOCH_LIMIT" "$PY" -m recbole_spec run \
            --model="$model" --dataset="$DATASET" --epochs=1 --gpu_id="$GPU_ID" \
            --checkpoint_dir=/tmp/recbole_spec_gpu_check --eval_batch_size=4096000
    done
    optional_bench "$repo/benchmarks/bench_eval.py" "$BENCH_LIMIT" --dataset="$DATASET" \
        --model=DirectSpecPlus
    optional_bench "$repo/benchmarks/bench_epoch.py" "$BENCH_LIMIT" --dataset="$DATASET" --epochs=3
    # Issue 19: seconds per paper-protocol epoch, eager vs captured (CUDA graph); the console's
    # pace line prints s/epoch. Then the Gowalla headline under holdout (paper settings +
    # stop_on_stall), whole run.
    for paper in $PAPER_DATASETS; do
        [ -f "$RECBOLE_SPEC_DATA_HOME/$paper/$paper.train.inter" ] || [ "$paper" = ml-100k ] \
            || { SUMMARY+=("skip  0s  $paper epochs (not prepared)"); continue; }
        local preset=directspec_$paper  # the dataset's paper preset; ml-100k borrows CiteULike's
        [ "$paper" = ml-100k ] && preset=directspec_citeulike
        for graph in False True; do
            step "DirectSpecPlus paper protocol on $paper, cuda_graph=$graph" "$EPOCH_LIMIT" \
                "$PY" -m recbole_spec run --model=DirectSpecPlus --dataset="$paper" \
                --preset="$preset" --epochs=3 --eval_step=3 --cuda_graph="$graph" \
                --console_interval=0 --gpu_id="$GPU_ID" --checkpoint_dir=/tmp/recbole_spec_gpu_check
        done
    done
    if [ -n "$HEADLINE" ] && [ -f "$RECBOLE_SPEC_DATA_HOME/$HEADLINE/$HEADLINE.train.inter" ]; then
        step "headline: DirectSpecPlus on $HEADLINE (holdout, whole run)" "$HEADLINE_LIMIT" \
            /usr/bin/time -v "$PY" -m recbole_spec run --model=DirectSpecPlus --dataset="$HEADLINE" \
            --gpu_id="$GPU_ID" --checkpoint_dir=/tmp/recbole_spec_gpu_check
    fi
    cd "$repo" || return 1
    echo "=== summary ($MODE, ${SECONDS}s in all)"
    printf '%s\n' "${SUMMARY[@]}"
    [ "$FAILED" -eq 0 ]
}

case "$MODE" in
    prepare)
        prepare
        ;;
    device)
        PY=${PYTHON:-python3} DEVICE=cuda GPU_ID=0 DATASET=citeulike EPOCH_LIMIT=60 BENCH_LIMIT=60
        PAPER_DATASETS="citeulike gowalla" HEADLINE=gowalla HEADLINE_LIMIT=200
        DEADLINE=420  # no step starts after 7 minutes
        mkdir -p "${OUT:-/tmp/gpu_check_out}"
        run_checks 2>&1 | tee "${OUT:-/tmp/gpu_check_out}/gpu_check.log"
        exit "${PIPESTATUS[0]}"
        ;;
    dry-run)
        # ml-100k: one CiteULike epoch per model takes minutes on a shared CPU
        PY=${PYTHON:-.venv-modern/bin/python} DEVICE=cpu GPU_ID="" DATASET=ml-100k
        EPOCH_LIMIT=300 BENCH_LIMIT=300 PAPER_DATASETS=ml-100k HEADLINE="" HEADLINE_LIMIT=0
        export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
        run_checks
        ;;
    *)
        echo "usage: $0 prepare | device | dry-run" >&2
        exit 2
        ;;
esac
