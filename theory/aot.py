"""The one-layer attention-only Transformer (AoT) of docs/theory.md#aot (paper eq. 1-2).

``x_s = e(t_s) + pos_s``; head ``h``: ``a^h = softmax_s(x_S^T W_QK^h x_s)``,
``A^h(t) = sum_s a^h_s x_s``; output
``T(t) = W_U (x_S + sum_h W_O^h W_V^h A^h(t))``. Only the last position is
predicted; no ``1/sqrt(d)`` inside the softmax.

Shapes (docs/theory.md notation): ``embed (N, d)``, ``pos (S, d)``,
``W_QK (H, d, d)``, ``W_V (H, d_h, d)``, ``W_O (H, d, d_h)``, ``W_U (N, d)``.
Saved as ``.npz`` with exactly these keys, plus ``seqs (T_kept, S)`` and
``target (T_kept, N)`` when given, and ``qk_rank1`` (a 0-d bool).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .backend import check_backend, get_xp, to_numpy
from .validate import check_array, check_int, load_user_npz

__all__ = ["AoTShape", "AoT", "load_aot", "head_values", "concat_heads", "forward_terms", "readout",
           "logits_with_rounding_batch", "forward_chunk", "NPZ_KEYS", "DEFAULT_CHUNK", "CHUNK_ELEMS",
           "DEVICE_CHUNK_ELEMS", "DEVICE_MAX_CHUNK"]

NPZ_KEYS = ("embed", "pos", "W_QK", "W_V", "W_O", "W_U")
DEFAULT_CHUNK = 2048  # largest number of sequences per forward chunk: memory is O(chunk * S * H + chunk * H * d)
# The per-chunk (c, H, d) arrays are kept near 1 MiB of float64: larger ones leave the cache and, freshly
# allocated every chunk, page-fault (measured, H=124, d=8, T=1000: 23 ms per forward pass with one chunk,
# 11-12 ms with chunks of 64-128 sequences).
CHUNK_ELEMS = 131072
# On a GPU every chunk costs a few kernel launches and one device-to-host copy, so chunks are
# 32x larger (32 MiB per (c, H, d) array). Measured on an H200 (benchmarks/gpu_run.sh, N=10, S=6,
# d=16, H=4, T=10^6): 0.386 s with the CPU's 2048-sequence chunks, 0.079 s with 65536.
DEVICE_CHUNK_ELEMS = 1 << 22
DEVICE_MAX_CHUNK = 65536


def forward_chunk(H: int, d: int, backend: str = "numpy") -> int:
    """Sequences per chunk of the forward pass.

    NumPy: ``CHUNK_ELEMS // (H d)``, clamped to ``[16, DEFAULT_CHUNK]``; CuPy:
    ``DEVICE_CHUNK_ELEMS // (H d)``, clamped to ``[16, DEVICE_MAX_CHUNK]``.

    >>> forward_chunk(124, 8), forward_chunk(4, 16), forward_chunk(0, 4)
    (132, 2048, 2048)
    >>> forward_chunk(1249, 8, "cupy"), forward_chunk(4, 16, "cupy")
    (419, 65536)
    """
    H = check_int("H", H, minimum=0)
    d = check_int("d", d, minimum=1)
    numpy = check_backend(backend) == "numpy"
    elems, top = (CHUNK_ELEMS, DEFAULT_CHUNK) if numpy else (DEVICE_CHUNK_ELEMS, DEVICE_MAX_CHUNK)
    return int(min(top, max(16, elems // max(1, H * d))))


@dataclass(frozen=True)
class AoTShape:
    """Sizes of an AoT: vocabulary ``N``, length ``S``, width ``d``, ``H`` heads of inner dimension ``d_h``.

    ``d_h > d`` is allowed (the authors' own training runs use ``d = 5..9``,
    ``d_head = 10``): ``W_V^h`` is then ``(d_h, d)`` and ``W_O^h`` ``(d, d_h)``,
    but a head's output ``W_O^h W_V^h A^h(t)`` still has rank at most
    ``d``, so :attr:`head_rank` ``= min(d_h, d)`` is what a head adds to the
    rank of the attention features (``paper.theorem1``, ``paper.lemma2``).

    >>> AoTShape(N=5, S=2, d=4, H=3, d_h=2).H
    3
    >>> AoTShape(N=5, S=2, d=4, H=3, d_h=10).head_rank
    4
    """

    N: int
    S: int
    d: int
    H: int
    d_h: int

    def __post_init__(self) -> None:
        for name, minimum in (("N", 2), ("S", 1), ("d", 1), ("H", 0), ("d_h", 1)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), minimum=minimum))

    @property
    def head_rank(self) -> int:
        """``min(d_h, d)``: the largest rank of one head's output ``W_O^h W_V^h A^h`` (``A^h(t)`` lies in ``R^d``)."""
        return min(self.d_h, self.d)


