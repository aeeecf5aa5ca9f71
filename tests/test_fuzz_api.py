"""Fuzz every public entry point of ``theory`` (issue 5, items 1-2; issue 14, item 4).

Every callable in a ``theory`` module's ``__all__`` whose required
parameters all have known names (``prior``, ``cond``, ``F``, ``N``, ``d``,
``eps``, ``task``, ``path``, ...; see ``VALID``) is called two ways:

- with a consistent, valid "world" (a small task; its rows drawn from the
  extremes too: probabilities of 1e-300, exact zeros, one-hot and uniform
  rows), fitted to the function's documented domain (``DOMAIN``: a batch
  axis, a file of the kind it reads, ``d`` in its range): the call returns
  a result with no NaN anywhere. A ``ValueError`` here is a defect, except a
  refusal the function documents by name (``REFUSALS``: an assumption of the
  theory that the drawn data may miss, such as Assumption 2 on a row with an
  exact zero); then the message must name that reason and the function's
  docstring must document it;
- with exactly one argument malformed (NaN, a row summing to 0.97, a wrong
  shape, ``d = 0``, ``eps = 1``, a string, ...): the call must raise a
  ``ValueError`` whose message names that argument in backticks; any other
  exception fails the test, and so does a valid world the function refuses
  without documenting it.

Functions are discovered at collection time, so a module that lands later
is fuzzed without editing this file. A defect found here in another
module is pinned as an ``xfail(strict=True)`` reproducer below and listed in
``KNOWN`` so that the generic test does not fail on it twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import pkgutil
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import aotmem.theory
from aotmem.theory.precise import NotUnique
from aotmem.theory.task import Task

# Modules whose functions take a free-form `name` or solver inputs with no
# fixed shape (their checks are exercised by the modules that call them).
# aotmem.theory.interop: the export to the optional extra [interop] (torch, TransformerLens),
# not a formula of a task: tests/test_interop.py checks it.
SKIP_MODULES = {"aotmem.theory.validate", "aotmem.theory.backend", "aotmem.theory.interop"}

# Largest sizes of a fuzz world: keeps each call well under 10 ms.
MAX_N, MAX_T = 6, 36


# --------------------------------------------------------------------- worlds
@st.composite
def rows(draw, T: int, N: int) -> np.ndarray:
    """A ``(T, N)`` row-stochastic matrix from one extreme regime."""
    kind = draw(st.sampled_from(["dirichlet", "tiny", "zeros", "one-hot", "uniform"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "uniform":
        P = np.full((T, N), 1.0 / N)
    elif kind == "one-hot":
        P = np.zeros((T, N))
        P[np.arange(T), rng.integers(0, N, T)] = 1.0
    else:
        P = rng.dirichlet(np.ones(N), size=T)
        if kind == "tiny":  # one entry per row at 1e-300 (Assumption 2 still holds)
            P[:, 0] = 1e-300
        elif kind == "zeros":  # exact zeros
            P[:, 0] = 0.0
        P /= P.sum(axis=1, keepdims=True)
    assert np.allclose(P.sum(axis=1), 1, rtol=0, atol=1e-12) and (P >= 0).all()
    return P


@st.composite
def worlds(draw) -> dict:
    """Consistent valid values for every known parameter name."""
    N = draw(st.integers(2, MAX_N))
    S = draw(st.integers(1, 2))
    T = N**S
    if T > MAX_T:
        S, T = 1, N
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    d = draw(st.integers(1, max(1, N - 1)))
    cond = draw(rows(T, N))
    prior = draw(st.sampled_from(["uniform", "random", "point"]))
    if prior == "uniform":
        p = np.full(T, 1.0 / T)
    elif prior == "point":
        p = np.zeros(T)
        p[0] = 1.0
    else:
        p = rng.dirichlet(np.ones(T))
    task = Task(p, cond)
    W_U = rng.normal(size=(N, d))
    return dict(
        N=N, S=S, T=T, d=d, d_h=d, H=1, j=draw(st.integers(1, N)), k=1,
        prior=p, cond=cond, weights=cond, cond_row=cond[0],
        F=rng.normal(scale=3.0, size=(T, N)), logits=rng.normal(size=(T, N)), X=rng.normal(size=(T, N)),
        x=rng.normal(scale=5.0, size=4),
        eps=draw(st.sampled_from([0.0, 1e-300, 0.1, 0.5, 1 - 1e-16])),
        h=draw(st.sampled_from([0.0, 0.5, 1.0])) * np.log(N),
        entropy=draw(st.sampled_from([0.0, 0.5, 1.0])) * np.log(N),
        alpha=1.0, sigma=0.5, top=3.0, scale=1.0, zipf_a=1.0, level=0.9, tol=1e-10,
        ratios=np.array([0.5, 1.0]), trials=1, iters=3, chunk=draw(st.integers(1, T + 1)),
        seed=0, task=task, seqs=task.seqs,
        W_U=W_U, W_E=rng.normal(size=(N, d)), W=rng.normal(size=(N, d)), E=rng.normal(size=(T, d)),
        W_U0=W_U, g=rng.integers(0, N, N),
        kind="association",
    )


# Valid names (the world's keys) and, per name, malformed values that every
# entry point must reject (issue 5 item 1: d >= 1, N >= 2, S >= 1, 0 <= eps < 1).
# A bad value is ``(value, names)``: the message may name any of ``names``
# (a length mismatch between `prior` and `cond` is the fault of either).
def _bad_arrays(shape):
    a = np.ones(shape)
    nan = a.copy()
    nan.flat[0] = np.nan
    inf = a.copy()
    inf.flat[-1] = np.inf
    return [nan, inf, "abc", None]


def _bad_dist(v):
    neg = v.copy()
    neg.flat[0] = -0.25
    neg.flat[-1] += 0.25
    return [neg, v * 0.97, np.full_like(v, np.nan), "abc", None, v[None]]


BAD_INT = [0, -1, 2.5, "3", None, True]
BAD = {
    "prior": lambda w: _bad_dist(w["prior"]) + [np.array([])],
    "cond": lambda w: _bad_dist(w["cond"]) + [w["cond"][0]],
    "cond_row": lambda w: _bad_dist(w["cond_row"])[:-1],
    "weights": lambda w: _bad_dist(w["weights"])[:-1],
    "F": lambda w: _bad_arrays((w["T"], w["N"])),
    "logits": lambda w: _bad_arrays((w["T"], w["N"])),
    "X": lambda w: _bad_arrays((w["T"], w["N"])),
    "x": lambda w: [np.array([np.nan]), np.array([np.inf]), "abc", None],
    "W_U": lambda w: _bad_arrays((w["N"], w["d"])),
    "W_E": lambda w: _bad_arrays((w["N"], w["d"])),
    "N": lambda w: BAD_INT + [1],
    "S": lambda w: BAD_INT,
    "T": lambda w: BAD_INT,
    "d": lambda w: BAD_INT,
    "d_h": lambda w: BAD_INT,
    "H": lambda w: [-1, 2.5, "3", None, True],  # H = 0 (skip connection only) is a legal degenerate AoT
    "j": lambda w: BAD_INT,
    "chunk": lambda w: [0, -1, 2.5, "3", True],
    "trials": lambda w: BAD_INT,
    "eps": lambda w: [-0.1, 1.0, 1.5, np.nan, np.inf, "0.1", None],
    "h": lambda w: [-0.1, np.nan, np.inf, 2 * np.log(w["N"]) + 1, "x"],
    "entropy": lambda w: [-0.1, np.nan, np.inf, 2 * np.log(w["N"]) + 1, "x"],
    "alpha": lambda w: [0.0, -1.0, np.nan, np.inf, "x"],
    "level": lambda w: [-0.5, 1.5, np.nan],
    "task": lambda w: [None, 3, "task", w["cond"]],
    "reading": lambda w: ["nope", 3],
    "sigma_reading": lambda w: ["nope", 3],
    "inf_reading": lambda w: ["nope", 3],
    "mapping": lambda w: ["nope", 3],
    "kind": lambda w: ["nope", 3, None],
    "path": lambda w: ["/nonexistent/dir/file.npz"],
}
# Length mismatches between two arguments: any of the mismatched arrays
# (`prior`, `cond`, `F`, `logits`) may be named.
PAIR_BAD = {
    ("prior", "cond"): lambda w: np.full(w["T"] + 1, 1.0 / (w["T"] + 1)),
    ("cond", "prior"): lambda w: np.full((w["T"] + 1, w["N"]), 1.0 / w["N"]),
    ("cond", "F"): lambda w: np.full((w["T"] + 1, w["N"]), 1.0 / w["N"]),
    ("F", "cond"): lambda w: np.zeros((w["T"], w["N"] + 1)),
    ("logits", "cond"): lambda w: np.zeros((w["T"] + 1, w["N"])),
}
MATRICES = ("prior", "cond", "F", "logits")
# Optional parameters fuzzed only when their default is of the type the name
# usually carries (generators' `prior` is the *name* of a prior, a string).
OPTIONAL_BAD = {"chunk", "reading", "sigma_reading", "inf_reading", "mapping", "eps", "d_h", "H"}
# Names that may be passed valid but have no universal "bad" value here.
VALID_ONLY = {"seed", "seqs", "sigma", "top", "scale", "zipf_a", "tol", "ratios", "iters", "W_U0", "k"}
# Entry points too slow for a per-example fuzz (an optimiser with restarts:
# ~3 s a call); pinned by targeted reproducers instead.
SLOW = {"aotmem.theory.optimal.optimal_encoder",
        "aotmem.theory.targets.rank_d_target"}  # optimal_encoder inside (tests/test_targets.py)


def _entry_points():
    out = []
    for info in pkgutil.iter_modules(aotmem.theory.__path__):
        modname = f"aotmem.theory.{info.name}"
        if modname in SKIP_MODULES:
            continue
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            ident = f"{modname}.{name}"
            if not callable(obj) or (inspect.isclass(obj) and not dataclasses.is_dataclass(obj)) or ident in SLOW:
                continue
            try:
                sig = inspect.signature(obj)
            except (TypeError, ValueError):
                continue
            required, optional = [], []
            ok = True
            for p in sig.parameters.values():
                if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    continue
                known = p.name in BAD or p.name in VALID_ONLY
                if p.default is p.empty:
                    if not known:
                        ok = False
                        break
                    required.append(p.name)
                elif p.name in OPTIONAL_BAD and not isinstance(p.default, bool):
                    optional.append(p.name)
            if ok:
                out.append(pytest.param(obj, required, optional, id=ident))
    return out


ENTRY_POINTS = _entry_points()

# (entry point id, parameter or "VALID") with a known defect in another
# module, pinned by a strict-xfail reproducer below: the valid-input test
# marks a "VALID" pair xfail(strict=True) (a fix is noticed), the malformed
# test leaves a parameter pair out of its draws (its reproducer fails until fixed).
KNOWN: dict[tuple[str, str], str] = {
}


def _valid_points():
    """ENTRY_POINTS, a KNOWN valid-input defect marked strict xfail."""
    out = []
    for p in ENTRY_POINTS:
        why = KNOWN.get((p.id, "VALID"))
        out.append(p if why is None else pytest.param(*p.values, id=p.id, marks=pytest.mark.xfail(strict=True,
                                                                                                reason=why)))
    return out


def _malformed_points():
    """ENTRY_POINTS with at least one fuzzable parameter not in KNOWN (the others have nothing to malform)."""
    out = []
    for p in ENTRY_POINTS:
        fn, required, optional = p.values
        if any(n in BAD and (p.id, n) not in KNOWN for n in required + optional):
            out.append(p)
    return out


# ----------------------------------------------------- the functions' domains
# A world is valid for the theory's functions of one task; some entry points
# take their arguments in another documented form (a batch axis, a file of
# another kind, a narrower range of d). DOMAIN maps an entry point (or its
# module) to ``fit(w, tmp_path) -> w``: the same world in that form, or
# hypothesis.reject() when the world cannot be put in it (N too small).
def _batched(w, tmp_path):
    """theory.batch: one instance, ``(B, T, N)`` arrays with ``B = 1``."""
    w = dict(w)
    for k in ("cond", "F", "logits", "X"):
        w[k] = w[k][None]
    w["prior"] = w["prior"][None]
    return w


def _target_file(w, tmp_path):
    from aotmem.theory.construct import save_target

    w = dict(w)
    w["path"] = tmp_path / "target.npz"
    save_target(w["path"], (w["W_U"], w["E"]))
    return w


def _model_file(w, tmp_path):
    """An AoT's weights (``d_h = d``, one head, random) with the world's sequences."""
    from aotmem.theory.aot import AoT

    rng = np.random.default_rng(0)
    N, S, d = w["N"], w["S"], w["d"]
    m = AoT(rng.normal(size=(N, d)), rng.normal(size=(S, d)), rng.normal(size=(1, d, d)),
            rng.normal(size=(1, d, d)), rng.normal(size=(1, d, d)), rng.normal(size=(N, d)))
    w = dict(w)
    w["path"] = tmp_path / "model.npz"
    m.save(w["path"], seqs=w["seqs"])
    return w


def _counts_file(w, tmp_path):
    w = dict(w)
    w["path"] = tmp_path / "counts.npz"
    np.savez(w["path"], counts=np.round(100 * w["cond"]))
    return w


def _vocab_file(w, tmp_path):
    """A task file made from a text, carrying its vocabulary (theory.vocab.load_vocabulary reads only those)."""
    from aotmem.theory.ngram import text_task
    from aotmem.theory.task import save_task
    from aotmem.theory.vocab import vocabulary_of

    res = text_task("abracadabra " * 3, w["S"], smoothing=0.5)
    w = dict(w)
    w["path"] = tmp_path / "text_task.npz"
    save_task(res.task, w["path"], **vocabulary_of(res, "fuzz").arrays(with_task=False))
    return w


def _explicit(w, tmp_path):
    """explicit_task(logits (T, N), weights (T,)): the prior as weights."""
    return dict(w, weights=w["prior"])


def _d_below_N_minus_1(w, tmp_path):
    """``N >= 3`` and ``1 <= d <= N - 2`` (prop2_hard_instance, almost_rank_task)."""
    if w["N"] < 3:
        reject()
    return dict(w, d=min(w["d"], w["N"] - 2))


def _d_at_least_2(w, tmp_path):
    """``d >= 2`` (paper.prop3: the circle needs two coordinates)."""
    return dict(w, d=max(w["d"], 2))


DOMAIN = {
    "aotmem.theory.batch": _batched,
    "aotmem.theory.optimal_batch.optimal_encoder_batch": _batched,
    "aotmem.theory.construct.load_target": _target_file,
    "aotmem.theory.aot.load_aot": _model_file,
    "aotmem.theory.ngram.load_counts": _counts_file,
    "aotmem.theory.vocab.load_vocabulary": _vocab_file,
    "aotmem.theory.vocab.has_vocabulary": _vocab_file,
    "aotmem.theory.generators.explicit_task": _explicit,
    "aotmem.theory.exact.prop2_hard_instance": _d_below_N_minus_1,
    "aotmem.theory.generators.almost_rank_task": _d_below_N_minus_1,
    "aotmem.theory.exact.prop3_family": _d_at_least_2,
}


def _in_domain(fn, w, tmp_path):
    ident = _ident(fn)
    fit = DOMAIN.get(ident) or DOMAIN.get(fn.__module__)
    return fit(w, tmp_path) if fit else dict(w)


# ----------------------------------------------------- theory.batch's contract
# theory.batch does not raise on an instance its scalar twin refuses: the
# instance's values are NaN (``ok`` False, ``why`` the reason), module
# docstring. Its fuzz compares each entry point with that twin (named in its
# docstring) on the same instance: NaN exactly where the twin raises.
def _taylor_twin(prior, cond, F):
    """The scalar evaluation of draft.lemma-taylor that taylor_identity_batch / taylor_bound_batch mirror."""
    from aotmem.theory.divergence import kl, taylor_proxy, taylor_remainder_bound

    return kl(prior, cond, F), taylor_proxy(prior, cond, F), taylor_remainder_bound(prior, cond, F)


def _batch_twins():
    from aotmem.theory import lowrank

    alt = {"iters": lowrank.ALT_SWEEPS, "tol": lowrank.ALT_TOL}  # wls_alternating_batch's defaults
    return {
        "aotmem.theory.batch.wls_alternating_batch": (lowrank.f_wls_alternating, alt),
        "aotmem.theory.batch.taylor_identity_batch": (_taylor_twin, {}),
        "aotmem.theory.batch.taylor_bound_batch": (_taylor_twin, {}),
    }


BATCH_TWINS = _batch_twins()
BATCHED = ("prior", "cond", "F", "logits", "X")  # the arguments _batched gives a leading axis


def _twin_call(fn, kw):
    """The scalar twin of a theory.batch entry point on instance 0 of ``kw``."""
    twin, extra = BATCH_TWINS[_ident(fn)]
    one = {k: (v[0] if k in BATCHED and isinstance(v, np.ndarray) and v.ndim >= 1 else v)
           for k, v in kw.items() if k != "chunk"}
    return twin, lambda: twin(**one, **extra)


def _refused_instance(out):
    """Every value of a one-instance batch result NaN, and ``ok`` False where the result carries it."""
    ok = getattr(out, "ok", None)
    if ok is None and isinstance(out, tuple) and len(out) == 3 and np.asarray(out[2]).dtype == bool:
        ok = out[2]  # (lhs, rhs, ok)
    if ok is not None:
        assert not np.asarray(ok).any(), out
    vals = [a for a in _walk(out) if a.dtype.kind == "f" and a.size]
    assert vals and all(np.isnan(a).all() for a in vals), out


def _batch_agrees_with_its_twin(fn, kw, out):
    """Valid world: NaN exactly where the scalar twin refuses (documented), none elsewhere."""
    twin, call = _twin_call(fn, kw)
    try:
        with _strict():
            call()
    except ValueError as exc:
        _documented_refusal(twin, exc)
        _refused_instance(out)
        return
    for a in _walk(out):
        assert not np.isnan(a).any(), f"{_ident(fn)} returned NaN where {_ident(twin)} does not refuse: {out}"
    ok = getattr(out, "ok", None)
    assert ok is None or np.asarray(ok).all(), out


# ----------------------------------------------------- documented refusals
# The only ValueErrors a valid world may meet: an assumption of the theory
# that the drawn data can miss. Each is (reason, the message must match,
# the function's documentation must match): the refusal names its reason,
# and the function (or its module, for all its functions) documents it by name.
REFUSALS = [
    ("Assumption 2", r"Assumption 2", r"Assumption 2|full support"),
    ("Assumption 1", r"Assumption 1", r"Assumption 1"),
    ("not unique at the working precision", None, r"NotUnique"),  # the type says it (theory.precise)
    ("ill-conditioned system", r"ill-conditioned", r"ill-conditioned|WLS_COND_MAX"),
    ("hypothesis of draft.cor-permutation", r"hypothesis of draft\.cor-permutation", r"draft\.cor-permutation"),
    # theory.construct's typed refusals (ConstructionError): a singular kept system, every draw inaccurate
    ("singular system", r"singular", r"SingularSystem"),
    ("inaccurate construction", r"inaccurate|misses", r"InaccurateConstruction"),
]


def _doc_of(fn) -> str:
    """``fn``'s documentation: its docstring, and its module's (where a module states an assumption of all
    its functions once, e.g. theory.bounds: "they all need Assumption 2")."""
    return (inspect.getdoc(fn) or "") + "\n" + (inspect.getdoc(inspect.getmodule(fn)) or "")


def _documented_refusal(fn, exc: ValueError) -> str:
    """The reason of ``exc`` when ``fn`` documents it and the message names it; otherwise the test fails."""
    msg, doc = str(exc), _doc_of(fn)
    for reason, msg_re, doc_re in REFUSALS:
        if (isinstance(exc, NotUnique) if msg_re is None else re.search(msg_re, msg)):
            assert re.search(doc_re, doc), \
                f"{_ident(fn)} refuses valid input ({reason}) without documenting it: {exc!r}"
            return reason
    pytest.fail(f"{_ident(fn)} raised a ValueError on valid input, not a documented refusal: {exc!r}")


@contextlib.contextmanager
def _strict():
    """RuntimeWarning as error, as pyproject.toml asks, even under ``-p no:warnings``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _ident(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _walk(obj, depth=0):
    """Every float array/scalar inside a result (tuples, dicts, dataclasses, Tasks)."""
    if depth > 4:
        return
    if isinstance(obj, (float, np.floating)):
        yield np.asarray(obj)
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in "fc":
            yield obj
        elif obj.dtype == object:
            for v in obj.flat:
                yield from _walk(v, depth + 1)
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v, depth + 1)
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name, None), depth + 1)


