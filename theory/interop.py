"""The AoT in the frameworks people use: a plain PyTorch module and a TransformerLens ``HookedTransformer``.

``to_transformer_lens(m)`` returns a one-layer, attention-only
``HookedTransformer`` (no normalisation, zero biases, causal attention,
float64) whose logits at the last position equal ``AoT.logits``;
``to_torch(m)`` returns a plain ``torch.nn.Module`` computing the same
last-position logits. ``m`` is an :class:`~aotmem.theory.aot.AoT`, a
:class:`~aotmem.theory.construct.Construction` or the path of a model
``.npz`` (``aotmem construct --save``).

torch and transformer-lens are the optional extra ``[interop]``. Install the
CPU build of torch first, then the extra (a bare ``torch`` requirement pulls a
CUDA build of several GB from PyPI)::

    pip install torch --index-url https://download.pytorch.org/whl/cpu && pip install 'aotmem[interop]'

For a CUDA build, on purpose: ``pip install torch --index-url
https://download.pytorch.org/whl/cu128`` (the index of your CUDA version, see
https://pytorch.org/get-started/locally/), then the extra. TransformerLens 4
removed ``HookedTransformer``, hence ``transformer-lens>=3,<4``. They are imported only inside the functions
that need them; everything else here (the factorisation of ``W_QK``, the
TransformerLens layout of the weights and a NumPy re-implementation of
TransformerLens's forward pass on that layout) is NumPy, so it is tested
without the extra.

**Layout.** TransformerLens multiplies row vectors: ``q = x W_Q^h``,
``k = x W_K^h``, ``v = x W_V^h`` (each ``d_model x d_head``), scores
``q k^T / attn_scale``, ``out = sum_h z^h W_O^h`` (``W_O^h`` is
``d_head x d_model``), logits ``resid W_U`` (``W_U`` is ``d_model x d_vocab``).
The AoT's ``x_S^T W_QK^h x_s`` is reproduced by any ``W_Q^h W_K^h{}^T = W_QK^h``;
``attn_scale`` is folded in by ``use_attn_scale=False`` (TransformerLens then
divides by exactly ``1.0``: the AoT has no ``1/sqrt(d)``, and its
construction's attention scale already lives in ``W_QK``).

**The factorisation (``qk=``) and why the export is exact.** TransformerLens
uses one ``d_head`` for Q/K and V/O, while a ``W_QK^h`` of rank ``r`` needs
``d_head >= r`` and the value side has ``d_h <= d`` columns.

- ``qk="identity"`` (default): ``W_Q^h = W_QK^h``, ``W_K^h = I_d``,
  ``d_head = d``. Then ``W_Q^h W_K^h{}^T = W_QK^h`` with no arithmetic at all,
  whatever the rank; TransformerLens's ``k = x I`` is ``x`` bit for bit and its
  ``q = x W_QK^h`` is the AoT's own query.
- ``qk="svd"``: ``W_QK^h = U S V^T``, ``W_Q^h = U_r S_r^{1/2}``,
  ``W_K^h = V_r S_r^{1/2}`` with ``r`` the largest numerical rank over the
  heads (singular values above ``rtol * s_1``, ``rtol = d * 2^-52`` by
  default, as ``numpy.linalg.matrix_rank``), ``d_head = max(d_h, r)``: the
  smallest ``d_head`` (a rank-1 ``W_QK``, ``qk_rank1``, costs no padding when
  ``d_h >= 1``). ``W_Q W_K^T`` equals ``W_QK`` up to the dropped singular values
  (``<= rtol s_1``) and rounding; :attr:`TLWeights.qk_residual` reports the
  measured ``max_h ||W_Q^h W_K^h{}^T - W_QK^h||_2 / ||W_QK^h||_2``.

Whichever side is narrower than ``d_head`` is padded with zero columns
(``W_Q, W_K, W_V``) and zero rows (``W_O``). A zero column of ``W_Q`` and
``W_K`` adds ``0 * 0 = 0`` to every score; a zero column of ``W_V`` makes that
coordinate of ``z`` exactly 0, and the matching zero row of ``W_O`` adds
``0`` to the output. So the exported network computes, in exact
arithmetic, ``T(t) = W_U (x_S + sum_h W_O^h W_V^h A^h(t))`` at the last
position, the AoT's function. In float64 the two evaluations differ only in
the order of the sums (and, for ``svd``, in the factors' rounding): each errs
by the rounding the model amplifies, no more than ``AoT.logits`` itself
(measured against a long-double forward pass in ``docs/interop.md``).

**The other positions.** With causal attention, TransformerLens's logits at
position ``p < S`` are ``W_U (x_p + sum_h W_O^h W_V^h sum_{s<=p} softmax_s(x_p^T
W_QK^h x_s) x_s)``: the AoT with query ``x_p`` over the prefix ``t_1..t_p``,
i.e. :meth:`AoT.logits` of the AoT whose ``pos`` is cut to its first ``p``
rows, applied to the prefix. A ``T*`` is built to be right at the last
position only; the other positions are a by-product.

>>> import numpy as np
>>> from aotmem.theory.aot import AoT
>>> rng = np.random.default_rng(0)
>>> m = AoT(rng.normal(size=(5, 3)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 3)),
...         rng.normal(size=(2, 1, 3)), rng.normal(size=(2, 3, 1)), rng.normal(size=(5, 3)))
>>> w = tl_weights(m)                     # identity factorisation: d_head = d = 3, W_V/W_O padded from d_h = 1
>>> w.W_Q.shape, w.W_V.shape, w.W_O.shape
((2, 3, 3), (2, 3, 3), (2, 3, 3))
>>> seqs = np.array([[0, 1], [4, 2], [3, 3]])
>>> bool(max_rel_logit_diff(w.logits(seqs), m.logits(seqs)) < 1e-14)
True
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import warnings
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from .aot import AoT, load_aot
from .task import load_task
from .validate import check_int, load_user_npz

__all__ = ["EXTRA", "TL_REQUIREMENT", "CHECK_RTOL", "QK_SCHEMES", "KINDS", "FORMAT", "as_aot", "qk_factors", "TLWeights",
           "tl_weights", "max_rel_logit_diff", "seqs_for_check", "require", "to_transformer_lens", "to_torch",
           "exported_logits", "check_export", "save_export", "load_export"]

# The install hint, one string for the CLI message, docs/interop.md and this docstring (tests/test_interop_hint.py):
# torch's CPU build first (a bare `torch` requirement resolves to a multi-GB CUDA build), then the extra.
CPU_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cpu"
CUDA_TORCH = "pip install torch --index-url https://download.pytorch.org/whl/cu128"
EXTRA = (f"{CPU_TORCH} && pip install 'aotmem[interop]' (the CPU build of torch; for a CUDA build, on purpose: "
         f"{CUDA_TORCH}, the index of your CUDA version, then the extra)")
TL_REQUIREMENT = "transformer-lens>=3,<4"  # 4.0 removed HookedTransformer; 2.x needs numpy<2 (aotmem needs >= 2)
# The exported network and AoT.logits compute the same function (module docstring): their float64
# evaluations differ by the rounding of each, which a T* amplifies (large W_O, sharp softmax). Measured
# against a long-double forward pass (benchmarks/interop_check.sh), the export errs as much as AoT.logits
# itself: 1.5e-15 to 1.4e-11 for the T* there, so the two agree to 4.6e-15 .. 3.5e-11. 1e-10 is the
# issue's bar; any layout slip (a transpose, a leftover 1/sqrt(d_head), a lost head) errs by O(1). A
# model whose own rounding approaches 1e-10 needs a larger tolerance (`aotmem export --tol`).
CHECK_RTOL = 1e-10
QK_SCHEMES = ("identity", "svd")
FORMAT = "aotmem.interop/1"  # the "format" entry of a file written by save_export
KINDS = ("transformer-lens", "torch")  # export targets
ALL_SEQS_MAX = 1_000_000  # --check all enumerates N^S sequences; refuse more than this


def as_aot(model_or_npz) -> AoT:
    """The :class:`AoT` behind ``model_or_npz``: an ``AoT``, a ``Construction`` (its ``.model``) or a model ``.npz`` path.

    >>> as_aot(3)
    Traceback (most recent call last):
    ...
    ValueError: `model_or_npz` must be an AoT, a Construction or the path of a model .npz (got int)
    """
    if isinstance(model_or_npz, AoT):
        return model_or_npz
    if isinstance(getattr(model_or_npz, "model", None), AoT):
        return model_or_npz.model
    if isinstance(model_or_npz, (str, os.PathLike)):
        return load_aot(model_or_npz)[0]
    raise ValueError("`model_or_npz` must be an AoT, a Construction or the path of a model .npz"
                     f" (got {type(model_or_npz).__name__})")


def qk_factors(W_QK, *, qk: str = "identity", rtol: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Factors ``(W_Q, W_K)``, each ``(H, d, r)``, with ``W_Q^h W_K^h{}^T = W_QK^h`` (module docstring).

    ``qk="identity"``: ``W_Q = W_QK``, ``W_K = I``, ``r = d``, exact with no
    arithmetic. ``qk="svd"``: the top ``r`` singular triplets, ``r`` the
    largest numerical rank over the heads (at least 1), split as
    ``U sqrt(S)``, ``V sqrt(S)``; exact up to singular values
    ``<= rtol * s_1`` (default ``rtol = d * 2^-52``) and rounding.

    >>> W = np.outer([1.0, 2.0, 0.0], [0.0, 1.0, 1.0])[None]        # one rank-1 head
    >>> Q, K = qk_factors(W, qk="svd")
    >>> Q.shape, bool(np.allclose(Q[0] @ K[0].T, W[0], rtol=0, atol=1e-14))
    ((1, 3, 1), True)
    >>> Q, K = qk_factors(W)
    >>> Q.shape, bool(np.array_equal(Q[0] @ K[0].T, W[0]))
    ((1, 3, 3), True)
    """
    W = np.asarray(W_QK)
    if W.ndim != 3 or W.shape[1] != W.shape[2] or not np.issubdtype(W.dtype, np.floating) or not np.all(np.isfinite(W)):
        raise ValueError(f"`W_QK` must be a finite float array of shape (H, d, d) (got shape {W.shape}, dtype {W.dtype})")
    W = W.astype(np.float64)
    H, d, _ = W.shape
    if qk not in QK_SCHEMES:
        raise ValueError(f"`qk` must be one of {QK_SCHEMES} (got {qk!r})")
    if qk == "identity":
        return W.copy(), np.broadcast_to(np.eye(d), (H, d, d)).copy()
    rtol = d * np.finfo(np.float64).eps if rtol is None else float(rtol)
    if not (0.0 <= rtol < 1.0):
        raise ValueError(f"`rtol` must lie in [0, 1) (got {rtol})")
    if H == 0:
        return np.zeros((0, d, 1)), np.zeros((0, d, 1))
    U, s, Vt = np.linalg.svd(W)  # (H, d, d), (H, d) descending, (H, d, d)
    ranks = (s > rtol * s[:, :1]).sum(axis=1)  # a zero head has rank 0
    r = max(1, int(ranks.max()))
    root = np.sqrt(s[:, :r])[:, None, :]  # (H, 1, r)
    return U[:, :, :r] * root, Vt[:, :r, :].transpose(0, 2, 1) * root