@dataclass(frozen=True)
class AoT:
    """An attention-only Transformer with explicit weights (float64 NumPy arrays).

    ``qk_rank1`` records that every ``W_QK^h`` is rank 1 (``u_h v_h^T``, the
    paper's Remark 2); it changes only :meth:`param_count`.
    """

    embed: np.ndarray  # (N, d)
    pos: np.ndarray  # (S, d)
    W_QK: np.ndarray  # (H, d, d)
    W_V: np.ndarray  # (H, d_h, d)
    W_O: np.ndarray  # (H, d, d_h)
    W_U: np.ndarray  # (N, d)
    qk_rank1: bool = field(default=False)

    def __post_init__(self) -> None:
        arrs = {k: check_array(k, to_numpy(getattr(self, k))) for k in NPZ_KEYS}
        for k, nd in (("embed", 2), ("pos", 2), ("W_QK", 3), ("W_V", 3), ("W_O", 3), ("W_U", 2)):
            if arrs[k].ndim != nd:
                raise ValueError(f"`{k}` must be {nd}-dimensional (got shape {arrs[k].shape})")
        N, d = arrs["embed"].shape
        S = arrs["pos"].shape[0]
        H, d_h = arrs["W_V"].shape[:2]
        shape = AoTShape(N=N, S=S, d=d, H=H, d_h=d_h)
        want = {"pos": (S, d), "W_QK": (H, d, d), "W_V": (H, d_h, d), "W_O": (H, d, d_h), "W_U": (N, d)}
        for k, shp in want.items():
            if arrs[k].shape != shp:
                raise ValueError(f"`{k}` must have shape {shp} to match embed {(N, d)} and W_V {(H, d_h, d)}"
                                 f" (got {arrs[k].shape})")
        for k, a in arrs.items():
            a = np.ascontiguousarray(a)
            a.setflags(write=False)
            object.__setattr__(self, k, a)
        object.__setattr__(self, "qk_rank1", bool(self.qk_rank1))
        object.__setattr__(self, "_shape", shape)

    @property
    def shape(self) -> AoTShape:
        """The sizes ``(N, S, d, H, d_h)``."""
        return self._shape

    def param_count(self) -> int:
        """Number of free parameters: ``d(S + 2N) + H (q + 2 d d_h)``, ``q = d^2`` (full ``W_QK``) or ``2d`` (rank 1).

        Claim id: ``paper.theorem1`` (parameter count). The paper's own
        formula ``d(S + 2N + 4 d_h H)`` counts ``W_QK = W_Q W_K^T`` as two
        ``d x d_h`` factors; with rank-1 ``W_QK`` both agree:
        ``d(S + 2N + 2(d_h + 1) H)``.

        References
        ----------
        ``paper.theorem1[params]`` (paper Theorem 1 and Remark 2; docs/theory.md#aot, parameter counts).

        >>> m = AoT(np.zeros((3, 2)), np.zeros((2, 2)), np.zeros((4, 2, 2)), np.zeros((4, 1, 2)),
        ...         np.zeros((4, 2, 1)), np.zeros((3, 2)), qk_rank1=True)
        >>> m.param_count() == 2 * (2 + 2 * 3 + 2 * (1 + 1) * 4)
        True
        """
        N, S, d, H, d_h = (self.shape.N, self.shape.S, self.shape.d, self.shape.H, self.shape.d_h)
        q = 2 * d if self.qk_rank1 else d * d
        return d * (S + 2 * N) + H * (q + 2 * d * d_h)

    def _check_seqs(self, seqs) -> np.ndarray:
        s = np.asarray(seqs)
        if s.ndim != 2 or s.shape[1] != self.shape.S:
            raise ValueError(f"`seqs` must have shape (T, S={self.shape.S}) (got {s.shape})")
        if not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"`seqs` must hold integer token ids (got dtype {s.dtype})")
        if s.size and (s.min() < 0 or s.max() >= self.shape.N):
            raise ValueError(f"`seqs` token ids must lie in [0, {self.shape.N - 1}] (got [{s.min()}, {s.max()}])")
        return s.astype(np.int64)

    def _forward(self, seqs, chunk, backend, with_scale: bool):
        """``(hidden (T, d), |hidden terms| (T, d) or None)``, streamed in chunks (:func:`forward_terms`)."""
        s = self._check_seqs(seqs)
        chunk = (forward_chunk(self.shape.H, self.shape.d, backend) if chunk is None
                 else check_int("chunk", chunk, minimum=1))
        return _streamed(get_xp(backend), self, s, chunk, with_scale)

    def hidden(self, seqs, *, chunk: int | None = None, backend: str = "numpy") -> np.ndarray:
        """Last-position residual ``x_S + sum_h W_O^h W_V^h A^h(t)``, ``(T, d)``, streamed in chunks (``None``: :func:`forward_chunk`).

        References
        ----------
        docs/theory.md#aot (paper eq. 1-2); ``paper.prop1[rank]`` and ``draft.prop1[rank]`` (``T(t) = W_U x(t)``,
        ``x(t) in R^d``: docs/theory.md#d1).
        """
        return self._forward(seqs, chunk, backend, False)[0]

    def logits_with_rounding(self, seqs, *, chunk: int | None = None, backend: str = "numpy"):
        """``(logits (T, N), scale (T,))``: :meth:`logits` and the size of what a float64 forward pass sums.

        ``scale(t) = max_o [|W_U| (|x_S| + sum_h |W_O^h| |W_V^h A^h(t)|)]_o``: the
        first-order rounding error of any float64 evaluation of ``T(t)`` is of
        order ``u * scale(t)`` (``u = 2^-53``), whatever the order of the sums
        (measured: two evaluations in different orders differ by ``0.25-0.93 u scale``,
        ``theory.construct.verify_kept``). A construction whose weights cancel
        heavily (``scale >> |T(t)|``) is accurate only to that level.
        """
        h, a = self._forward(seqs, chunk, backend, True)
        return readout(h, a, self.W_U)

    def logits(self, seqs, *, chunk: int | None = None, backend: str = "numpy") -> np.ndarray:
        """Last-position logits ``T(t) = W_U (x_S + sum_h W_O^h W_V^h A^h(t))`` of each sequence, ``(T, N)``.

        Claim id: docs/theory.md#aot (the AoT, paper eq. 1-2).

        References
        ----------
        docs/theory.md#aot (paper eq. 1-2); the AoTs of ``paper.prop1`` and ``draft.prop1`` (docs/theory.md#p1),
        the built ``T*`` of ``paper.theorem1`` and ``seed.theorem-aot`` (docs/theory.md#construction).

        >>> m = AoT(np.eye(2), np.zeros((1, 2)), np.zeros((1, 2, 2)), np.zeros((1, 1, 2)),
        ...         np.zeros((1, 2, 1)), np.eye(2))
        >>> m.logits(np.array([[0], [1]])).tolist()  # no heads' output: T(t) = W_U e(t_S)
        [[1.0, 0.0], [0.0, 1.0]]
        """
        return self.hidden(seqs, chunk=chunk, backend=backend) @ self.W_U.T

    def save(self, path, *, seqs=None, target=None) -> None:
        """Write ``.npz`` with keys ``embed pos W_QK W_V W_O W_U qk_rank1`` (+ ``seqs``, ``target`` if given)."""
        extra = {}
        if seqs is not None:
            extra["seqs"] = self._check_seqs(seqs)
        if target is not None:
            t = check_array("target", target, ndim=2)
            if seqs is not None and t.shape != (extra["seqs"].shape[0], self.shape.N):
                raise ValueError(f"`target` must have shape (T_kept, N) = {(extra['seqs'].shape[0], self.shape.N)}"
                                 f" (got {t.shape})")
            extra["target"] = t
        np.savez(Path(path), **{k: getattr(self, k) for k in NPZ_KEYS}, qk_rank1=np.array(self.qk_rank1), **extra)

    @classmethod
    def load(cls, path) -> "AoT":
        """Read the weights written by :meth:`save` (see :func:`load_aot` for ``seqs``/``target``)."""
        return load_aot(path)[0]