def _valid_kwargs(w, required, fn, tmp_path):
    kw = {n: w[n] for n in required if n != "path"}
    if "path" in required:
        if "path" not in w:  # a task file, unless the domain wrote the file the function reads
            w["path"] = tmp_path / "task.npz"
            w["task"].save(w["path"])
        kw["path"] = w["path"]
    if _ident(fn).endswith("random_task"):
        kw["kind"] = "association"
    return kw


FUZZ = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.filter_too_much],
                max_examples=max(4, settings.default.max_examples // 4))


# Values BAD lists that an entry point documents as valid: (entry point, name) -> predicate on the value.
DOCUMENTED_VALID = {
    # an mpmath result may be +-inf (a vacuous bound): converted, not refused
    ("aotmem.theory.precise.to_float", "x"): lambda v: isinstance(v, np.ndarray) and not np.isnan(v).any(),
    # prior weights, normalised by their sum: any finite non-negative vector with a positive sum
    ("aotmem.theory.generators.explicit_task", "weights"):
        lambda v: isinstance(v, np.ndarray) and v.ndim == 1 and np.isfinite(v).all() and (v >= 0).all()
        and v.sum() > 0,
}


def _bads(w, name, params, ident=""):
    valid = DOCUMENTED_VALID.get((ident, name), lambda v: False)
    out = [(v, (name,)) for v in BAD[name](w) if not valid(v)]
    for (a, b), make in PAIR_BAD.items():
        if a == name and b in params:
            out.append((make(w), tuple(n for n in MATRICES if n in params)))
    return out


def _names_ok(msg: str, names, value) -> bool:
    if any(f"`{n}`" in msg or f"`--{n}`" in msg or f"`{n}[" in msg for n in names):
        return True
    return isinstance(value, str) and f"`{value}`" in msg  # a file path named by its value


@pytest.mark.parametrize("fn, required, optional", _valid_points())
@FUZZ
@given(w=worlds())
def test_valid_input_gives_no_nan(fn, required, optional, w, tmp_path):
    """A valid world: a NaN-free result, or a refusal the function documents, naming its reason."""
    w = _in_domain(fn, w, tmp_path)
    kw = _valid_kwargs(w, required, fn, tmp_path)
    try:
        with _strict():
            out = fn(**kw)
    except ValueError as exc:
        _documented_refusal(fn, exc)
        return
    if _ident(fn) in BATCH_TWINS:
        _batch_agrees_with_its_twin(fn, kw, out)
        return
    for a in _walk(out):
        assert not np.isnan(a).any(), f"{_ident(fn)} returned NaN for {kw}"


@pytest.mark.parametrize("fn, required, optional", _malformed_points())
@FUZZ
@given(w=worlds(), data=st.data())
def test_one_malformed_argument_is_named(fn, required, optional, w, data, tmp_path):
    """Exactly one malformed argument: a ValueError naming it in backticks (OSError for a path); nothing else."""
    ident = _ident(fn)
    params = required + optional
    targets = [n for n in params if n in BAD and (ident, n) not in KNOWN]
    assert targets  # _malformed_points keeps only these
    w = _in_domain(fn, w, tmp_path)
    kw = _valid_kwargs(w, required, fn, tmp_path)
    try:  # the world must be valid for this function, or the first error is about something else
        with _strict():
            fn(**kw)
    except ValueError as exc:
        _documented_refusal(fn, exc)  # fails the test unless documented
        reject()  # a documented refusal: this world is outside the function's assumptions, draw another
    if ident in BATCH_TWINS:  # theory.batch refuses by NaN: the same world through the scalar twin
        twin, call = _twin_call(fn, kw)
        try:
            with _strict():
                call()
        except ValueError as exc:
            _documented_refusal(twin, exc)
            reject()
    name = data.draw(st.sampled_from(targets), label="argument")
    bad, names = data.draw(st.sampled_from(_bads(w, name, params, ident)), label="bad value")
    kw[name] = bad
    expected = (ValueError, OSError) if name == "path" else ValueError
    if ident in BATCH_TWINS and isinstance(bad, np.ndarray) and bad.shape == np.shape(w[name]):
        # theory.batch, a malformed value in a well-shaped array: refused by the instance's NaN where the
        # scalar twin raises naming the argument (module docstring), or by a ValueError naming it
        try:
            with _strict():
                out = fn(**kw)
        except ValueError as exc:
            assert _names_ok(str(exc), names, bad), f"{ident}({name}={bad!r}): message does not name {names}: {exc}"
            return
        twin, call = _twin_call(fn, kw)
        with pytest.raises(ValueError) as info, _strict():
            call()
        assert _names_ok(str(info.value), names, bad), \
            f"{_ident(twin)}({name}={bad!r}): message does not name {names}: {info.value}"
        _refused_instance(out)
        return
    with pytest.raises(expected) as info, _strict():
        fn(**kw)
    if isinstance(info.value, ValueError):
        assert _names_ok(str(info.value), names, bad), \
            f"{ident}({name}={bad!r}): message does not name {names}: {info.value}"


def test_every_batch_entry_point_has_its_scalar_twin():
    """theory.batch's fuzz compares with the scalar twin: a new batch function must name its twin here."""
    batch = {p.id for p in ENTRY_POINTS if p.id.startswith("aotmem.theory.batch.")}
    assert batch and batch <= set(BATCH_TWINS), sorted(batch - set(BATCH_TWINS))


def test_entry_points_are_discovered():
    """The fuzzer covers the core modules (it cannot silently fuzz nothing)."""
    ids = {p.id for p in ENTRY_POINTS}
    for must in ("aotmem.theory.divergence.kl", "aotmem.theory.divergence.kl_stream", "aotmem.theory.spectra.sigma",
                 "aotmem.theory.task.t_eps", "aotmem.theory.task.Task", "aotmem.theory.task.load_task"):
        assert must in ids, must


# ------------------------------------------------- pinned defects (KNOWN)
# Each reproducer is minimal and fails today; strict xfail flips when fixed.
# Owner files: theory/bounds.py, theory/lookup.py, theory/lowrank.py,
# theory/construct.py, theory/exact.py, theory/assoc.py, theory/task.py,
# theory/generators.py.
P_TINY = np.array([[1e-300, 0.5, 0.5 - 1e-300], [0.25, 0.25, 0.5]])


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*a, **k)