@dataclass(frozen=True)
class TLWeights:
    """An AoT's weights in TransformerLens's layout (float64 NumPy), zero biases implied.

    ``W_E (N, d)``, ``W_pos (S, d)``, ``W_Q, W_K, W_V (n_heads, d, d_head)``,
    ``W_O (n_heads, d_head, d)``, ``W_U (d, N)``. An AoT with ``H = 0`` heads
    gets one all-zero head (TransformerLens needs ``n_heads >= 1``; its output
    is exactly 0).
    """

    W_E: np.ndarray
    W_pos: np.ndarray
    W_Q: np.ndarray
    W_K: np.ndarray
    W_V: np.ndarray
    W_O: np.ndarray
    W_U: np.ndarray
    qk: str
    qk_residual: float  # max_h ||W_Q W_K^T - W_QK||_2 / ||W_QK||_2 (0 for "identity" and for zero heads)

    @property
    def n_heads(self) -> int:
        return int(self.W_Q.shape[0])

    @property
    def d_head(self) -> int:
        return int(self.W_Q.shape[2])

    def config(self) -> dict:
        """Keyword arguments of ``HookedTransformerConfig`` (plain values; ``dtype`` added as ``torch.float64`` on build).

        One layer, attention only, no normalisation, standard (learned
        absolute) positions, causal attention, no attention scale, no BOS.
        """
        return dict(n_layers=1, d_model=int(self.W_E.shape[1]), d_head=self.d_head, n_heads=self.n_heads,
                    n_ctx=int(self.W_pos.shape[0]), d_vocab=int(self.W_E.shape[0]), d_vocab_out=int(self.W_U.shape[1]),
                    attn_only=True, normalization_type=None, positional_embedding_type="standard",
                    attention_dir="causal", use_attn_scale=False, act_fn=None, default_prepend_bos=False,
                    init_weights=False)

    def logits(self, seqs, *, all_positions: bool = False) -> np.ndarray:
        """TransformerLens's forward pass on this layout, in NumPy: ``(T, N)`` last-position logits, or ``(T, S, N)``.

        Row-vector products as TransformerLens does them: ``q = x W_Q``,
        ``k = x W_K``, causal softmax of ``q k^T``, ``z = pattern v``,
        ``out = sum_h z^h W_O^h``, logits ``(x + out) W_U``.
        """
        s = np.asarray(seqs)
        if s.ndim != 2 or s.shape[1] != self.W_pos.shape[0] or not np.issubdtype(s.dtype, np.integer):
            raise ValueError(f"`seqs` must be an integer array of shape (T, S={self.W_pos.shape[0]}) (got {s.shape})")
        if s.size and (s.min() < 0 or s.max() >= self.W_E.shape[0]):
            raise ValueError(f"`seqs` token ids must lie in [0, {self.W_E.shape[0] - 1}]")
        S = s.shape[1]
        causal = np.tril(np.ones((S, S), dtype=bool))
        out = np.empty((s.shape[0], S, self.W_U.shape[1]))
        for lo in range(0, s.shape[0], 1024):
            x = self.W_E[s[lo:lo + 1024]] + self.W_pos  # (c, S, d)
            q = np.einsum("cpd,hde->chpe", x, self.W_Q)
            k = np.einsum("cpd,hde->chpe", x, self.W_K)
            v = np.einsum("cpd,hde->chpe", x, self.W_V)
            sc = np.where(causal, q @ k.transpose(0, 1, 3, 2), -np.inf)  # (c, h, query, key)
            sc -= sc.max(axis=3, keepdims=True)
            a = np.exp(sc)
            a /= a.sum(axis=3, keepdims=True)
            z = a @ v  # (c, h, p, d_head)
            resid = x + np.einsum("chpe,hed->cpd", z, self.W_O)
            out[lo:lo + 1024] = resid @ self.W_U
        return out if all_positions else out[:, -1]


