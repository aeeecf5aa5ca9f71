"""The vocabulary of a text task, carried by its task and model files, and held-out cross-entropy in bits.

A task made from a text (``aotmem task from-text``) knows how it turned text
into token ids: the symbol labels (``symbols``, token-id order, ``OTHER``
last when present), the ``level`` (char, byte, word), ``lower``, the
context length ``S``, the ``smoothing`` and ``keep`` policies and the
counts it came from. :class:`Vocabulary` holds exactly that, and writes it
into ``.npz`` files (task files, model files: ``aotmem construct --save``)
under keys starting with ``vocab_``, which the task and model readers
ignore, so old readers still read new files.

Scores (:func:`score`), in **bits per symbol**: the mean over the predicted
positions ``i`` of a text of ``-log2 q(o_i | t_i)``, where ``t_i`` is the
``S`` symbols before position ``i`` (positions ``S..n-1`` of every file;
a context never spans two files) and ``q`` the predictor; perplexity is
``2**bits``. Baselines (``theory.ngram``'s policies):

- ``uniform``: ``q = 1/N``, exactly ``log2 N`` bits;
- ``unigram``: ``q(o) = (c(o) + alpha) / (n + N alpha)``, ``c`` the training
  next-symbol counts and ``alpha`` the task's smoothing;
- ``ngram``: the task's own conditional ``pi(o|t)`` for a context the
  training text holds (prior > 0); a context it never saw has the uniform
  row ``1/N``, the task's stated policy for unseen contexts.

A probability 0 (``alpha = 0`` and an event never seen in training) gives
``inf`` bits; how many such events there were is reported, never hidden.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ngram import LEVELS, OTHER, tokenize
from .validate import load_user_npz

__all__ = ["Vocabulary", "load_vocabulary", "has_vocabulary", "show_symbol", "encode", "windows", "bits",
           "score", "heldout_counts", "heldout_bits", "vocabulary_of", "add_to_npz"]



def show_symbol(label: str) -> str:
    """How a symbol label is printed: one character with Python's escapes (``\\n``, ``' '`` for space), any longer
    label (a word, ``\\xNN``, ``<other>``) as it is. The same at every level, so a newline reads ``\\n`` at char and
    byte level alike.

    >>> [show_symbol(s) for s in ("a", " ", "\\n", "\\\\x00", "<other>", "the")]
    ['a', "' '", '\\\\n', '\\\\x00', '<other>', 'the']
    """
    if label == " ":
        return "' '"
    if len(label) == 1:
        return repr(label)[1:-1] if label != "'" else "'"
    return label


@dataclass(frozen=True)
class Vocabulary:
    """How a task's text became token ids, and the n-gram model it gave (module docstring).

    ``symbols`` (N labels), ``level``, ``lower``, ``S``, ``smoothing``, ``keep``;
    ``unigram`` ``(N,)`` training next-symbol counts; ``seqs`` ``(T, S)``,
    ``cond`` ``(T, N)`` and ``prior`` ``(T,)``: the n-gram task's contexts,
    conditionals and prior; ``source``: what it was built from (a line).
    """

    symbols: tuple
    level: str
    lower: bool
    S: int
    smoothing: float
    keep: str
    unigram: np.ndarray
    seqs: np.ndarray
    cond: np.ndarray
    prior: np.ndarray
    source: str = ""
    tokens: int = 0
    _index: dict = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"vocabulary `level` must be one of {LEVELS} (got {self.level!r})")
        N = len(self.symbols)
        if N < 2 or self.cond.shape[1:] != (N,) or self.unigram.shape != (N,) or self.seqs.shape != (
                self.cond.shape[0], self.S) or self.prior.shape != (self.cond.shape[0],):
            raise ValueError("vocabulary arrays do not match its symbols and S (a corrupt file?)")
        object.__setattr__(self, "symbols", tuple(self.symbols))
        object.__setattr__(self, "_index", {tuple(r): k for k, r in enumerate(self.seqs.tolist())})

    @property
    def N(self) -> int:
        """Number of symbols."""
        return len(self.symbols)

    def summary(self) -> dict:
        """JSON-ready: symbols, level, lower, S, smoothing, keep, N, T, tokens, source."""
        return {"symbols": list(self.symbols), "level": self.level, "lower": self.lower, "S": self.S,
                "smoothing": self.smoothing, "keep": self.keep, "N": self.N, "T": int(self.seqs.shape[0]),
                "tokens": self.tokens, "source": self.source}

    def arrays(self, *, with_task: bool = True) -> dict:
        """The ``vocab_*`` keys of a ``.npz`` (``with_task=False``: without the task's rows, a task file has them)."""
        out = {"vocab_json": np.array(json.dumps(self.summary())), "vocab_unigram": self.unigram}
        if with_task:
            out.update(vocab_seqs=self.seqs, vocab_cond=self.cond, vocab_prior=self.prior)
        return out

    def context_rows(self, ctx: np.ndarray) -> np.ndarray:
        """Row of each context of ``ctx`` ``(n, S)`` in :attr:`seqs`, or ``-1`` where the task lacks it."""
        return np.fromiter((self._index.get(tuple(r), -1) for r in ctx.tolist()), dtype=np.int64, count=len(ctx))


def has_vocabulary(path) -> bool:
    """Whether the ``.npz`` at ``path`` carries a vocabulary (``vocab_json``)."""
    with load_user_npz("task or model", path) as data:
        return "vocab_json" in data.files


def load_vocabulary(path, *, what: str = "task or model") -> Vocabulary:
    """The :class:`Vocabulary` of a task file (``aotmem task from-text``) or a model file built on one.

    Raises ``ValueError`` when the file carries none (a random task, a counts
    table without labels, a file written before vocabularies were saved).
    """
    path = Path(path)
    data = load_user_npz(what, path)
    with data:
        if "vocab_json" not in data.files:
            raise ValueError(f"{what} file `{path}` carries no vocabulary: it was not made from a text by "
                             "`aotmem task from-text` (or by an older aotmem); rebuild it, then rebuild the model")
        meta = json.loads(str(data["vocab_json"]))
        unigram = np.array(data["vocab_unigram"], dtype=np.float64)
        if "vocab_cond" in data.files:
            seqs, cond, prior = (np.array(data[k]) for k in ("vocab_seqs", "vocab_cond", "vocab_prior"))
        else:  # a task file: its own rows are the n-gram task
            seqs, cond, prior = (np.array(data[k]) for k in ("seqs", "cond", "prior"))
    return Vocabulary(tuple(meta["symbols"]), meta["level"], bool(meta["lower"]), int(meta["S"]),
                      float(meta["smoothing"]), meta["keep"], unigram, seqs.astype(np.int64),
                      cond.astype(np.float64), prior.astype(np.float64), meta.get("source", ""),
                      int(meta.get("tokens", 0)))


def encode(texts, vocab: Vocabulary) -> list[np.ndarray]:
    """Token ids of each text (``str``, or ``bytes`` at byte level), tokenised exactly as the task's text was.

    ``tokenize(text, level, lower)``, then each label's id, a label outside
    the symbols being ``OTHER`` (refused when the vocabulary has no ``OTHER``).
    """
    index = {s: i for i, s in enumerate(vocab.symbols)}
    other = index.get(OTHER)
    out = []
    for k, text in enumerate(texts):
        if isinstance(text, (bytes, bytearray)) and vocab.level != "byte":
            raise ValueError("a text given as bytes needs a byte-level vocabulary; decode it first")
        toks = tokenize(text, vocab.level, lower=vocab.lower and not isinstance(text, (bytes, bytearray)))
        ids = np.empty(len(toks), dtype=np.int64)
        for i, s in enumerate(toks):
            j = index.get(s, other)
            if j is None:
                raise ValueError(f"text {k + 1} holds the symbol {show_symbol(s)!r}, which the vocabulary's "
                                 f"{vocab.N} symbols lack, and it has no {OTHER}: rebuild the task with "
                                 "--alphabet K or --symbols CHARS so that other symbols have an id")
            ids[i] = j
        out.append(ids)
    return out


def windows(ids_list, S: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ctx (n, S), nxt (n,))``: every context of ``S`` ids and the id after it, within each piece (none spans two)."""
    ctx, nxt = [np.zeros((0, S), dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for ids in ids_list:
        if ids.size > S:
            w = np.lib.stride_tricks.sliding_window_view(ids, S + 1)
            ctx.append(w[:, :S])
            nxt.append(w[:, S])
    return np.concatenate(ctx), np.concatenate(nxt)


def bits(logits: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """``-log2 softmax(logits_i)[nxt_i]`` per row, by a stable logsumexp (``+inf`` for a ``-inf`` logit)."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    with np.errstate(invalid="ignore"):
        return (lse - z[np.arange(z.shape[0]), nxt]) / math.log(2)


def _neglog2(q: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -np.log2(q)


def score(model, vocab: Vocabulary, texts) -> dict:
    """The model's and the baselines' bits per symbol on ``texts`` (module docstring), with what was unseen.

    ``model``: an :class:`~aotmem.theory.aot.AoT` over ``vocab``'s symbols
    (its logits on each context; any context of ``S`` ids has logits), or
    ``None`` for the baselines only. Returns ``bits_per_symbol``,
    ``perplexity``, ``baselines`` (``uniform``, ``unigram``, ``ngram``),
    ``tokens`` (symbols read), ``predicted`` (positions scored),
    ``unseen_contexts`` (positions whose context the training text never
    held) and ``unseen_distinct``, ``zero_probability`` (positions of
    probability 0, per predictor).
    """
    ids = encode(texts, vocab)
    ctx, nxt = windows(ids, vocab.S)
    n = int(nxt.size)
    if n == 0:
        raise ValueError(f"the text holds no context of S={vocab.S} symbols followed by one more: nothing to score")
    N = vocab.N
    rows = vocab.context_rows(ctx)
    seen = rows >= 0
    seen[seen] = vocab.prior[rows[seen]] > 0
    q_ng = np.full(n, 1.0 / N)
    q_ng[seen] = vocab.cond[rows[seen], nxt[seen]]
    alpha = vocab.smoothing
    tot = vocab.unigram.sum()
    q_uni = (vocab.unigram[nxt] + alpha) / (tot + N * alpha)
    per = {"uniform": np.full(n, math.log2(N)), "unigram": _neglog2(q_uni), "ngram": _neglog2(q_ng)}
    out = {"tokens": int(sum(i.size for i in ids)), "predicted": n,
           "unseen_contexts": int(n - seen.sum()),
           "unseen_distinct": int(np.unique(ctx[~seen], axis=0).shape[0]) if (~seen).any() else 0}
    if model is not None:
        if model.shape.N != N or model.shape.S != vocab.S:
            raise ValueError(f"the model has N={model.shape.N}, S={model.shape.S}; its vocabulary N={N}, "
                             f"S={vocab.S}: the model was not built on this vocabulary")
        uniq, inv = np.unique(ctx, axis=0, return_inverse=True)
        per["model"] = bits(model.logits(uniq)[inv.ravel()], nxt)
    out["baselines"] = {k: float(per[k].mean()) for k in ("uniform", "unigram", "ngram")}
    out["baselines"]["uniform"] = math.log2(N)  # exactly, not a mean of n equal terms
    out["zero_probability"] = {k: int(np.isinf(v).sum()) for k, v in per.items()}
    if model is not None:
        b = float(per["model"].mean())
        out["bits_per_symbol"] = b
        out["perplexity"] = 2.0 ** b
    out["perplexity_baselines"] = {k: 2.0 ** v for k, v in out["baselines"].items()}
    out["perplexity_baselines"]["uniform"] = float(N)  # 2**log2(N) rounds to N - 7e-15
    return out


def heldout_counts(texts, vocab: Vocabulary) -> dict:
    """Counts of a held-out text on the training task's contexts: ``counts (T, N)`` and what falls outside them.

    ``outside``: positions whose context is not a row of the task
    (``keep="seen"`` drops contexts the training text never held);
    ``outside_next (N,)``: the symbols predicted there; ``tokens``: symbols read.
    """
    ids = encode(texts, vocab)
    ctx, nxt = windows(ids, vocab.S)
    if nxt.size == 0:
        raise ValueError(f"the held-out text holds no context of S={vocab.S} symbols followed by one more")
    rows = vocab.context_rows(ctx)
    inside = rows >= 0
    N, T = vocab.N, vocab.seqs.shape[0]
    counts = np.bincount(rows[inside] * N + nxt[inside], minlength=T * N).reshape(T, N).astype(np.float64)
    return {"counts": counts, "outside": int((~inside).sum()),
            "outside_next": np.bincount(nxt[~inside], minlength=N).astype(np.float64),
            "tokens": int(sum(i.size for i in ids))}


def heldout_bits(F: np.ndarray, counts: np.ndarray, outside: int) -> float:
    """Held-out bits per symbol of logits ``F (T, N)`` on the training contexts; a position outside them scores
    the uniform ``log2 N`` (the task's policy for a context it lacks).

    ``(sum_{t,o} counts(t,o) (-log2 softmax(F_t)_o) + outside log2 N) / (sum counts + outside)``.

    >>> heldout_bits(np.zeros((1, 4)), np.array([[1.0, 2.0, 0.0, 0.0]]), 1)
    2.0
    """
    counts = np.asarray(counts, dtype=np.float64)
    z = np.asarray(F, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    logq = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    nz = counts > 0
    total = -(counts[nz] * logq[nz]).sum() / math.log(2) + outside * math.log2(counts.shape[1])
    n = counts.sum() + outside
    return float(total / n)


def vocabulary_of(res, source: str = "") -> Vocabulary:
    """The :class:`Vocabulary` of a :func:`~aotmem.theory.ngram.text_task` result (``NgramTask`` with ``level``)."""
    t = res.task
    if not res.level or t.symbols is None:
        raise ValueError("a vocabulary needs a task made from a text (text_task), with its symbols")
    return Vocabulary(tuple(t.symbols.tolist()), res.level, res.lower, t.S, float(res.smoothing), res.keep,
                      res.counts.sum(axis=0), t.seqs, t.cond, t.prior, source, res.tokens)


def add_to_npz(path, arrays: dict) -> None:
    """Rewrite the ``.npz`` at ``path`` with ``arrays`` added (a model file gets its vocabulary this way)."""
    path = Path(path)
    with np.load(path, allow_pickle=False) as data:
        keep = {k: np.array(data[k]) for k in data.files if k not in arrays}
    with open(path, "wb") as fh:  # a file object: np.savez writes exactly `path`, no suffix added
        np.savez(fh, **keep, **arrays)
