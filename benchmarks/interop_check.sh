#!/usr/bin/env bash
# The optional extra [interop] (torch + transformer-lens), exercised for real in a throwaway virtual
# environment, so that CI (.ci/run, which never installs it) stays light. Not part of .ci/run.
#
#   bash benchmarks/interop_check.sh            # ~2-5 min, most of it pip; needs PyPI (transformer-lens's deps)
#
# 1. a fresh venv: torch==2.13.0 first (the CPU wheel on this project's machines; without it the extra's
#    `torch>=2.6` pulls a multi-GB CUDA build), then `pip install -e '.[test,interop]'`;
# 2. tests/test_interop.py and tests/test_cmd_export.py with AOTMEM_INTEROP_REQUIRED=1: a missing extra fails instead of skipping;
# 3. docs/interop.md's example in a fresh directory: its console commands, its `sh` export commands
#    (output compared with the `text` block after them, doctest-style, `...` as a wildcard) and its
#    Python block;
# 4. the exactness measured: max relative last-position logit difference, exported vs AoT.logits,
#    over random AoTs and constructed T* (eps = 0.05).
# Any failure exits non-zero with the failing step's output.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
say() { printf '\n== %s\n' "$*"; }

say "1. throwaway venv $tmp/venv: torch 2.13.0, then aotmem[test,interop]"
python3 -m venv "$tmp/venv"
# shellcheck disable=SC1091
. "$tmp/venv/bin/activate"
quiet() { "$@" > "$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log"; echo "FAILED: $*"; exit 1; }; }
quiet python -m pip install --upgrade pip
quiet pip install torch==2.13.0
quiet pip install -e '.[test,interop]'
python - <<'EOF'
from importlib.metadata import version
import torch
assert torch.__version__.startswith("2.13.0"), f"torch {torch.__version__}: not the 2.13.0 CPU wheel"
print(f"python {__import__('sys').version.split()[0]}, torch {torch.__version__}, "
      f"transformer-lens {version('transformer-lens')}, transformers {version('transformers')}, numpy {version('numpy')}")
EOF

say "2. tests/test_interop.py tests/test_cmd_export.py (AOTMEM_INTEROP_REQUIRED=1: no skips)"
AOTMEM_INTEROP_REQUIRED=1 python -m pytest -q -p no:cacheprovider -rs tests/test_interop.py tests/test_cmd_export.py

for page in interop real-text; do
say "3. the example of docs/$page.md, in a fresh directory"
mkdir "$tmp/example-$page"
python - "$root/docs/$page.md" "$tmp/example-$page" <<'EOF'
import contextlib, doctest, io, os, re, shlex, sys

from aotmem.verify.cli import main

doc, where = sys.argv[1], sys.argv[2]
os.chdir(where)
blocks = re.findall(r"^```(\w*)\n(.*?)^```", open(doc).read(), re.S | re.M)
checker, flags = doctest.OutputChecker(), doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def run(cmd):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(shlex.split(cmd)[1:])
    print(f"$ {cmd}\n{buf.getvalue()}", end="")
    if rc != 0:
        sys.exit(f"FAILED: `{cmd}` exited {rc}")
    return buf.getvalue()


ran = {"console": 0, "sh": 0, "python": 0}
for i, (lang, body) in enumerate(blocks):
    if lang == "console":
        for line in body.splitlines():
            if line.startswith("$ "):
                run(line[2:])
                ran["console"] += 1
    elif lang == "sh" and "aotmem export" in body:
        got = "".join(run(line) for line in body.splitlines() if line.startswith("aotmem "))
        ran["sh"] += 1
        if i + 1 < len(blocks) and blocks[i + 1][0] == "text":
            want = blocks[i + 1][1]
            if not checker.check_output(want, got, flags):
                sys.exit(f"FAILED: the export printed something else than {doc} shows:\n"
                         + checker.output_difference(doctest.Example("export", want), got, flags))
    elif lang == "python" and ">>>" not in body:
        print(f"(python block {ran['python'] + 1} of {doc})")
        exec(compile(body, f"{doc}:python-block", "exec"), {})
        ran["python"] += 1