def tl_weights(model_or_npz, *, qk: str = "identity", rtol: float | None = None) -> TLWeights:
    """The AoT's weights in TransformerLens's layout, ``W_QK`` factored by ``qk`` and both sides padded to ``d_head``.

    ``d_head = max(d_h, r)`` with ``r = d`` (``qk="identity"``) or the
    numerical rank of ``W_QK`` (``qk="svd"``); see the module docstring
    for why this is exact.
    """
    m = as_aot(model_or_npz)
    d, H, d_h = m.shape.d, m.shape.H, m.shape.d_h
    WQK, WV, WO = m.W_QK, m.W_V, m.W_O
    if H == 0:  # one zero head: its output z W_O is exactly 0
        WQK, WV, WO, H = np.zeros((1, d, d)), np.zeros((1, d_h, d)), np.zeros((1, d, d_h)), 1
    Q, K = qk_factors(WQK, qk=qk, rtol=rtol)
    r = Q.shape[2]
    d_head = max(d_h, r)

    def pad(a, width, axis):  # zero columns (or rows) up to d_head
        widths = [(0, 0)] * a.ndim
        widths[axis] = (0, width - a.shape[axis])
        return np.pad(a, widths)

    residual = 0.0
    if qk == "svd":
        norms = np.linalg.norm(WQK, 2, axis=(1, 2))
        errs = np.linalg.norm(Q @ K.transpose(0, 2, 1) - WQK, 2, axis=(1, 2))
        nz = norms > 0
        residual = float((errs[nz] / norms[nz]).max()) if nz.any() else 0.0
    return TLWeights(
        W_E=np.array(m.embed), W_pos=np.array(m.pos),
        W_Q=pad(Q, d_head, 2), W_K=pad(K, d_head, 2),
        W_V=pad(WV.transpose(0, 2, 1), d_head, 2),  # (H, d, d_h) -> (H, d, d_head): v = x W_V
        W_O=pad(WO.transpose(0, 2, 1), d_head, 1),  # (H, d_h, d) -> (H, d_head, d): out = z W_O
        W_U=np.array(m.W_U.T), qk=qk, qk_residual=residual)