def _no_nan_on_valid_input(fn, *a, **k):
    """The contract on valid input: a number with no NaN (``+inf`` is a true, vacuous bound), returned.

    A ``ValueError`` fails the test unless it is a refusal ``fn`` documents by name
    (:func:`_documented_refusal`: the message names the reason, the docstring documents it).
    """
    try:
        out = _quiet(fn, *a, **k)
    except ValueError as exc:
        _documented_refusal(fn, exc)
        return None
    assert not np.isnan(np.asarray(out, dtype=float)).any(), out
    return out


def test_fixed_seed_wls_bound_on_tiny_probability():
    """Was OverflowError ((max/min)**1.5 in Python floats), theory/bounds.py, found by this suite."""
    out = _no_nan_on_valid_input(importlib.import_module("aotmem.theory.bounds").seed_wls_bound,
                                 np.array([0.5, 0.5]), P_TINY, 1)
    assert out == np.inf  # (max/min)^{3/2} with min pi = 1e-300: 1e450, a true bound beyond float64


def test_fixed_seed_wls_bound_rows_on_tiny_probability():
    """Was RuntimeWarning 'overflow in power' (theory/bounds.py); +inf is a true, vacuous row bound."""
    from aotmem.theory.bounds import seed_wls_bound_rows

    with _strict():
        rows = seed_wls_bound_rows(np.array([0.5, 0.5]), P_TINY, 1)
    assert not np.isnan(rows).any() and (rows > 0).all()