need = ("console", "sh", "python") if doc.endswith("interop.md") else ("console", "sh")
if not all(ran[k] for k in need):
    sys.exit(f"FAILED: {doc} lacks part of its example (ran {ran})")
print(f"docs example ok: {ran}")
EOF
done

say "4. exactness measured (max relative last-position logit difference vs AoT.logits)"
OPENBLAS_NUM_THREADS=1 python - <<'EOF'
import numpy as np

from aotmem import interop
from aotmem.theory.aot import AoT
from aotmem.theory.construct import construct, svd_target
from aotmem.theory.generators import dirichlet_task
from aotmem.theory.task import all_sequences

rng = np.random.default_rng(2026)
worst, count = {}, 0
for _ in range(200):  # random AoTs: H 0..4, d 1..6, d_h 1..d, S 1..4, W_QK full / rank 1 / rank < d
    d, S, N, H = rng.integers(1, 7), rng.integers(1, 5), rng.integers(2, 7), rng.integers(0, 5)
    d_h, r = rng.integers(1, d + 1), rng.integers(1, d + 1)
    W_QK = 3.0 * rng.normal(size=(H, d, r)) @ rng.normal(size=(H, r, d))
    m = AoT(rng.normal(size=(N, d)), rng.normal(size=(S, d)), W_QK, rng.normal(size=(H, d_h, d)),
            rng.normal(size=(H, d, d_h)), rng.normal(size=(N, d)))
    seqs = all_sequences(N, S)[:256]
    for name, mod in (("transformer-lens identity", interop.to_transformer_lens(m)),
                      ("transformer-lens svd", interop.to_transformer_lens(m, qk="svd")),
                      ("torch", interop.to_torch(m))):
        worst[name] = max(worst.get(name, 0.0), interop.check_export(m, mod, seqs))
    count += 1
print(f"{count} random AoTs, up to 256 sequences each:")
for name, v in worst.items():
    print(f"    {name:26s} {v:.2e}")
    assert v <= interop.CHECK_RTOL, name


def long_double_logits(m, seqs):
    """The AoT's forward pass in long double (64-bit mantissa on x86): the float64 weights' exact logits, nearly."""
    L = np.longdouble
    E, P, QK, WV, WO, WU = (np.asarray(getattr(m, k), dtype=L) for k in ("embed", "pos", "W_QK", "W_V", "W_O", "W_U"))
    X = E[seqs] + P[None]
    sc = np.einsum("che,cse->chs", np.einsum("cd,hde->che", X[:, -1], QK), X)
    a = np.exp(sc - sc.max(axis=2, keepdims=True))
    a /= a.sum(axis=2, keepdims=True)
    V = np.einsum("chd,hkd->chk", np.einsum("chs,csd->chd", a, X), WV)
    return (X[:, -1] + np.einsum("chk,hdk->cd", V, WO)) @ WU.T


print("T*, eps = 0.05, all N^S sequences; in brackets: each one's error against a long-double forward pass")
for N, S, d, d_h in ((4, 2, 3, 2), (5, 2, 3, 3), (10, 3, 8, 8)):
    task = dirichlet_task(N, S, prior="zipf", seed=0)
    c = construct(task, svd_target(task, d), d=d, d_h=d_h, eps=0.05)
    seqs, r = all_sequences(N, S), c.report
    ref, own = long_double_logits(c.model, seqs), c.model.logits(seqs)
    err = lambda x: float(np.abs(x - ref).max() / np.abs(ref).max())  # noqa: E731
    print(f"  N={N} S={S} d={d} d_h={d_h} H={r.H} T_eps={r.T_eps}/{r.T} kappa_1(M_1)={r.cond_kept:.1e}:"
          f" AoT.logits [{err(own):.1e}]")
    for name, mod in (("transformer-lens identity", interop.to_transformer_lens(c)),
                      ("transformer-lens svd", interop.to_transformer_lens(c, qk="svd")),
                      ("torch", interop.to_torch(c))):
        got = interop.exported_logits(mod, seqs)
        v = interop.max_rel_logit_diff(got, own)
        print(f"    {name:26s} {v:.2e} [{err(got):.1e}]")
        assert v <= interop.CHECK_RTOL, name
EOF

say "interop check passed"