def load_aot(path):
    """Read an AoT ``.npz``: returns ``(model, seqs or None, target or None)``, validating every key."""
    path = Path(path)
    data = load_user_npz("model", path)
    with data:
        missing = [k for k in NPZ_KEYS if k not in data.files]
        if missing:
            raise ValueError(f"model file `{path}` lacks key(s) {missing}")
        w = {k: np.array(data[k]) for k in NPZ_KEYS}
        rank1 = bool(data["qk_rank1"]) if "qk_rank1" in data.files else False
        seqs = np.array(data["seqs"]) if "seqs" in data.files else None
        target = np.array(data["target"]) if "target" in data.files else None
    return AoT(**w, qk_rank1=rank1), seqs, target


def head_values(xp, X, QKcat, WV):
    """``W_V^h A^h(t)`` for every head and every sequence of a batch, ``(c, H, d_h)``.

    docs/theory.md#aot: ``a^h = softmax_s(x_S^T W_QK^h x_s)``, ``A^h(t) = sum_s a^h_s x_s``.
    ``X (c, S, d)`` holds the embedded sequences, ``QKcat (d, H d)`` all heads' ``W_QK``
    side by side, ``WV (H, d_h, d)``; any leading axes before these (a stack of AoTs) broadcast. Shared by
    :func:`forward_terms` (:meth:`AoT.hidden`) and
    :func:`theory.construct.head_features`.

    References
    ----------
    docs/theory.md#aot (paper eq. 1-2: ``a^h = softmax_s(x_S^T W_QK^h x_s)``, ``A^h(t) = sum_s a^h_s x_s``); the
    features of ``paper.lemma2`` and ``paper.theorem1`` (docs/theory.md#construction, step 3), the AoTs of
    ``paper.prop1``.
    """
    *lead, c, _, d = X.shape
    H = WV.shape[-3]
    q = (X[..., -1, :] @ QKcat).reshape(*lead, c, H, d)  # (..., c, H, d): x_S^T W_QK^h
    sc = xp.einsum("...che,...cse->...chs", q, X, optimize=True)  # (..., c, H, S) scores
    sc = sc - sc.max(axis=-1, keepdims=True)  # stable softmax over s
    a = xp.exp(sc)
    a /= a.sum(axis=-1, keepdims=True)
    A = xp.matmul(a, X)  # (..., c, H, d) = A^h(t)
    return xp.einsum("...chd,...hkd->...chk", A, WV, optimize=True)  # (..., c, H, d_h) = W_V^h A^h(t)


