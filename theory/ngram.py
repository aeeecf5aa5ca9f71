"""n-gram tasks from real data: the next symbol after each context of ``S`` symbols.

Notation (docs/theory.md#notation): a *context* ``t`` is the ``S`` symbols
before a position of a text, the prediction ``o`` the symbol at it. From the
counts ``n(t, o)`` (how often ``o`` follows ``t``) and ``n(t) = sum_o n(t, o)``:

- prior ``p(t) = n(t) / sum_t' n(t')``, the empirical frequency of the
  context (never smoothed);
- conditional ``pi(o|t) = (n(t, o) + alpha) / (n(t) + N alpha)``, the row
  frequencies after additive (Laplace, Lidstone) smoothing by ``alpha >= 0``.

Policies, stated once here and reported by the CLI (``aotmem task from-text``,
``aotmem task from-counts``):

- Symbols: the ``K`` most frequent symbols of the text (``alphabet=K``; ties
  broken by the symbol's label, so the choice is deterministic) plus one
  symbol ``OTHER`` (``"<other>"``) for all the rest; ``OTHER`` exists only
  when some symbol is left out. Token ids follow that order: most frequent
  first, ``OTHER`` last.
- Contexts, ``keep="seen"``: only contexts that occur (``n(t) > 0``); every
  row comes from counts. ``keep="all"``: all ``N**S`` contexts; a context
  that never occurs has prior 0 and, having no counts, the uniform
  conditional ``1/N`` (what additive smoothing gives it for every
  ``alpha > 0``, and its limit as ``alpha -> 0``). Rows of prior 0 change no
  divergence and no prior-weighted quantity; they do enter the unweighted
  readings of ``sigma_{d+1}`` as rows of zeros once centred.
- Zero counts: without smoothing (``alpha = 0``) a pair ``(t, o)`` never
  seen has ``pi(o|t) = 0``, so Assumption 2 (full support) fails; any
  ``alpha > 0`` makes every ``pi(o|t) > 0`` and Assumption 2 holds.
  Assumption 1 (one-hot rows) holds only when every seen context is always
  followed by the same symbol, ``alpha = 0`` and no unseen context is kept.

Every row of the conditional sums to 1 (``Task`` checks it); nothing is
renormalised after the fact.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .task import Task, all_sequences
from .validate import check_array, check_int, check_positive, load_user_npz

__all__ = ["LEVELS", "KEEP", "OTHER", "MAX_CELLS", "NgramTask", "tokenize", "choose_alphabet", "count_contexts",
           "counts_task", "text_task", "load_counts", "python_docs_text", "python_docs_split"]

LEVELS = ("char", "byte", "word")
KEEP = ("seen", "all")
OTHER = "<other>"

# Largest T x N table built: 2**24 float64 entries = 128 MiB per array. The
# builder holds about three such arrays (counts, the smoothed rows, the task's
# copy), well inside a laptop's memory; beyond it, shrink `alphabet` or use
# keep="seen".
MAX_CELLS = 2**24

# Word tokens: runs of word characters, or one other non-space character
# (punctuation is its own token), as in most simple word-level models.
_WORD = re.compile(r"\w+|[^\w\s]")


# Bytes shown as their character, as at char level: printable ASCII and the white space \t \n \r (so a
# newline is the label "\n" at both levels); every other byte is the 4-character label ``\xNN``.
_BYTE_AS_CHAR = frozenset([*range(32, 127), 9, 10, 13])
# NUL: NumPy's unicode arrays drop trailing NULs (a task file would store the label "\x00" as ""), so at
# char level it has the label ``\x00`` too, the same as at byte level.
NUL_LABEL = "\\x00"


def _byte_label(b: int) -> str:
    """A printable ASCII byte or ``\\t \\n \\r`` as itself, any other as ``\\xNN`` (labels stay distinct)."""
    return chr(b) if b in _BYTE_AS_CHAR else f"\\x{b:02x}"


def tokenize(text, level: str = "char", *, lower: bool = False) -> list[str]:
    """The symbols of ``text`` at ``level`` (``LEVELS``), as string labels, in order.

    ``char``: one symbol per Unicode character. ``byte``: one per byte of the
    UTF-8 encoding (``text`` may also be ``bytes``), printable ASCII and
    ``\\t \\n \\r`` as themselves and any other byte as ``\\xNN``
    (at char level too, the NUL character is the label ``\\xNN`` = ``\\x00``,
    which NumPy's string arrays can store). ``word``: runs of word
    characters, each other non-space character on its own (regular
    expression ``\\w+|[^\\w\\s]``); white space separates and is dropped.
    ``lower`` lower-cases the text first (not for ``bytes`` input).

    >>> tokenize("Ab, c!", "word")
    ['Ab', ',', 'c', '!']
    >>> tokenize("Ab", "char", lower=True), tokenize("é", "byte")
    (['a', 'b'], ['\\\\xc3', '\\\\xa9'])
    """
    if level not in LEVELS:
        raise ValueError(f"`level` must be one of {LEVELS} (got {level!r})")
    if isinstance(text, (bytes, bytearray)):
        if level != "byte":
            raise ValueError(f"`text` given as bytes needs level='byte' (got {level!r}); decode it first")
        if lower:
            raise ValueError("`lower` applies to text, not to raw bytes (--lower needs --level char or word, "
                             "or a str text)")
        return [_byte_label(b) for b in bytes(text)]
    if not isinstance(text, str):
        raise ValueError(f"`text` must be a str (or bytes for level='byte') (got {type(text).__name__})")
    if lower:
        text = text.lower()
    if level == "char":
        return [NUL_LABEL if c == "\0" else c for c in text] if "\0" in text else list(text)
    if level == "byte":
        return [_byte_label(b) for b in text.encode("utf-8")]
    return _WORD.findall(text)


def choose_alphabet(tokens, alphabet: int | None = None) -> tuple[str, ...]:
    """The symbol labels of the task, in token-id order: the ``alphabet`` most frequent, then ``OTHER`` if needed.

    Frequency ties are broken by the label (ascending), so the result depends
    on the counts only. ``alphabet=None`` keeps every symbol (no ``OTHER``).

    >>> choose_alphabet(list("abracadabra"), 2)
    ('a', 'b', '<other>')
    >>> choose_alphabet(list("abracadabra"))
    ('a', 'b', 'r', 'c', 'd')
    """
    freq = Counter(tokens)
    if not freq:
        raise ValueError("`tokens` must not be empty")
    if OTHER in freq:
        raise ValueError(f"`tokens` must not contain the reserved label {OTHER!r}")
    ranked = sorted(freq, key=lambda s: (-freq[s], s))
    if alphabet is None:
        return tuple(ranked)
    K = check_int("alphabet", alphabet, minimum=1)
    if K >= len(ranked):
        return tuple(ranked)
    return (*ranked[:K], OTHER)


def count_contexts(tokens, S: int, symbols) -> tuple[np.ndarray, np.ndarray]:
    """``(seqs, counts)``: every context of ``S`` symbols that occurs, and ``n(t, o)``.

    ``symbols`` is the alphabet (:func:`choose_alphabet`); a token outside it
    counts as ``OTHER``, which must then be in ``symbols``. Contexts are the
    windows ``tokens[i-S:i]`` for ``i = S .. len(tokens)-1`` (the first ``S``
    tokens only serve as context), as rows of token ids in lexicographic
    order; ``counts`` is ``(T_seen, N)``, integer-valued float64, and sums to
    ``len(tokens) - S``.

    >>> seqs, counts = count_contexts(list("abab"), 1, ("a", "b"))
    >>> seqs.tolist(), counts.tolist()
    ([[0], [1]], [[0.0, 2.0], [1.0, 0.0]])
    """
    ids, N = _ids(tokens, symbols)
    S = check_int("S", S, minimum=1)
    if ids.size <= S:
        raise ValueError(f"`tokens` must hold more than S={S} symbols to give one context (got {ids.size})")
    return _count_windows(np.lib.stride_tricks.sliding_window_view(ids, S + 1), S, N)


def _count_windows(win: np.ndarray, S: int, N: int) -> tuple[np.ndarray, np.ndarray]:
    """``(seqs, counts)`` of the windows ``win (n, S + 1)`` (context, next id)."""
    seqs, inv = np.unique(win[:, :S], axis=0, return_inverse=True)
    _check_cells(seqs.shape[0], N, "keep='seen'")
    counts = np.bincount(inv.ravel() * N + win[:, S], minlength=seqs.shape[0] * N)
    return seqs.astype(np.int64), counts.reshape(seqs.shape[0], N).astype(np.float64)


def _ids(tokens, symbols) -> tuple[np.ndarray, int]:
    symbols = tuple(symbols)
    N = len(symbols)
    if N < 2:
        raise ValueError(f"`symbols` must name at least N=2 symbols (got {N}): a task needs two outcomes")
    if len(set(symbols)) != N:
        raise ValueError("`symbols` must not name a symbol twice")
    index = {s: i for i, s in enumerate(symbols)}
    other = index.get(OTHER)
    try:
        ids = np.fromiter((index[s] if other is None else index.get(s, other) for s in tokens), dtype=np.int64)
    except KeyError as exc:
        raise ValueError(f"`tokens` holds the symbol {exc.args[0]!r}, which `symbols` lacks "
                         f"(and `symbols` has no {OTHER!r})") from None
    return ids, N


def _check_cells(T: int, N: int, what: str) -> None:
    if T * N > MAX_CELLS:
        raise ValueError(f"a {T} x {N} table ({what}) exceeds MAX_CELLS = {MAX_CELLS} entries: use fewer "
                         "symbols (alphabet=K, --alphabet K), a smaller S or keep='seen' (--keep seen)")


@dataclass(frozen=True)
class NgramTask:
    """A task built from counts, with the counts and the policies that made it (module docstring).

    ``task``: the :class:`Task` (its ``symbols`` and ``contexts`` set);
    ``counts``: ``(T, N)`` raw counts of the kept contexts (rows of zeros for
    unseen contexts under ``keep="all"``); ``smoothing``: ``alpha``;
    ``keep``: ``"seen"`` or ``"all"``; ``seen``/``unseen``: kept contexts
    with and without counts; ``dropped``: contexts left out (``keep="seen"``
    only; for text, contexts that never occur are not counted as dropped);
    ``tokens``: symbols of the text (0 for counts given directly);
    ``level``, ``lower``: the text's tokenisation (``""`` for counts).
    """

    task: Task
    counts: np.ndarray
    smoothing: float
    keep: str
    seen: int
    unseen: int
    dropped: int = 0
    tokens: int = 0
    level: str = ""  # the tokenisation of a text task (text_task), "" for counts given directly
    lower: bool = False

    @property
    def zero_cells(self) -> int:
        """Pairs ``(t, o)`` of seen contexts never counted (``pi(o|t) = 0`` without smoothing)."""
        seen = self.counts.sum(axis=1) > 0
        return int(np.count_nonzero(self.counts[seen] == 0))

    def policy(self) -> str:
        """The policies applied, in one line (:meth:`policy_lines` joined by ``"; "``)."""
        return "; ".join(self.policy_lines())

    def policy_lines(self) -> list[str]:
        """One sentence per policy applied: kept contexts (and unseen ones), zero counts."""
        t = self.task
        out = []
        if self.keep == "seen":
            out.append(f"contexts: the {self.seen} seen (keep=seen; prior = empirical frequency of the context)")
        else:
            out.append(f"contexts: all {t.T} (keep=all): {self.seen} seen, {self.unseen} unseen "
                       "(an unseen context has prior 0 and the uniform conditional 1/N)")
        if self.smoothing > 0:
            out.append(f"smoothing: {self.smoothing:g} added to every count (additive), so every pi(o|t) > 0")
        else:
            out.append(f"smoothing: none; {self.zero_cells} zero counts among seen contexts give pi(o|t) = 0")
        return out

    def summary(self) -> dict:
        """JSON-ready description: sizes, policies, the assumptions (by name) and the symbols."""
        t = self.task
        return {"N": t.N, "S": t.S, "T": t.T, "T_0": int(np.count_nonzero(t.prior)), "tokens": self.tokens,
                "seen": self.seen, "unseen": self.unseen, "dropped": self.dropped, "keep": self.keep,
                "smoothing": self.smoothing, "zero_counts": self.zero_cells,
                "assumption1_one_hot": t.is_association(), "assumption2_full_support": t.full_support(),
                "policy": self.policy(),
                "symbols": None if t.symbols is None else t.symbols.tolist()}


def _check_keep(keep: str) -> str:
    if keep not in KEEP:
        raise ValueError(f"`keep` must be one of {KEEP} (got {keep!r})")
    return keep


def counts_task(counts, *, smoothing: float = 0.0, keep: str = "seen", seqs=None, symbols=None,
                contexts=None, tokens: int = 0) -> NgramTask:
    """The task of counts ``n(t, o)`` (module docstring: ``p(t) = n(t)/n``, ``pi(o|t) = (n(t,o)+alpha)/(n(t)+N alpha)``).

    ``counts``: ``(T, N)``, finite and ``>= 0`` (weighted counts need not be
    integers), with a positive total. ``keep="seen"`` drops the rows of
    ``n(t) = 0``; ``keep="all"`` keeps them with prior 0 and the uniform
    row. ``seqs`` ``(T, S)`` gives each context's token ids; without it the
    contexts are all ``N**S`` sequences when ``T = N**S``, else row ``t`` is
    the base-``N`` digits of ``t`` (``S = ceil(log_N T)``, as
    ``generators.explicit_task``), fixed before any row is dropped.
    ``symbols`` ``(N,)`` and ``contexts`` ``(T,)`` are labels kept in the task.

    References
    ----------
    docs/theory.md#notation (the task model: prior ``p(t)`` and conditionals ``pi_t``); docs/real-text.md. No claim
    of the ledger: a task built from data, on which any claim's quantities can be computed.

    >>> r = counts_task(np.array([[3.0, 1.0], [0.0, 0.0]]), keep="all", smoothing=1.0)
    >>> r.task.prior.tolist(), r.task.cond.tolist(), r.unseen
    ([1.0, 0.0], [[0.6666666666666666, 0.3333333333333333], [0.5, 0.5]], 1)
    """
    C = check_array("counts", counts, ndim=2)
    T, N = C.shape
    if T == 0 or N < 2:
        raise ValueError(f"`counts` must have shape (T >= 1, N >= 2) (got {C.shape})")
    if (C < 0).any():
        r, c = np.unravel_index(int(np.argmin(C)), C.shape)
        raise ValueError(f"`counts` has a negative entry ({C[r, c]:.3g} at row {r}, column {c})")
    alpha = check_positive("smoothing", smoothing, allow_zero=True)
    keep = _check_keep(keep)
    _check_cells(T, N, f"keep={keep!r}")
    n_t = C.sum(axis=1)
    total = n_t.sum()
    if not total > 0:
        raise ValueError("`counts` must have a positive total (every entry is 0)")
    if seqs is None:
        S = 1
        while N**S < T:
            S += 1
        seqs = all_sequences(N, S)[:T]  # N**S < N T <= MAX_CELLS rows
    seqs = np.asarray(seqs)
    if seqs.ndim != 2 or seqs.shape[0] != T:
        raise ValueError(f"`seqs` must have shape (T, S) = ({T}, S) (got {seqs.shape})")
    if contexts is not None and (isinstance(contexts, str) or len(contexts) != T):
        raise ValueError(f"`contexts` must hold T={T} labels")
    seen = n_t > 0
    rows = seen if keep == "seen" else np.ones(T, dtype=bool)
    Ck, nk = C[rows], n_t[rows]
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 rows replaced just below
        cond = (Ck + alpha) / (nk + N * alpha)[:, None]
    cond[nk == 0] = 1.0 / N  # unseen context (keep="all"): the uniform row, stated policy
    prior = nk / total
    task = Task(prior, cond, seqs[rows], symbols=symbols,
                contexts=None if contexts is None else np.asarray(contexts)[rows])
    return NgramTask(task, Ck, alpha, keep, int(seen.sum()), int((~seen[rows]).sum()),
                     int((~rows).sum()), int(tokens))


def text_task(text, S: int, *, level: str = "char", alphabet: int | None = None, symbols=None,
              smoothing: float = 0.0, keep: str = "seen", lower: bool = False) -> NgramTask:
    """The n-gram task of ``text``: context = the ``S`` previous symbols, prediction = the next one.

    ``text``: a ``str`` (``bytes`` at byte level), or a list of them read as
    one corpus: symbols and counts over all of them, no context spanning two.

    Tokens from :func:`tokenize` (``level``, ``lower``); symbols from
    :func:`choose_alphabet` (``alphabet`` most frequent plus ``OTHER``), or
    exactly the labels ``symbols`` given (in that order, plus ``OTHER`` last
    when some token is not among them); counts from :func:`count_contexts`,
    the task from :func:`counts_task` (``smoothing``, ``keep``; module
    docstring for the policies). Context labels join the symbols' labels
    (with a space at word level).

    >>> r = text_task("abracadabra", 1, alphabet=2, keep="all")
    >>> r.task.symbols.tolist(), r.task.contexts.tolist(), r.task.prior.tolist()
    (['a', 'b', '<other>'], ['a', 'b', '<other>'], [0.4, 0.2, 0.4])
    >>> r.task.cond[1].tolist()  # 'b' is always followed by 'r', which is <other>
    [0.0, 0.0, 1.0]
    """
    keep = _check_keep(keep)
    S = check_int("S", S, minimum=1)
    pieces = [tokenize(t, level, lower=lower) for t in (text if isinstance(text, (list, tuple)) else [text])]
    if not any(len(p) > S for p in pieces):
        raise ValueError(f"`text` must hold more than S={S} symbols at level {level!r} (got "
                         f"{'/'.join(str(len(p)) for p in pieces) or 0})")
    tokens = [x for p in pieces for x in p]
    if symbols is None:
        symbols = choose_alphabet(tokens, alphabet)
    else:
        if alphabet is not None:
            raise ValueError("`alphabet` and `symbols` exclude each other: give the number or the symbols")
        if isinstance(symbols, str) or not all(isinstance(x, str) for x in symbols):
            raise ValueError("`symbols` must be a list of string labels")
        symbols = tuple(dict.fromkeys(symbols))  # repeated labels name one symbol
        if OTHER in symbols:
            raise ValueError(f"`symbols` must not contain the reserved label {OTHER!r}")
        if not set(tokens) <= set(symbols):
            symbols = (*symbols, OTHER)
    N = len(symbols)
    if N < 2:
        raise ValueError(f"`text` has a single distinct symbol at level {level!r}: a task needs N >= 2")
    wins = [np.lib.stride_tricks.sliding_window_view(_ids(p, symbols)[0], S + 1) for p in pieces if len(p) > S]
    seqs, counts = _count_windows(np.concatenate(wins), S, N)  # a context never spans two texts
    if keep == "all":
        _check_cells(N**S, N, "keep='all'")
        full = np.zeros((N**S, N))
        full[np.ravel_multi_index(tuple(seqs.T), (N,) * S)] = counts
        seqs, counts = all_sequences(N, S), full
    sep = " " if level == "word" else ""
    contexts = [sep.join(symbols[i] for i in row) for row in seqs.tolist()]
    res = counts_task(counts, smoothing=smoothing, keep=keep, seqs=seqs, symbols=symbols, contexts=contexts,
                      tokens=len(tokens))
    return replace(res, level=level, lower=bool(lower))


def load_counts(path) -> dict:
    """Counts from a file: ``{"counts", "seqs", "symbols", "contexts"}`` (absent ones ``None``).

    ``.npy``: the ``(T, N)`` counts array. ``.npz``: key ``counts`` and
    optionally ``seqs`` ``(T, S)``, ``symbols`` ``(N,)``, ``contexts``
    ``(T,)``. ``.csv``: a header row ``context,<symbol 1>,...,<symbol N>``,
    then one row per context: its label and its ``N`` counts.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"counts file `{path}` does not exist or is not a file")
    suffix = path.suffix.lower()
    out = {"counts": None, "seqs": None, "symbols": None, "contexts": None}
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r]
        if len(rows) < 2 or len(rows[0]) < 3:
            raise ValueError(f"counts file `{path}` must have a header `context,<symbol>,<symbol>,...` "
                             "and at least one row")
        head, N = rows[0], len(rows[0]) - 1
        vals = []
        for k, r in enumerate(rows[1:], start=2):
            if len(r) != N + 1:
                raise ValueError(f"counts file `{path}` line {k}: {len(r)} fields, the header has {N + 1}")
            try:
                vals.append([float(x) for x in r[1:]])
            except ValueError:
                raise ValueError(f"counts file `{path}` line {k}: a count is not a number ({r[1:]!r})") from None
        out.update(counts=np.array(vals), symbols=head[1:], contexts=[r[0] for r in rows[1:]])
        return out
    if suffix not in (".npy", ".npz"):
        raise ValueError(f"counts file `{path}` must end in .npy, .npz or .csv")
    data = load_user_npz("counts", path, readable_as=f"{suffix} file")  # (existence checked above)
    if suffix == ".npy":
        out["counts"] = data
        return out
    with data:
        if "counts" not in data.files:
            raise ValueError(f"counts file `{path}` lacks key 'counts' (has {sorted(data.files)})")
        for k in out:
            if k in data.files:
                try:
                    out[k] = np.array(data[k])
                except Exception as exc:  # a pickled object array or a corrupt member
                    raise ValueError(f"counts file `{path}`: key `{k}` is not a readable array "
                                     f"({exc.__class__.__name__}: {exc})") from None
    return out


