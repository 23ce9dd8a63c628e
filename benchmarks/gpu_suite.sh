#!/usr/bin/env bash
# Everything this project measures on a GPU, as one prepared call (a lent GPU machine's time is
# short): run from the repository root on a CUDA machine. Each part has its own time cap and
# writes its JSON under $OUT (default ./gpu-results), its log into $OUT/suite.log (few files: the
# lent machine returns at most eight); a part that fails does not stop the others. The last lines
# printed are the summary.
#
#   bash benchmarks/gpu_suite.sh [parts]    # parts: env,stacked,throughput,e2e,cohort,fmnist (default: all)
#
# The caps add up to about 560 s, under one lent call's 600 s limit.
#
# Python packages the machine lacks (hydra-core, omegaconf, antlr4, submitit, the submitit
# launcher) are installed from .whl/ when that folder is there (see docs/performance.md).
set -u
OUT=${OUT:-$PWD/gpu-results}
mkdir -p "$OUT"
PARTS=${1:-env,stacked,throughput,e2e,cohort,fmnist}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD:${PYTHONPATH:-}
if [ -d .devdata/fashion-mnist ]; then export SPACED_KD_FMNIST=$PWD/.devdata/fashion-mnist; fi

part() {  # name, seconds, command...
  local name=$1 cap=$2; shift 2
  case ",$PARTS," in *",$name,"*) ;; *) return 0 ;; esac
  local t0=$SECONDS
  echo "=== $name (cap ${cap}s) ==="
  timeout "$cap" "$@" > "/tmp/gpu-suite-$name.log" 2>&1
  local rc=$?
  { echo "=== $name ==="; cat "/tmp/gpu-suite-$name.log"; } >> "$OUT/suite.log"
  tail -n 25 "/tmp/gpu-suite-$name.log"
  echo "=== $name: exit $rc after $((SECONDS - t0))s ==="
  echo "$name exit=$rc seconds=$((SECONDS - t0))" >> "$OUT/summary.txt"
}

part env 20 bash -c "nvidia-smi; $PY -c 'import torch, sys; print(sys.version); print(torch.__version__, torch.cuda.get_device_name())'"
part stacked 60 $PY benchmarks/stacked_students.py --device cuda --members 2,4,8 --rounds 5 --steps 10 --json "$OUT/stacked.json"
part throughput 190 $PY benchmarks/throughput.py --device cuda ${THROUGHPUT_ARGS:-} --json "$OUT/throughput.json"
part e2e 100 $PY benchmarks/gpu_check.py --e2e-only --json "$OUT/e2e.json"
part cohort 70 $PY benchmarks/cohort.py --device cuda --train-subset 10000 --epochs 3 --repeats 1 --json "$OUT/cohort.json"
part fmnist 120 $PY benchmarks/fmnist_row.py --device cuda --epochs 5 --budget 90 --json "$OUT/fmnist.json"
echo "=== summary ==="
cat "$OUT/summary.txt"