def max_rel_logit_diff(got, want) -> float:
    """``max_t ||got_t - want_t||_inf / max_t ||want_t||_inf`` (the measure of ``construct``'s report).

    >>> max_rel_logit_diff(np.array([[1.0, 2.0]]), np.array([[1.0, 4.0]]))
    0.5
    """
    g, w = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if g.shape != w.shape or g.ndim != 2:
        raise ValueError(f"`got` and `want` must be (T, N) arrays of one shape (got {g.shape} and {w.shape})")
    if w.size == 0:
        return 0.0
    scale = np.abs(w).max()
    diff = np.abs(g - w).max()
    return float(diff / scale) if scale > 0 else (0.0 if diff == 0 else float("inf"))


def seqs_for_check(spec, model_or_npz) -> np.ndarray:
    """Sequences to compare logits on: ``"all"`` (every one of ``N^S``), or a file: ``.npy`` ``(T, S)`` ints,
    or ``.npz`` with ``seqs`` (a model saved by ``construct --save``, a task file) or a task without ``seqs``
    (then all ``N^S``, as :class:`~aotmem.theory.task.Task` reads it).

    >>> from aotmem.theory.aot import AoT
    >>> m = AoT(np.eye(2), np.zeros((2, 2)), np.zeros((1, 2, 2)), np.zeros((1, 1, 2)), np.zeros((1, 2, 1)), np.eye(2))
    >>> seqs_for_check("all", m).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    m = as_aot(model_or_npz)
    N, S = m.shape.N, m.shape.S
    if isinstance(spec, str) and spec == "all":
        if N ** S > ALL_SEQS_MAX:
            raise ValueError(f"`--check all` would enumerate N^S = {N}^{S} > {ALL_SEQS_MAX} sequences; pass a file")
        return np.array(list(itertools.product(range(N), repeat=S)), dtype=np.int64).reshape(-1, S)
    path = Path(spec)
    data = load_user_npz("check", path, readable_as=".npy/.npz",
                         missing_hint=" (pass `all` or a .npz/.npy file with seqs)")
    if isinstance(data, np.ndarray):
        seqs = data
    else:
        with data:
            keys = set(data.files)
            if "seqs" in keys:
                seqs = np.array(data["seqs"])
            elif {"prior", "cond"} <= keys:
                seqs = load_task(path).seqs
            else:
                raise ValueError(f"check file `{path}` has no `seqs` (nor `prior` and `cond` of a task)")
    seqs = np.asarray(seqs)
    if seqs.ndim == 2 and np.issubdtype(seqs.dtype, np.integer) and seqs.size and (
            seqs.shape[1] != S or seqs.min() < 0 or seqs.max() >= N):
        raise ValueError(f"check file `{path}` holds sequences of {seqs.shape[1]} tokens with ids "
                         f"{seqs.min()}..{seqs.max()}, but the model has S={S} and N={N} symbols (ids 0..{N - 1}): "
                         "the file was made for another task or vocabulary; pass the task the model was built on, "
                         "or `all`")
    if isinstance(model_or_npz, (str, os.PathLike)):
        mine, theirs = _vocab_symbols(model_or_npz), _vocab_symbols(path)
        if mine is not None and theirs is not None and mine != theirs:
            raise ValueError(f"check file `{path}` has another vocabulary than the model ({len(theirs)} symbols "
                             f"{' '.join(theirs[:5])} ... against {len(mine)}: {' '.join(mine[:5])} ...); pass the "
                             "task the model was built on, or `all`")
    m._check_seqs(seqs)  # shape (T, S), integer ids in [0, N)
    return np.asarray(seqs, dtype=np.int64)


def _vocab_symbols(path):
    """The symbol labels of a ``.npz``'s text vocabulary (``theory.vocab``), or ``None``."""
    if Path(path).suffix.lower() != ".npz":
        return None
    with load_user_npz("model or task", path) as data:
        return json.loads(str(data["vocab_json"]))["symbols"] if "vocab_json" in data.files else None