def concat_heads(xp, W_QK, W_O):
    """``(QKcat (..., d, H d), WOcat (..., H d_h, d))``: every head's ``W_QK`` side by side and the rows
    ``W_O^h[:, k]`` stacked, for ``W_QK (..., H, d, d)``, ``W_O (..., H, d, d_h)`` (any leading axes: a stack of AoTs).

    References
    ----------
    docs/theory.md#aot (paper eq. 1-2); the AoTs of ``paper.theorem1`` (docs/theory.md#construction).
    """
    *lead, H, d, _ = W_QK.shape
    d_h = W_O.shape[-1]
    QKcat = W_QK.swapaxes(-3, -2).reshape(*lead, d, H * d)
    WOcat = W_O.swapaxes(-2, -1).reshape(*lead, H * d_h, d)
    return QKcat, WOcat


def forward_terms(xp, E, P, QKcat, WV, WOcat, s, absWO=None):
    """One chunk of the forward pass: ``(x_S + sum_h W_O^h W_V^h A^h(t) (..., c, d), |terms| (..., c, d) or None)``.

    ``s (c, S)`` token ids (on the backend), ``E (..., N, d)``, ``P (..., S, d)``, ``QKcat``/``WOcat`` of
    :func:`concat_heads`, ``WV (..., H, d_h, d)``; leading axes are a stack of AoTs of one shape, all run on the
    same sequences. ``absWO = |WOcat|`` asks for the magnitudes the rounding scale sums
    (:meth:`AoT.logits_with_rounding`). The one forward pass of :class:`AoT` and :func:`logits_with_rounding_batch`.

    References
    ----------
    docs/theory.md#aot (paper eq. 1-2); the built ``T*`` of ``paper.theorem1`` (docs/theory.md#construction).
    """
    X = E[..., s, :] + P[..., None, :, :]  # (..., c, S, d)
    H, d_h = WV.shape[-3], WV.shape[-2]
    V = head_values(xp, X, QKcat, WV)
    V = V.reshape(V.shape[:-2] + (H * d_h,))  # (..., c, H d_h)
    xS = X[..., -1, :]
    res = xS + V @ WOcat  # (..., c, d)
    return res, (None if absWO is None else xp.abs(xS) + xp.abs(V) @ absWO)