def test_fixed_draft_wls_bound_on_zero_prior_row():
    """Was NaN (p(t)=0 times an infinite row bound), theory/bounds.py."""
    from aotmem.theory.bounds import draft_wls_bound

    out = _no_nan_on_valid_input(draft_wls_bound, np.array([1.0, 0.0]), P_TINY[::-1].copy(), 1)
    assert 0 < out < np.inf  # the p(t) = 0 row (the one with 1e-300) does not enter the expectation


@pytest.mark.parametrize("name", ["draft_lookup_bound", "paper_theorem2_bound"])
def test_fixed_lookup_bounds_on_zero_prior_row(name):
    """Were NaN on ([1,0], [[0,.5,.5],[1/3,1/3,1/3]], 1): a p(t)=0 row (theory/lookup.py)."""
    import aotmem.theory.lookup as lk

    out = _no_nan_on_valid_input(getattr(lk, name), np.array([1.0, 0.0]),
                                 np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]), 1)
    assert out == np.inf  # C(N=3, d=1) >= 1/2: vacuous, +inf by the module's convention


@pytest.mark.parametrize("h", [np.nan, np.inf, 5.0, -0.1])
def test_fixed_lookup_psi_rejects_bad_entropy(h):
    """Were accepted: lookup_psi(nan, 2) -> nan, (inf, 2) -> -inf, (5.0, 2) (theory/lookup.py)."""
    from aotmem.theory.lookup import lookup_psi

    with pytest.raises(ValueError, match="`h`"):
        _quiet(lookup_psi, h, 2)