def python_docs_text() -> str:
    """English text that ships with every Python: the pydoc topics of the running interpreter.

    The values of ``pydoc_data.topics.topics`` (the help texts of the
    language reference that ``help("if")`` shows), joined in the order of
    their sorted keys, separated by a blank line: about 465,000 characters
    on Python 3.11. Deterministic for a given Python release; the text
    differs between releases.

    >>> text = python_docs_text()
    >>> len(text) > 100_000 and "assignment" in text
    True
    """
    from pydoc_data.topics import topics  # lazy: ~1 MB of text, loaded only by the tutorial's task

    return "\n\n".join(topics[k] for k in sorted(topics))


def python_docs_split(fraction: float = 0.1) -> tuple[str, str, int]:
    """``(train, heldout, k)``: :func:`python_docs_text` split by topic, the last ``k = ceil(fraction * topics)``
    topics (in sorted order) held out, so no help text is in both.

    >>> train, held, k = python_docs_split(0.1)
    >>> k > 0 and len(train) > len(held) > 1000 and held[:200] not in train
    True
    """
    from pydoc_data.topics import topics

    if not 0 < fraction < 1:
        raise ValueError(f"`fraction` must lie in (0, 1) (got {fraction})")
    keys = sorted(topics)
    k = max(1, math.ceil(fraction * len(keys)))
    return "\n\n".join(topics[x] for x in keys[:-k]), "\n\n".join(topics[x] for x in keys[-k:]), k