# --- the optional extra -------------------------------------------------------------------------


def require(kind: str = "torch"):
    """Import and return what ``kind`` needs (``torch``, or ``(torch, HookedTransformer, HookedTransformerConfig)``
    for ``"transformer-lens"``); ``ImportError`` naming the extra when it is absent. The one seam for ``[interop]``."""
    if kind not in KINDS:
        raise ValueError(f"`kind` must be one of {KINDS} (got {kind!r})")
    try:
        torch = importlib.import_module("torch")
    except ImportError:
        raise ImportError(f"export to {kind} needs the optional extra [interop] (torch is not installed): {EXTRA}"
                          ) from None
    if kind == "torch":
        return torch
    try:
        tl = importlib.import_module("transformer_lens")
    except ImportError:
        raise ImportError(f"export to {kind} needs the optional extra [interop] (transformer-lens is not installed):"
                          f" {EXTRA}") from None
    try:
        return torch, tl.HookedTransformer, tl.HookedTransformerConfig
    except (ImportError, AttributeError):  # TransformerLens 4 raises ImportError for the removed names
        try:
            found = version("transformer-lens")
        except PackageNotFoundError:
            found = "(unknown version)"
        raise ImportError(f"transformer-lens {found} has no HookedTransformer (removed in 4.0): "
                          f"pip install '{TL_REQUIREMENT}'") from None