def test_fixed_svd_target_non_task():
    """Was AttributeError instead of a ValueError naming `task` (theory/construct.py)."""
    from aotmem.theory.construct import svd_target

    with pytest.raises(ValueError, match="`task`"):
        svd_target(None, 1)


@pytest.mark.parametrize("call", ["random_embeddings", "random_mapping", "assoc_memory_recall"])
def test_fixed_assoc_rejects_N_one(call):
    """Accepted N = 1 (issue 5: N >= 2) in theory/assoc.py."""
    import aotmem.theory.assoc as asc

    args = (1,) if call == "random_mapping" else (1, 2)
    with pytest.raises(ValueError, match="`N`"):
        getattr(asc, call)(*args)


def test_fixed_save_task_non_task(tmp_path):
    """Was AttributeError instead of a ValueError naming `task` (theory/task.py)."""
    from aotmem.theory.task import save_task

    with pytest.raises(ValueError, match="`task`"):
        save_task(None, tmp_path / "x.npz")


def test_fixed_lookup_mass_for_entropy_names_h():
    """Named `entropy` although the argument is `h` (theory/generators.py)."""
    from aotmem.theory.generators import lookup_mass_for_entropy

    with pytest.raises(ValueError, match="`h`"):
        lookup_mass_for_entropy(2, -1.0)


