"""``aotmem task``: make a task file (``.npz`` with ``prior``, ``cond``, ``seqs``; ``theory.task.save_task``).

- ``task random --kind KIND --N .. --S .. [--seed ..] --out FILE.npz``: a
  random task of a kind of ``theory.generators``.
- ``task from-text FILE... --S S [--level char|byte|word] [--lower]
  [--alphabet K | --symbols CHARS] [--smoothing ALPHA] [--keep seen|all]
  --out FILE.npz``: the n-gram task of a text (``theory.ngram``: context =
  the ``S`` previous symbols, prediction = the next one). Several files are
  one corpus (no context spans two), ``-`` is standard input; the task file
  also carries the text's vocabulary (``theory.vocab``).
- ``task from-text HELDOUT... --like TRAIN.npz --out FILE.npz``: the
  held-out task, tokenised as ``TRAIN.npz`` was and counted on its contexts
  (for ``aotmem curve TRAIN.npz --heldout FILE.npz``).
- ``task from-counts FILE [--smoothing ALPHA] [--keep seen|all] --out
  FILE.npz``: the same from a counts table (``.npy``/``.npz``/``.csv``).
- ``task example-text --out FILE.txt [--heldout FILE.txt]``: writes an
  English text that ships with Python (``theory.ngram.python_docs_text``),
  to try ``from-text`` on; ``--heldout`` splits it by topic.

Every ``--out`` is refused before any work when it names a directory or a
folder that does not exist, and ``.npz`` is added when missing: the file
printed is the file written (``verify.outfile``).

Every subcommand prints what it wrote, the policies applied and whether
Assumption 1 (one-hot rows) and Assumption 2 (full support) hold, by name;
``--json`` prints the same as strict JSON (``verify.jsonout``).
"""

from __future__ import annotations

import inspect
import json
import math
import sys
from pathlib import Path

import numpy as np

from aotmem.theory.generators import KINDS, random_task
from aotmem.theory.ngram import (KEEP, LEVELS, OTHER, counts_task, load_counts, python_docs_split,
                                  python_docs_text, text_task)
from aotmem.theory.task import save_task
from aotmem.theory.validate import load_user_npz
from aotmem.theory.vocab import heldout_counts, load_vocabulary, show_symbol, vocabulary_of
from aotmem.verify.outputs.jsonout import dumps
from .outfile import out_path
from .textfiles import describe, read_texts

# `task example-text --heldout FILE`: the share of the topics (the last ones, in sorted order) held out.
HELDOUT_FRACTION = 0.1

# `task random --kind lookup` without --entropy: each row's Shannon entropy is
# this fraction of log N, halfway between a look-up table (0) and uniform rows.
LOOKUP_ENTROPY_FRACTION = 0.5