def _build_tl(config: dict, state: dict | None, device: str):
    torch, HookedTransformer, HookedTransformerConfig = require("transformer-lens")
    cfg = HookedTransformerConfig(**config, dtype=torch.float64, device=device)
    with warnings.catch_warnings():  # 3.x announces its own deprecation on every construction
        warnings.filterwarnings("ignore", message="HookedTransformer is deprecated", category=DeprecationWarning)
        model = HookedTransformer(cfg)
    if state is not None:
        model.load_state_dict(state, strict=True)
    model.eval()
    return model


def to_transformer_lens(model_or_npz, *, qk: str = "identity", rtol: float | None = None, device: str = "cpu"):
    """A TransformerLens ``HookedTransformer`` (float64) whose last-position logits equal ``AoT.logits``.

    One layer, attention only, ``normalization_type=None``, all biases 0,
    ``use_attn_scale=False``, ``n_ctx = S``, ``d_vocab = N``, heads from
    :func:`tl_weights` (``qk``: how ``W_QK`` is split into ``W_Q W_K^T``;
    module docstring). Feed it token tensors ``(T, S)``; ``model(tokens)[:, -1]``
    are the AoT's logits, the other positions are the AoT on the prefixes.
    """
    torch = require("transformer-lens")[0]  # a missing extra is reported before any work
    w = tl_weights(model_or_npz, qk=qk, rtol=rtol)
    model = _build_tl(w.config(), None, device)
    state = model.state_dict()
    for key, arr in (("embed.W_E", w.W_E), ("pos_embed.W_pos", w.W_pos), ("blocks.0.attn.W_Q", w.W_Q),
                     ("blocks.0.attn.W_K", w.W_K), ("blocks.0.attn.W_V", w.W_V), ("blocks.0.attn.W_O", w.W_O),
                     ("unembed.W_U", w.W_U)):
        state[key] = torch.as_tensor(arr, dtype=torch.float64)
    for key in ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U"):
        state[key] = torch.zeros_like(state[key])
    model.load_state_dict(state, strict=True)
    model.aotmem_config = w.config()  # what save_export writes and load_export rebuilds from
    return model