def test_known_defects_are_real_entry_points():
    """Every KNOWN pair names a discovered entry point (a renamed function must not hide a defect)."""
    ids = {p.id for p in ENTRY_POINTS}
    missing = sorted({k[0] for k in KNOWN} - ids)
    assert not missing, missing


# -------------------------------------- regressions: defects found and fixed
def test_fixed_f_wls_alternating_on_uniform_rows():
    """Was LinAlgError('Singular matrix') (theory/lowrank.py, fixed in 1fc990d)."""
    from aotmem.theory.divergence import kl
    from aotmem.theory.lowrank import f_wls_alternating

    with _strict():
        lr, _ = f_wls_alternating(np.full(2, 0.5), np.full((2, 2), 0.5), 1)
    assert kl(np.full(2, 0.5), np.full((2, 2), 0.5), lr.F) <= 1e-12  # uniform rows: an exact fit


def test_fixed_optimal_encoder_on_tiny_probability():
    """Was 'overflow encountered in matmul' on 1e-300 probabilities (theory/optimal.py, fixed in 1fc990d)."""
    from aotmem.theory.optimal import optimal_encoder

    P = np.array([[1e-300, 0.5, 0.5 - 1e-300], [1e-300, 0.2, 0.8 - 1e-300]])
    with _strict():
        res = optimal_encoder(np.full(2, 0.5), P, 1)
    assert np.isfinite(res.divergence) and res.divergence >= -1e-12