def _streamed(xp, w, s: np.ndarray, chunk: int, with_scale: bool):
    """:func:`forward_terms` over ``s`` in chunks of ``chunk`` sequences, on the host: ``(hidden, |terms| or None)``
    ``(..., T, d)``; ``w`` holds the weights (an :class:`AoT` or a :class:`_Stacked`)."""
    E, P, WV = xp.asarray(w.embed), xp.asarray(w.pos), xp.asarray(w.W_V)
    QKcat, WOcat = concat_heads(xp, xp.asarray(w.W_QK), xp.asarray(w.W_O))
    absWO = xp.abs(WOcat) if with_scale else None
    shape = tuple(w.embed.shape[:-2]) + (s.shape[0], w.embed.shape[-1])
    out = np.empty(shape)
    absout = np.empty(shape) if with_scale else None
    for lo in range(0, s.shape[0], chunk):
        res, ab = forward_terms(xp, E, P, QKcat, WV, WOcat, xp.asarray(s[lo:lo + chunk]), absWO)
        out[..., lo:lo + chunk, :] = to_numpy(res)
        if with_scale:
            absout[..., lo:lo + chunk, :] = to_numpy(ab)
    return out, absout


def readout(h, a, W_U):
    """``(logits h W_U^T (..., T, N), scale (..., T))``: the last step of :meth:`AoT.logits_with_rounding`.

    ``scale(t) = max_o [|W_U| a(t)]_o`` for the magnitudes ``a`` of the hidden state's terms (``None``: logits
    only, scale ``None``); leading axes are a stack of AoTs.

    References
    ----------
    docs/theory.md#aot (paper eq. 1-2: ``T(t) = W_U x(t)``); the rounding scale of ``theory.construct.verify_kept``
    (``paper.theorem1``, docs/theory.md#construction).
    """
    Wt = np.swapaxes(W_U, -1, -2)
    F = h @ Wt
    if a is None:
        return F, None
    return F, (a @ np.abs(Wt)).max(axis=-1) if a.size else np.zeros(a.shape[:-1])


@dataclass(frozen=True)
class _Stacked:
    """The weights of ``K`` AoTs of one shape, stacked on a leading axis (``embed (K, N, d)``, ...)."""

    embed: np.ndarray
    pos: np.ndarray
    W_QK: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray
    W_U: np.ndarray


def logits_with_rounding_batch(models, seqs, *, chunk: int | None = None, backend: str = "numpy"):
    """:meth:`AoT.logits_with_rounding` of ``K`` AoTs of one shape on the same sequences, in one pass:
    ``(logits (K, T, N), scale (K, T))`` (the same :func:`forward_terms`, the models on a leading axis).

    References
    ----------
    docs/theory.md#aot (paper eq. 1-2); the many small ``T*`` of ``paper.theorem1`` checked at once
    (``theory.construct_batch.construct_batch``, docs/theory.md#construction, step 5).
    """
    models = list(models)
    if not models or not all(isinstance(m, AoT) for m in models):
        raise ValueError("`models` must be a non-empty sequence of theory.aot.AoT")
    shape = models[0].shape
    if any(m.shape != shape for m in models):
        raise ValueError(f"`models` must all have the shape of the first, {shape}")
    s = models[0]._check_seqs(seqs)
    chunk = (forward_chunk(shape.H * len(models), shape.d, backend) if chunk is None
             else check_int("chunk", chunk, minimum=1))
    w = _Stacked(*(np.stack([getattr(m, k) for m in models]) for k in NPZ_KEYS))
    h, a = _streamed(get_xp(backend), w, s, chunk, True)
    return readout(h, a, w.W_U)