def _torch_module_class():
    torch = require("torch")
    cls = getattr(_torch_module_class, "cls", None)
    if cls is not None:
        return cls

    class AoTModule(torch.nn.Module):
        """The AoT in PyTorch (float64 parameters, the AoT's own layout): ``forward(tokens (T, S)) -> (T, N)`` logits.

        ``forward(tokens, all_positions=True)`` returns ``(T, S, N)``: position
        ``p`` is the causal AoT with query ``x_p`` over ``t_1..t_p``, as in
        TransformerLens.
        """

        def __init__(self, N: int, S: int, d: int, H: int, d_h: int):
            super().__init__()
            self.aotmem_config = dict(N=N, S=S, d=d, H=H, d_h=d_h)
            z = lambda *shape: torch.nn.Parameter(torch.zeros(shape, dtype=torch.float64))  # noqa: E731
            self.embed, self.pos, self.W_U = z(N, d), z(S, d), z(N, d)
            self.W_QK, self.W_V, self.W_O = z(H, d, d), z(H, d_h, d), z(H, d, d_h)

        def forward(self, tokens, all_positions: bool = False):
            x = self.embed[tokens] + self.pos  # (T, S, d)
            S = x.shape[1]
            q = torch.einsum("tpd,hde->thpe", x, self.W_QK)  # x_p^T W_QK^h
            sc = torch.einsum("thpe,tse->thps", q, x)  # (T, H, query p, key s)
            causal = torch.ones(S, S, dtype=torch.bool, device=x.device).tril()
            a = torch.softmax(sc.masked_fill(~causal, float("-inf")), dim=-1)
            A = a @ x[:, None]  # (T, H, S, d) = A^h at every query position
            v = torch.einsum("thpd,hkd->thpk", A, self.W_V)
            resid = x + torch.einsum("thpk,hdk->tpd", v, self.W_O)
            out = resid @ self.W_U.T
            return out if all_positions else out[:, -1]

    _torch_module_class.cls = AoTModule
    return AoTModule


def to_torch(model_or_npz, *, device: str = "cpu"):
    """A plain ``torch.nn.Module`` (float64, no TransformerLens) computing ``AoT.logits``: ``module(tokens) -> (T, N)``.

    Parameters ``embed, pos, W_QK, W_V, W_O, W_U`` in the AoT's own shapes
    (no factorisation, no padding); see ``AoTModule.forward`` for
    ``all_positions``.
    """
    torch = require("torch")
    m = as_aot(model_or_npz)
    mod = _torch_module_class()(m.shape.N, m.shape.S, m.shape.d, m.shape.H, m.shape.d_h)
    with torch.no_grad():
        for k in ("embed", "pos", "W_QK", "W_V", "W_O", "W_U"):
            getattr(mod, k).copy_(torch.tensor(np.array(getattr(m, k)), dtype=torch.float64))  # AoT arrays are read-only
    return mod.to(device).eval()