def add_parser(sub) -> None:
    p = sub.add_parser("task", help="make a task file (.npz with prior, cond, seqs): random, from a text, from counts")
    tsub = p.add_subparsers(dest="task_command", required=True, parser_class=type(p))

    r = tsub.add_parser("random", help="draw a random task of a given kind")
    r.add_argument("--kind", required=True, choices=sorted(KINDS))
    r.add_argument("--N", type=int, required=True, help="vocabulary size")
    r.add_argument("--S", type=int, required=True, help="sequence length")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--prior", choices=("uniform", "zipf"), default="uniform")
    r.add_argument("--d", type=int, help="rank (almost-rank, permutation)")
    r.add_argument("--sigma", type=float, help="sigma_{d+1} (almost-rank)")
    r.add_argument("--entropy", type=float,
                   help="Shannon entropy of each row, in nats, at most log N (lookup; default: "
                        f"{LOOKUP_ENTROPY_FRACTION:g} log N, halfway between a look-up table and uniform rows)")
    r.add_argument("--alpha", type=float, help="Dirichlet concentration (dirichlet)")
    r.add_argument("--out", required=True, help="output .npz file")
    r.add_argument("--json", action="store_true", help="print a JSON summary instead of a line")
    r.set_defaults(func=run)

    policies = ("Unseen contexts: with --keep seen (default) only contexts that occur are kept, prior = their "
                "empirical frequency; with --keep all every context is kept (all N^S of a text, every row of a "
                "table), an unseen one with prior 0 and the uniform conditional 1/N. Zero counts: without --smoothing a next symbol never "
                "seen after a context has probability 0 and Assumption 2 (full support) fails; --smoothing ALPHA "
                "adds ALPHA to every count (additive/Laplace smoothing) and Assumption 2 holds.")
    t = tsub.add_parser("from-text", help="the n-gram task of a text: context = the S previous symbols, "
                        "prediction = the next",
                        description="The n-gram task of a text: context = the S previous symbols, prediction = "
                        "the next symbol; prior = how often each context occurs. " + policies)
    t.add_argument("file", nargs="+", metavar="FILE",
                   help="text file(s) (UTF-8 unless --encoding; read as bytes for --level byte), read as one corpus "
                        "(no context spans two files); - reads standard input")
    t.add_argument("--like", metavar="TRAIN.npz",
                   help="a held-out task: tokenise as the text task TRAIN.npz was (its symbols, level, lower, S) and "
                        "count on its contexts; a context it lacks is counted as outside (scored uniform 1/N). "
                        "Excludes --S, --level, --lower, --alphabet, --symbols, --keep; --smoothing defaults to "
                        "TRAIN's")
    t.add_argument("--S", type=int, help="context length, in symbols (required unless --like)")
    t.add_argument("--level", choices=LEVELS, default=None,
                   help="symbols: characters, UTF-8 bytes, or words (runs of word characters; each punctuation "
                        "character is its own word) (default: char). Labels: a character as itself (NUL as \\x00); "
                        "a byte as its ASCII character, \\t \\n \\r as themselves, any other as \\xNN")
    t.add_argument("--lower", action="store_true", help="lower-case the text first")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--alphabet", type=int, metavar="K",
                   help=f"keep the K most frequent symbols, all others become one symbol {OTHER} (N = K + 1 "
                        "when the text has more than K symbols); symbols as frequent as each other are ranked by "
                        "their label (Unicode code point order), so the choice is deterministic; token ids follow "
                        "that order, most frequent first; default: every symbol")
    g.add_argument("--symbols", metavar="CHARS",
                   help=f"keep exactly these symbols (the characters of CHARS; at word level, space-separated "
                        f"words), all others become {OTHER}")
    t.add_argument("--encoding", default="utf-8", help="text encoding for --level char/word (default utf-8)")
    _common(t)

    c = tsub.add_parser("from-counts", help="the task of a counts table n(context, next symbol)",
                        description="The task of a counts table n(context, next symbol): prior = n(t) / n, "
                        "conditional = the row frequencies. " + policies + " FILE: .npy (T, N) counts; .npz with key counts and optionally "
                        "seqs (T, S), symbols (N,), contexts (T,); or .csv with a header "
                        "`context,<symbol>,...` and one row per context (its label and N counts).")
    c.add_argument("file", help="counts file (.npy, .npz or .csv)")
    _common(c)

    e = tsub.add_parser("example-text", help="write an English text that ships with Python, to try from-text on")
    e.add_argument("--out", required=True, help="output text file (UTF-8)")
    e.add_argument("--heldout", metavar="FILE",
                   help=f"split by topic: the last {HELDOUT_FRACTION:.0%}% of the topics go to FILE, the rest to --out")
    e.set_defaults(func=run_example_text)


def _common(p) -> None:
    p.add_argument("--smoothing", type=float, default=None, metavar="ALPHA",
                   help="add ALPHA >= 0 to every count (additive smoothing; > 0 makes Assumption 2 hold) "
                        "(default 0: none)")
    p.add_argument("--keep", choices=KEEP, default=None,
                   help="seen: contexts that occur; all: all N^S contexts, unseen ones with prior 0 and a "
                        "uniform row (default: seen)")
    p.add_argument("--out", required=True, help="output .npz file")
    p.add_argument("--json", action="store_true", help="print a JSON summary instead of lines")
    p.set_defaults(func=run_ngram)