@pytest.mark.parametrize("call", ["prop2_hard_instance", "rank_lower_bound", "zero_divergence_reachable"])
def test_fixed_exact_rejects_d_zero(call):
    """Was accepted (theory/exact.py, fixed in 98abbbf)."""
    import aotmem.theory.exact as ex

    Q = np.array([[0.2, 0.8], [0.6, 0.4]])
    args = (3, 0) if call == "prop2_hard_instance" else (np.full(2, 0.5), Q, 0)
    with pytest.raises(ValueError, match="`d`"):
        getattr(ex, call)(*args)


def test_fixed_paper_param_count_rejects_negative_sizes():
    """Was 1 for (0, -1, -1, 0, -1) (theory/construct.py)."""
    from aotmem.theory.construct import paper_param_count

    with pytest.raises(ValueError):
        paper_param_count(0, -1, -1, 0, -1)


@pytest.mark.parametrize("kw", [dict(N=1), dict(d=None)])
def test_fixed_capacity_param_count_validates(kw):
    """Were accepted / TypeError: param_count(N=1, ...), d=None (theory/capacity.py)."""
    from aotmem.theory.capacity import param_count

    args = dict(N=3, S=2, d=2, d_h=2, H=1) | kw
    with pytest.raises(ValueError, match="`N`|`d`"):
        param_count(**args)


