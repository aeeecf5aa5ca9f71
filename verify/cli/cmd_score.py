"""``aotmem score MODEL.npz TEXT... [--json]``: bits per symbol of a model on a text, next to the baselines.

The text (several files are one corpus, ``-`` is standard input) is
tokenised exactly as the model's task was: the vocabulary the model file
carries (``theory.vocab``: symbols, level, lower, ``S``, ``<other>``),
written by ``aotmem construct --task TASK --save MODEL`` when ``TASK`` came
from ``aotmem task from-text``. Printed: the model's cross-entropy in bits
per symbol and its perplexity, and the same for the baselines ``uniform``
(``log2 N`` exactly), ``unigram`` and ``ngram`` (the task the model was
built from, with its smoothing); how many predicted positions have a
context the training text never held (the n-gram scores those with the
uniform row ``1/N``; the model has logits for every context). A task file
with a vocabulary (no weights) gives the baselines alone.
"""

from __future__ import annotations

import math

from aotmem.theory.aot import NPZ_KEYS, load_aot
from aotmem.theory.validate import load_user_npz
from aotmem.theory.vocab import load_vocabulary, score
from aotmem.verify.outputs.jsonout import dumps
from .textfiles import describe, read_texts

__all__ = ["add_parser", "run", "format_score"]


def add_parser(sub) -> None:
    p = sub.add_parser("score", help="cross-entropy (bits per symbol) of a model on a text, next to the uniform, "
                       "unigram and n-gram baselines")
    p.add_argument("model", help="model file (.npz from `aotmem construct --task TEXT_TASK --save`), or a text "
                   "task file for the baselines alone")
    p.add_argument("text", nargs="+", metavar="TEXT", help="text file(s), one corpus (no context spans two "
                   "files); - reads standard input")
    p.add_argument("--encoding", default="utf-8", help="text encoding for char and word level (default utf-8)")
    p.add_argument("--json", action="store_true", help="print strict JSON (null for inf)")
    p.set_defaults(func=run)


def _f(x: float, nd: int = 4) -> str:
    return "inf" if math.isinf(x) else f"{x:.{nd}f}"


def format_score(r: dict) -> str:
    """The terminal rendering of :func:`run`'s result."""
    v = r["vocabulary"]
    lines = []
    if r.get("model"):
        m = r["model"]
        lines.append(f"model: {m['file']} (N={m['N']} S={m['S']} d={m['d']} H={m['H']} d_h={m['d_h']})")
    case = ", lower-cased" if v["lower"] else ""
    lines.append(f"vocabulary: {v['N']} symbols, {v['level']} level{case}, S={v['S']}, smoothing {v['smoothing']:g}, "
                 f"keep={v['keep']}; task from {v['source'] or 'a text'}")
    n = r["predicted"]
    lines.append(f"text: {r['text']}: {r['tokens']} symbols, {n} predicted positions; {r['unseen_contexts']} "
                 f"({100 * r['unseen_contexts'] / n:.1f}%) with a context the training text never held "
                 f"({r['unseen_distinct']} distinct; the n-gram gives them 1/N)")
    alpha = v["smoothing"]
    rows = []
    if "bits_per_symbol" in r:
        rows.append(("model", r["bits_per_symbol"], r["perplexity"]))
    b, pb = r["baselines"], r["perplexity_baselines"]
    rows += [(f"ngram (the task: S={v['S']}, add-{alpha:g})", b["ngram"], pb["ngram"]),
             (f"unigram (add-{alpha:g})", b["unigram"], pb["unigram"]),
             (f"uniform (log2 {v['N']})", b["uniform"], pb["uniform"])]
    w = max(len(x[0]) for x in rows)
    lines.append(f"{'':{w}}  bits/symbol  perplexity")
    for name, bb, pp in rows:
        lines.append(f"{name:{w}}  {_f(bb):>11}  {_f(pp, 2):>10}")
    zero = {k: c for k, c in r["zero_probability"].items() if c}
    if zero:
        lines.append("probability 0 (infinite bits) at: " + ", ".join(f"{k} {c} positions" for k, c in zero.items())
                     + " (an event unseen in training and no smoothing)")
    if "bits_per_symbol" in r:
        verdict = ("below" if r["bits_per_symbol"] < b["ngram"] else "not below")
        lines.append(f"the model is {verdict} the n-gram it was built from "
                     f"({r['bits_per_symbol'] - b['ngram']:+.4f} bits/symbol)")
    return "\n".join(lines)


def run(args) -> int:
    vocab = load_vocabulary(args.model, what="model")
    with load_user_npz("model", args.model) as data:
        is_model = all(k in data.files for k in NPZ_KEYS)
    model = load_aot(args.model)[0] if is_model else None
    texts = read_texts(args.text, vocab.level, args.encoding)
    r = score(model, vocab, texts)
    r["text"] = describe(args.text)
    r["vocabulary"] = vocab.summary()
    if model is not None:
        s = model.shape
        r["model"] = {"file": str(args.model), "N": s.N, "S": s.S, "d": s.d, "H": s.H, "d_h": s.d_h}
    print(dumps(r, indent=2) if args.json else format_score(r))
    return 0