def _kind_of(module) -> str:
    if type(module).__name__ == "HookedTransformer":
        return "transformer-lens"
    if type(module).__name__ == "AoTModule":
        return "torch"
    raise ValueError(f"`module` must come from to_transformer_lens or to_torch (got {type(module).__name__})")


def exported_logits(module, seqs, *, batch: int = 4096) -> np.ndarray:
    """Last-position logits ``(T, N)`` (float64 NumPy) of an exported module on integer ``seqs (T, S)``, in batches."""
    _kind_of(module)
    torch = require("torch")
    batch = check_int("batch", batch, minimum=1)
    s = np.asarray(seqs)
    if s.ndim != 2 or not np.issubdtype(s.dtype, np.integer):
        raise ValueError(f"`seqs` must be an integer array of shape (T, S) (got shape {s.shape}, dtype {s.dtype})")
    device = next(module.parameters()).device
    outs = []
    with torch.no_grad():
        for lo in range(0, s.shape[0], batch):
            tok = torch.tensor(np.array(s[lo:lo + batch]), dtype=torch.long, device=device)  # seqs may be read-only
            out = module(tok)
            outs.append((out[:, -1] if out.ndim == 3 else out).double().cpu().numpy())
    if not outs:
        cfg = module.aotmem_config
        return np.zeros((0, cfg["N"] if "N" in cfg else cfg["d_vocab_out"]))
    return np.concatenate(outs)


def check_export(model_or_npz, module, seqs) -> float:
    """:func:`max_rel_logit_diff` of ``module``'s last-position logits against ``AoT.logits`` on ``seqs``."""
    m = as_aot(model_or_npz)
    return max_rel_logit_diff(exported_logits(module, m._check_seqs(seqs)), m.logits(seqs))


def save_export(module, path, *, vocabulary: dict | None = None) -> None:
    """Write an exported module with ``torch.save``: ``{"format", "kind", "config", "state_dict", "vocabulary"}``.

    ``vocabulary``: the model's text vocabulary (``theory.vocab.Vocabulary.summary()``: ``symbols`` in token-id
    order, ``level``, ``lower``, ``S``, ``smoothing``, ...) or ``None``; :func:`load_export` attaches it to the
    module as ``aotmem_vocabulary``, so the exported model encodes and decodes text without the task file.

    ``config`` holds plain values: the ``HookedTransformerConfig`` keyword
    arguments (dtype float64 implied) or the AoT's sizes. Reload with
    :func:`load_export`, or without aotmem:
    ``HookedTransformer(HookedTransformerConfig(**config, dtype=torch.float64)).load_state_dict(state_dict)``.
    """
    kind = _kind_of(module)
    torch = require("torch")
    state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
    vocab = dict(vocabulary) if vocabulary is not None else getattr(module, "aotmem_vocabulary", None)
    torch.save({"format": FORMAT, "kind": kind, "config": dict(module.aotmem_config), "state_dict": state,
                "vocabulary": vocab}, Path(path))


def load_export(path, *, device: str = "cpu"):
    """Rebuild the module written by :func:`save_export` (``torch.load(weights_only=True)``: no pickled code runs)."""
    torch = require("torch")
    path = Path(path)
    if not path.exists():
        raise ValueError(f"export file `{path}` does not exist")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # any unreadable file means the same to the user
        raise ValueError(f"export file `{path}` is not readable by torch.load ({exc.__class__.__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT or blob.get("kind") not in KINDS:
        raise ValueError(f"export file `{path}` was not written by aotmem.theory.interop.save_export ({FORMAT})")
    if blob["kind"] == "torch":
        mod = _torch_module_class()(**blob["config"])
        mod.load_state_dict(blob["state_dict"], strict=True)
        mod = mod.to(device).eval()
    else:
        mod = _build_tl(blob["config"], blob["state_dict"], device)
        mod.aotmem_config = dict(blob["config"])
    mod.aotmem_vocabulary = blob.get("vocabulary")  # None for a model not built on a text task (or an older file)
    return mod
