"""``aotmem export MODEL.npz --to transformer-lens|torch --out FILE [--qk identity|svd] [--check all|FILE]``.

Writes the AoT of ``MODEL.npz`` (``aotmem construct --save``) as a
TransformerLens ``HookedTransformer`` or a plain PyTorch module
(:mod:`aotmem.theory.interop`), saved with ``torch.save`` as
``{"format", "kind", "config", "state_dict", "vocabulary"}`` (reload:
``aotmem.theory.interop.load_export``; the model's text vocabulary, when it has
one, becomes the module's ``aotmem_vocabulary``). ``--check`` reloads the written file and
prints the largest relative difference between its last-position logits
and ``AoT.logits`` on the given sequences; above ``--tol`` (default
``interop.CHECK_RTOL = 1e-10``) the command exits 1.

torch and transformer-lens are the optional extra ``[interop]``: without
them the command prints one line naming the extra and exits 2.
"""

from __future__ import annotations

import sys

from aotmem.theory import interop
from aotmem.theory.vocab import has_vocabulary, load_vocabulary
from .outfile import out_path


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write the AoT as a TransformerLens HookedTransformer or a PyTorch module"
                       " (needs the [interop] extra)")
    p.add_argument("model", help="model file (.npz from `aotmem construct --save`)")
    p.add_argument("--to", required=True, choices=interop.KINDS, help="target framework")
    p.add_argument("--out", required=True, help="output file (torch.save; reload with aotmem.theory.interop.load_export)")
    p.add_argument("--qk", choices=interop.QK_SCHEMES, default="identity",
                   help="how W_QK is split into W_Q W_K^T for transformer-lens (identity: d_head = d; svd: its rank)")
    p.add_argument("--check", metavar="all|FILE",
                   help="compare the written model's last-position logits with the AoT's on these sequences: "
                        "`all` (N^S), a .npz with seqs (model or task file) or a .npy (T, S)")
    p.add_argument("--tol", type=float, default=interop.CHECK_RTOL,
                   help="largest accepted relative logit difference for --check (default %(default)g)")
    p.set_defaults(func=run)


def run(args) -> int:
    out = out_path(args.out, suffix=None)  # a missing folder is the input's fault (exit 2), found before any work
    try:
        interop.require(args.to)
    except ImportError as exc:  # the optional extra is absent: one line, exit 2
        sys.stderr.write(f"aotmem: error: {exc}\n")
        return 2
    if args.to != "transformer-lens" and args.qk != "identity":
        raise ValueError("`--qk` applies only with --to transformer-lens (to_torch keeps W_QK whole)")
    if not (args.tol >= 0):
        raise ValueError(f"`--tol` must be >= 0 (got {args.tol})")
    model = interop.as_aot(args.model)
    seqs = interop.seqs_for_check(args.check, model) if args.check is not None else None
    if args.to == "transformer-lens":
        module = interop.to_transformer_lens(model, qk=args.qk)
        c = module.cfg
        what = (f"transformer-lens HookedTransformer (1 layer, attention only, float64): n_heads={c.n_heads} "
                f"d_model={c.d_model} d_head={c.d_head} n_ctx={c.n_ctx} d_vocab={c.d_vocab}; qk={args.qk}")
    else:
        module = interop.to_torch(model)
        s = model.shape
        what = f"torch AoTModule (float64): N={s.N} S={s.S} d={s.d} H={s.H} d_h={s.d_h}"
    vocab = load_vocabulary(args.model).summary() if has_vocabulary(args.model) else None
    interop.save_export(module, out, vocabulary=vocab)
    args.out = str(out)
    print(f"wrote {args.out}: {what}")
    if vocab is not None:
        print(f"vocabulary: {vocab['N']} symbols ({vocab['level']} level, S={vocab['S']}) in the file's metadata "
              "(aotmem.theory.interop.load_export(...).aotmem_vocabulary)")
    if seqs is None:
        return 0
    diff = interop.check_export(model, interop.load_export(args.out), seqs)  # the file as written, reloaded
    ok = diff <= args.tol
    print(f"check: {seqs.shape[0]} sequences, max relative logit difference {diff:.1e} "
          f"{'<=' if ok else '>'} {args.tol:g}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1