# ------------------------------------------- the AoT and its constructor, targeted
# (their parameters -- weights, targets -- have shapes the generic world cannot guess)
@FUZZ
@given(w=worlds(), eps=st.sampled_from([0.0, 1e-300, 0.3, 1 - 1e-16]), variant=st.sampled_from(["paper", "seed",
                                                                                               "fixed-skip"]))
def test_construct_on_extreme_tasks_is_finite_or_named_error(w, eps, variant):
    """T* on tiny/zero/one-hot/uniform rows and eps at its ends: finite logits and KL, or a ValueError."""
    import aotmem.theory.construct as construct_mod
    from aotmem.theory.divergence import kl

    from scipy.linalg import LinAlgWarning

    task, d = w["task"], max(1, min(w["d"], 3))
    fn = construct_mod.svd_target
    try:
        with _strict():
            warnings.simplefilter("ignore", LinAlgWarning)  # pinned below: test_fixed_construct_singular_does_not_warn
            target = fn(task, d)
            fn = construct_mod.construct
            c = fn(task, target, d, 1, eps, variant=variant, seed=0)
    except ValueError as exc:  # a refusal the function documents (svd_target: Assumption 2; construct: typed)
        _documented_refusal(fn, exc)
        assert "`" in str(exc) or "Assumption" in str(exc), f"message names no argument: {exc!r}"
        return
    with _strict():
        F = c.model.logits(task.seqs)
    assert np.isfinite(F).all()
    assert np.isfinite(kl(task.prior, task.cond, F))
    for a in _walk(c.report):
        assert not np.isnan(a).any(), c.report


def _tiny_aot_arrays():
    N, S, d, H, d_h = 3, 2, 2, 1, 1
    return dict(embed=np.eye(N, d), pos=np.zeros((S, d)), W_QK=np.zeros((H, d, d)), W_V=np.ones((H, d_h, d)),
                W_O=np.ones((H, d, d_h)), W_U=np.eye(N, d))


@pytest.mark.parametrize("key", ["embed", "pos", "W_QK", "W_V", "W_O", "W_U"])
@pytest.mark.parametrize("bad", ["nan", "inf", "shape", "string", "none"])
def test_aot_rejects_malformed_weights_naming_them(key, bad):
    import aotmem.theory.aot as aot
    arrs = _tiny_aot_arrays()
    a = arrs[key].astype(float)
    if bad == "nan":
        a.flat[0] = np.nan
    elif bad == "inf":
        a.flat[0] = np.inf
    elif bad == "shape":
        a = np.zeros(a.shape[:-1] + (a.shape[-1] + 1,))
    elif bad == "string":
        a = "abc"
    else:
        a = None
    arrs[key] = a
    with pytest.raises(ValueError) as info:
        aot.AoT(**arrs)
    assert "`" in str(info.value), info.value


@pytest.mark.parametrize("seqs, why", [
    (np.array([[0, 3]]), "token id out of range"),
    (np.array([[0, -1]]), "negative token id"),
    (np.array([[0.5, 1.0]]), "non-integer ids"),
    (np.array([0, 1]), "1-d"),
    (np.array([[0, 1, 2]]), "wrong S"),
    ("abc", "a string"),
])
def test_aot_logits_reject_malformed_sequences(seqs, why):
    import aotmem.theory.aot as aot
    m = aot.AoT(**_tiny_aot_arrays())
    with pytest.raises(ValueError, match="`seqs`"):
        m.logits(seqs)
    with pytest.raises(ValueError, match="`chunk`"):
        m.logits(np.array([[0, 1]]), chunk=0)


def test_fixed_construct_singular_does_not_warn():
    """Emitted scipy's LinAlgWarning before its named ValueError; the CLI printed 3 lines (theory/backend.py)."""
    from aotmem.theory.construct import construct, svd_target

    task = Task(np.array([0.5, 0.5]), np.array([[0.4, 0.6], [0.9, 0.1]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="`M_1` is singular"):
            construct(task, svd_target(task, 1), 1, 1, 0.0, seed=0)


def test_fixed_construct_single_kept_sequence():
    """Paper variant with T_eps = 1 < d = 2 raised scipy's unnamed 'Shapes of lu (2, 1) and b (1, 3)' (theory/construct.py)."""
    from scipy.linalg import LinAlgWarning

    from aotmem.theory.construct import construct, svd_target

    cond = np.array([[0.4, 0.5, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]])
    task = Task(np.array([1.0, 0.0, 0.0]), cond)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LinAlgWarning)
        try:
            c = construct(task, svd_target(task, 2), 2, 1, 0.0, seed=0)
        except ValueError as exc:
            assert "`" in str(exc), exc
            return
    assert np.isfinite(c.model.logits(task.seqs)).all()
