#!/usr/bin/env bash
# The GPU checks of the CuPy path, as one script for a lent device machine (never CI):
#   1. the device-agreement tests on real CuPy (tests/test_backend.py's "cupy"
#      parameter and tests/test_aot.py::test_cupy_agrees_with_numpy), at issue 3's 1e-10;
#   2. bench_forward and bench_construct with --backend cupy (NumPy timed in the same run);
#   3. a cProfile of two device constructions (benchmarks/profile_construct.py).
# Run from the repository root: bash benchmarks/gpu_run.sh [OUTDIR]   (default: $OUT or ./gpu_out)
set -u -o pipefail
out=${1:-${OUT:-gpu_out}}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
{
  nvidia-smi -L
  $py -c "import sys, numpy, scipy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, 'scipy', scipy.__version__, 'cupy', cupy.__version__, 'cuda', cupy.cuda.runtime.runtimeGetVersion())"
  nproc
} 2>&1 | tee "$out/env.txt"
rc=0
$py -m pytest -q -rs tests/test_backend.py "tests/test_aot.py::test_cupy_agrees_with_numpy" 2>&1 \
  | tee "$out/pytest_cupy.txt" || rc=1
$py benchmarks/bench_forward.py --backend cupy --cases all --repeat 3 2>&1 | tee "$out/bench_forward_cupy.txt" || rc=1
$py benchmarks/bench_construct.py --backend cupy --repeat 2 --json "$out/bench_construct_cupy.json" 2>&1 \
  | tee "$out/bench_construct_cupy.txt" || rc=1
$py benchmarks/bench_construct.py --backend cupy --repeat 2 --cases T=50625 --json "$out/bench_construct_big.json" 2>&1 \
  | tee "$out/bench_construct_big.txt" || rc=1
# the CLI end to end on both backends, eps > 0 (dropped sequences: the theorem's C from M_1 and M_2)
for be in numpy cupy; do
  $py -m verify construct --kind dirichlet --N 8 --S 3 --seed 0 --d 4 --dh 4 --eps 0.05 --target optimal \
    --backend $be --json > "$out/cli_construct_$be.json" || rc=1
done
$py - "$out" <<'PY' 2>&1 | tee "$out/cli_compare.txt" || rc=1
import json, sys
a, b = (json.load(open(f"{sys.argv[1]}/cli_construct_{x}.json")) for x in ("numpy", "cupy"))
worst = max(abs(a[k] - b[k]) / max(abs(a[k]), 1e-300) for k in ("kl_model", "kl_target", "rhs", "C", "norm_WE"))
print(f"CLI construct, numpy vs cupy: largest relative difference of kl_model, kl_target, rhs, C, norm_WE = {worst:.1e};",
      "holds:", a["holds"], b["holds"], "solve:", a["solve"], b["solve"])
sys.exit(0 if worst <= 1e-10 and a["holds"] == b["holds"] else 1)
PY
for case in T=10000 T=4096-fs; do  # where the device construction spends its time
  $py benchmarks/profile_construct.py --backend cupy --case $case --top 30 2>&1 | tee -a "$out/profile_construct_cupy.txt" || rc=1
done
exit $rc