def _yes(b: bool) -> str:
    return "holds" if b else "fails"


def _assumptions(task) -> str:
    return (f"Assumption 1 (one-hot rows): {_yes(task.is_association())}; "
            f"Assumption 2 (full support): {_yes(task.full_support())}")


def run(args) -> int:
    out_path(args.out)  # refused before any work
    gen = KINDS[args.kind]
    params = inspect.signature(gen).parameters
    kw = {"prior": args.prior}
    defaulted = ""
    if args.kind == "lookup" and args.entropy is None:
        if args.N < 2:
            raise ValueError(f"`--N` must be >= 2 (got {args.N})")
        args.entropy = LOOKUP_ENTROPY_FRACTION * math.log(args.N)
        defaulted = f" entropy={args.entropy:.6g} (default: {LOOKUP_ENTROPY_FRACTION:g} log N)"
    for name in ("d", "sigma", "entropy", "alpha"):
        val = getattr(args, name)
        if val is None:
            if name in params and params[name].default is inspect.Parameter.empty:
                raise ValueError(f"`--{name}` is required for --kind {args.kind}")
            continue
        if name not in params:
            raise ValueError(f"`--{name}` does not apply to --kind {args.kind}")
        kw[name] = val
    task = random_task(args.kind, args.N, args.S, seed=args.seed, **kw)
    out = out_path(args.out)
    task.save(out)
    args.out = str(out)
    if args.json:
        print(dumps({"out": args.out, "kind": args.kind, "N": task.N, "S": task.S, "T": task.T, "seed": args.seed,
                     **{k: v for k, v in kw.items()},
                     "assumption1_one_hot": task.is_association(),
                     "assumption2_full_support": task.full_support()}, indent=2))
    else:
        print(f"wrote {args.out}: kind={args.kind} N={task.N} S={task.S} T={task.T} seed={args.seed}{defaulted}")
    return 0


_LIKE_EXCLUDES = ("S", "level", "lower", "alphabet", "symbols", "keep")


def _print_symbols(symbols) -> None:
    shown = " ".join(show_symbol(x) for x in symbols)
    print(f"symbols (token ids 0..{len(symbols) - 1}): {shown}")


def run_ngram(args) -> int:
    out = out_path(args.out)  # refused before any work: the printed name is the file written
    if args.task_command == "from-text" and args.like is not None:
        return _run_like(args, out)
    smoothing = 0.0 if args.smoothing is None else args.smoothing
    keep = args.keep or "seen"
    more = {}
    if args.task_command == "from-text":
        if args.S is None:
            raise ValueError("`--S` is required (or --like TRAIN.npz for a held-out task)")
        level = args.level or "char"
        if args.lower and level == "byte":
            raise ValueError("`--lower` applies to --level char or word, not to raw bytes (--level byte)")
        texts = read_texts(args.file, level, args.encoding)
        symbols = None
        if args.symbols is not None:
            symbols = args.symbols.split() if level == "word" else list(args.symbols)
        res = text_task(texts, args.S, level=level, alphabet=args.alphabet, symbols=symbols,
                        smoothing=smoothing, keep=keep, lower=args.lower)
        unit = {"char": "characters", "byte": "bytes", "word": "words"}[level]
        source = f"{res.tokens} {unit} of {describe(args.file)}"
        more = vocabulary_of(res, source).arrays(with_task=False)
    else:
        data = load_counts(Path(args.file))
        res = counts_task(data["counts"], smoothing=smoothing, keep=keep, seqs=data["seqs"],
                          symbols=data["symbols"], contexts=data["contexts"])
        source = f"counts of {Path(args.file).name}"
    save_task(res.task, out, **more)
    args.out = str(out)
    summary = {"out": args.out, "source": source, **res.summary()}
    if args.json:
        print(dumps(summary, indent=2))
        return 0
    t = res.task
    print(f"wrote {args.out}: N={t.N} S={t.S} T={t.T} T_0={summary['T_0']} from {source}")
    if t.symbols is not None:
        _print_symbols(t.symbols.tolist())
    for line in res.policy_lines():
        print(line)
    print(_assumptions(t))
    return 0


