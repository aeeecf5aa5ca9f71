"""``aotmem task``: make a task file (``.npz`` with ``prior``, ``cond``, ``seqs``; ``theory.task.save_task``).

- ``task random --kind KIND --N .. --S .. [--seed ..] --out FILE.npz``: a
  random task of a kind of ``theory.generators``.
- ``task from-text FILE --S S [--level char|byte|word] [--lower]
  [--alphabet K | --symbols CHARS] [--smoothing ALPHA] [--keep seen|all]
  --out FILE.npz``: the n-gram task of a text (``theory.ngram``: context =
  the ``S`` previous symbols, prediction = the next one).
- ``task from-counts FILE [--smoothing ALPHA] [--keep seen|all] --out
  FILE.npz``: the same from a counts table (``.npy``/``.npz``/``.csv``).
- ``task example-text --out FILE.txt``: writes an English text that ships
  with Python (``theory.ngram.python_docs_text``), to try ``from-text`` on.

Every subcommand prints what it wrote, the policies applied and whether
Assumption 1 (one-hot rows) and Assumption 2 (full support) hold, by name;
``--json`` prints the same as strict JSON (``verify.jsonout``).
"""

from __future__ import annotations

import inspect
import math
import sys
from pathlib import Path

from aotmem.theory.generators import KINDS, random_task
from aotmem.theory.ngram import KEEP, LEVELS, OTHER, counts_task, load_counts, python_docs_text, text_task
from aotmem.verify.jsonout import dumps

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
    t.add_argument("file", help="text file (UTF-8 unless --encoding; read as bytes for --level byte)")
    t.add_argument("--S", type=int, required=True, help="context length, in symbols")
    t.add_argument("--level", choices=LEVELS, default="char",
                   help="symbols: characters, UTF-8 bytes, or words (runs of word characters; each punctuation "
                        "character is its own word) (default: char)")
    t.add_argument("--lower", action="store_true", help="lower-case the text first")
    g = t.add_mutually_exclusive_group()
    g.add_argument("--alphabet", type=int, metavar="K",
                   help=f"keep the K most frequent symbols, all others become one symbol {OTHER} (N = K + 1 "
                        "when the text has more than K symbols); default: every symbol")
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
    e.set_defaults(func=run_example_text)


def _common(p) -> None:
    p.add_argument("--smoothing", type=float, default=0.0, metavar="ALPHA",
                   help="add ALPHA >= 0 to every count (additive smoothing; > 0 makes Assumption 2 hold) "
                        "(default 0: none)")
    p.add_argument("--keep", choices=KEEP, default="seen",
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
    task.save(args.out)
    if args.json:
        print(dumps({"out": args.out, "kind": args.kind, "N": task.N, "S": task.S, "T": task.T, "seed": args.seed,
                     **{k: v for k, v in kw.items()},
                     "assumption1_one_hot": task.is_association(),
                     "assumption2_full_support": task.full_support()}, indent=2))
    else:
        print(f"wrote {args.out}: kind={args.kind} N={task.N} S={task.S} T={task.T} seed={args.seed}{defaulted}")
    return 0


def _read_text(path: Path, level: str, encoding: str):
    if not path.is_file():
        raise ValueError(f"text file `{path}` does not exist or is not a file")
    if level == "byte":
        return path.read_bytes()
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"text file `{path}` is not valid {encoding} ({exc.reason} at byte {exc.start}); "
                         "pass --encoding, or --level byte") from None
    except LookupError:
        raise ValueError(f"`--encoding` {encoding!r} is not a known text encoding") from None


def run_ngram(args) -> int:
    path = Path(args.file)
    if args.task_command == "from-text":
        text = _read_text(path, args.level, args.encoding)
        symbols = None
        if args.symbols is not None:
            symbols = args.symbols.split() if args.level == "word" else list(args.symbols)
        res = text_task(text, args.S, level=args.level, alphabet=args.alphabet, symbols=symbols,
                        smoothing=args.smoothing, keep=args.keep, lower=args.lower)
        unit = {"char": "characters", "byte": "bytes", "word": "words"}[args.level]
        source = f"{res.tokens} {unit} of {path.name}"
    else:
        data = load_counts(path)
        res = counts_task(data["counts"], smoothing=args.smoothing, keep=args.keep, seqs=data["seqs"],
                          symbols=data["symbols"], contexts=data["contexts"])
        source = f"counts of {path.name}"
    res.task.save(args.out)
    summary = {"out": args.out, "source": source, **res.summary()}
    if args.json:
        print(dumps(summary, indent=2))
        return 0
    t = res.task
    print(f"wrote {args.out}: N={t.N} S={t.S} T={t.T} T_0={summary['T_0']} from {source}")
    if t.symbols is not None:
        shown = " ".join(repr(s)[1:-1] if s != " " else "' '" for s in t.symbols.tolist())
        print(f"symbols (token ids 0..{t.N - 1}): {shown}")
    for line in res.policy_lines():
        print(line)
    print(_assumptions(t))
    return 0


def run_example_text(args) -> int:
    text = python_docs_text()
    Path(args.out).write_text(text, encoding="utf-8")
    v = sys.version_info
    print(f"wrote {args.out}: {len(text)} characters of English, the pydoc topics of Python "
          f"{v.major}.{v.minor}.{v.micro} (pydoc_data.topics; the text differs between Python releases)")
    return 0