def _run_like(args, out) -> int:
    given = [f"--{k}" for k in _LIKE_EXCLUDES if getattr(args, k) not in (None, False)]
    if given:
        raise ValueError(f"`--like` takes the tokenisation from the training task: drop {', '.join(given)}")
    vocab = load_vocabulary(args.like, what="training task")
    with load_user_npz("training task", args.like) as data:
        contexts = np.array(data["contexts"]) if "contexts" in data.files else None
    texts = read_texts(args.file, vocab.level, args.encoding)
    hc = heldout_counts(texts, vocab)
    inside = int(hc["counts"].sum())
    if inside == 0:
        raise ValueError(f"no context of the held-out text is among the {vocab.seqs.shape[0]} contexts of "
                         f"`{args.like}`: nothing to count on them")
    alpha = vocab.smoothing if args.smoothing is None else args.smoothing
    res = counts_task(hc["counts"], smoothing=alpha, keep="all", seqs=vocab.seqs, symbols=list(vocab.symbols),
                      contexts=contexts)
    unit = {"char": "characters", "byte": "bytes", "word": "words"}[vocab.level]
    source = f"{hc['tokens']} {unit} of {describe(args.file)}, like {Path(args.like).name}"
    meta = {"like": Path(args.like).name, "tokens": hc["tokens"], "inside": inside, "outside": hc["outside"],
            "source": source}
    save_task(res.task, out, **vocab.arrays(), heldout_counts=hc["counts"], heldout_outside=np.array(hc["outside"]),
              heldout_outside_next=hc["outside_next"], heldout_json=np.array(json.dumps(meta)))
    args.out = str(out)
    summary = {"out": args.out, "source": source, **res.summary(), "heldout": meta}
    if args.json:
        print(dumps(summary, indent=2))
        return 0
    t = res.task
    n = inside + hc["outside"]
    print(f"wrote {args.out}: held-out task N={t.N} S={t.S} T={t.T} (the contexts of {Path(args.like).name}) "
          f"from {source}")
    _print_symbols(vocab.symbols)
    print(f"positions: {n} predicted; {inside} on a context of the training task, {hc['outside']} "
          f"({100 * hc['outside'] / n:.1f}%) on a context it lacks (scored uniform 1/N by `curve --heldout`)")
    print(f"prior: the held-out frequency of each training context ({int(np.count_nonzero(t.prior))} of {t.T} "
          f"occur); conditional: held-out counts, smoothing {alpha:g}")
    print(_assumptions(t))
    return 0


def run_example_text(args) -> int:
    out = out_path(args.out, suffix=None)
    v = sys.version_info
    what = (f"the pydoc topics of Python {v.major}.{v.minor}.{v.micro} (pydoc_data.topics; the text differs "
            "between Python releases)")
    if args.heldout is None:
        text = python_docs_text()
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}: {len(text)} characters of English, {what}")
        return 0
    held = out_path(args.heldout, "--heldout", suffix=None)
    if held.resolve() == out.resolve():
        raise ValueError("`--heldout` must name another file than --out")
    train, test, k = python_docs_split(HELDOUT_FRACTION)
    out.write_text(train, encoding="utf-8")
    held.write_text(test, encoding="utf-8")
    print(f"wrote {out}: {len(train)} characters of English, the first topics of {what}")
    print(f"wrote {held}: {len(test)} characters, the last {k} topics (held out: none of them is in {out.name})")
    return 0
