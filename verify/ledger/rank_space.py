"""The search space of the rank claims about the attention layer (``paper.lemma2`` and its corrected forms,
``draft.lemma-rank``): the whole regime ``N, S, d, H, T_0``, the ``W_QK`` kind, the draw and which ``T_0``
sequences, with families from the equality cases of the lemma and of its correction.

The lemma states ``rank{A(t)}_t >= min(T_0, H d)`` for ``T_0`` sequences among the ``N^S``; the correction
(docs/theory.md#p5) caps it at ``H(N+S-2) + 1`` for ``S >= 2`` and leaves nothing for ``S = 1`` beyond ``d``.
Where the search must look, the families (:data:`RANK_FAMILIES`):

- ``regime``: every parameter redrawn over its whole range (limits with probability ``Param.edge``);
- ``smallest``: the smallest task, ``N = 2`` (``S`` the smallest the reading allows, or one more);
- ``S-switch``: the same ``N`` with ``S = 1`` or ``S = 2`` (``S = 1``: one position, ``A^h(t) = x_1(t)``);
- ``restricted-edge``: ``d = N + S - 2``, the corrected lemma's largest width (``H d <= H(N+S-2) + 1`` with
  equality at ``H = 1``);
- ``cap-edge``: ``d = N + S - 1``, one past it, where ``H d`` and the cap ``H(N+S-2) + 1`` part;
- ``T0-edge``: ``T_0`` in ``{H d - 1, H d, H d + 1}``, where ``min(T_0, H d)`` switches;
- ``repeats`` and ``same-last``: near-dependent sets of sequences (``pick``): the sequences with the fewest
  distinct tokens first (a constant sequence attends to one embedding, so its ``A^h(t)`` moves on the
  positions only), or those sharing the last token (one query per head).

The regime's joint conditions (``S >= 2``, ``d <= N + S - 2``, the full-heads ``H = ceil(N^S/d)`` of
``draft.lemma-rank``) are the claim's ``valid`` and ``derive``; the claims' ``evaluate`` checks them too, so
that a shrunk or optimised recipe outside the reading's regime is outside, never judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from aotmem.theory.task import all_sequences
from .search import RecipeSpace

__all__ = ["PICKS", "RANK_FAMILIES", "RankSpace", "rank_sequences"]

# Which T_0 sequences of the N^S a recipe names (key ``pick``; absent: ``random``).
PICKS = ("random", "repeats", "same-last")


def rank_sequences(N: int, S: int, T0: int, seed: int, pick: str = "random") -> np.ndarray:
    """The ``T_0`` sequences ``(T_0, S)`` a recipe names, in the order of :func:`all_sequences`.

    ``random``: a uniform subset (the recipe's ``seed``); ``repeats``: fewest distinct tokens first (ties in
    the seed's random order); ``same-last``: the sequences ending in token 0 first, then the seed's order.

    >>> rank_sequences(2, 2, 2, 0, "repeats").tolist()
    [[0, 0], [1, 1]]
    """
    if pick not in PICKS:
        raise ValueError(f"`pick` must be one of {PICKS} (got {pick!r})")
    seqs = all_sequences(N, S)
    if not 1 <= T0 <= len(seqs):
        raise ValueError(f"`T0` must be in 1..{len(seqs)} (got {T0})")
    rng = np.random.default_rng(seed)
    if pick == "random":
        idx = rng.choice(len(seqs), size=T0, replace=False)
    else:
        order = rng.permutation(len(seqs))
        if pick == "repeats":
            key = np.array([len(set(s.tolist())) for s in seqs])
        else:
            key = (seqs[:, -1] != 0).astype(int)
        idx = order[np.argsort(key[order], kind="stable")][:T0]
    return seqs[np.sort(idx)]


def _shape(N: int, S: int, space: "RankSpace", max_n: int) -> tuple[int, int] | None:
    """``(N, S)`` within the space's sizes (``N^S <= max_t``, ``S >= s_min``), or None."""
    N = max(2, min(N, max_n))
    S = max(S, space.s_min)
    while N**S > space.max_t and N > 2:
        N -= 1
    return (N, S) if N**S <= space.max_t else None


def _redraw(rng, like: dict, space: "RankSpace", N: int, S: int) -> dict:
    return space.draw_params(rng, {**like, "N": N, "S": S}, shape=False)


def _fam_regime(rng, like, max_n, space):
    return space.draw_params(rng, like)


def _fam_smallest(rng, like, max_n, space):
    got = _shape(2, space.s_min + int(rng.integers(2)), space, max_n)
    return None if got is None else _redraw(rng, like, space, *got)


def _fam_s_switch(rng, like, max_n, space):
    got = _shape(int(like["N"]), 1 + int(rng.integers(2)), space, max_n)
    return None if got is None else _redraw(rng, like, space, *got)


def _fam_width(rng, like, max_n, space, extra: int):
    r = space.draw_params(rng, like)
    r["d"] = max(1, int(r["N"]) + int(r["S"]) - 2 + extra)
    return space.finish(r)


def _fam_t0_edge(rng, like, max_n, space):
    r = space.draw_params(rng, like)
    T = int(r["N"]) ** int(r["S"])
    r["T0"] = int(min(max(int(r["H"]) * int(r["d"]) + int(rng.integers(-1, 2)), 1), T))
    return space.finish(r)


def _fam_pick(rng, like, max_n, space, pick: str):
    r = space.draw_params(rng, like)
    r["pick"] = pick
    return space.finish(r)


RANK_FAMILIES: dict[str, Callable] = {
    "regime": _fam_regime,
    "smallest": _fam_smallest,
    "S-switch": _fam_s_switch,
    "restricted-edge": lambda rng, like, m, sp: _fam_width(rng, like, m, sp, 0),
    "cap-edge": lambda rng, like, m, sp: _fam_width(rng, like, m, sp, 1),
    "T0-edge": _fam_t0_edge,
    "repeats": lambda rng, like, m, sp: _fam_pick(rng, like, m, sp, "repeats"),
    "same-last": lambda rng, like, m, sp: _fam_pick(rng, like, m, sp, "same-last"),
}


@dataclass(frozen=True)
class RankSpace(RecipeSpace):
    """:class:`RecipeSpace` of the rank lemmas, with their families (:data:`RANK_FAMILIES`).

    ``derive(recipe) -> recipe`` sets the parameters the reading's regime fixes from the others
    (``draft.lemma-rank``: ``T_0 = N^S``, ``H = ceil(N^S/d)``), after every draw and every optimiser move;
    ``valid`` is the reading's joint condition (families redraw until it holds, up to 20 times).
    ``max_t`` bounds ``N^S`` of the family shapes, ``s_min`` is the reading's smallest ``S``.
    """

    derive: Callable | None = None
    max_t: int = 64
    s_min: int = 1
    names: tuple = tuple(RANK_FAMILIES)

    def finish(self, recipe: dict) -> dict:
        """``recipe`` with ``N^S <= max_t`` (``S``, then ``N`` lowered), the derived parameters set and
        ``T_0`` within ``1 .. N^S``: what every draw and every optimiser move goes through."""
        r = dict(recipe)
        while int(r["N"]) ** int(r["S"]) > self.max_t:
            if int(r["S"]) > max(self.s_min, 1):
                r["S"] = int(r["S"]) - 1
            else:
                r["N"] = int(r["N"]) - 1
        if self.derive is not None:
            r = self.derive(r)
        if "T0" in r:
            r["T0"] = int(min(max(int(r["T0"]), 1), int(r["N"]) ** int(r["S"])))
        return r

    def draw_params(self, rng, like: dict, *, shape: bool = True) -> dict:
        """``like`` with every parameter redrawn over its whole range, in order (the shape ``N``, ``S`` first,
        then the others within the new ``N^S``); ``shape=False`` keeps ``like``'s ``N`` and ``S``."""
        out = super().draw_params(rng, like, keep=() if shape else ("N", "S"))
        out["pick"] = PICKS[0]
        return out

    def decode(self, x: np.ndarray, like: dict) -> dict:
        out = dict(like)
        names = [p for p in self.params if p.name in like]
        for i, p in enumerate(names):
            out[p.name] = p.decode(x[i], *self.size(out))
        return self.finish(out)

    def family_recipe(self, rng, like: dict, max_n: int, T: int | None = None) -> tuple[str, dict]:  # noqa: ARG002
        """A family instance (:data:`RANK_FAMILIES`) in the reading's regime; ``regime`` when none fits."""
        for _ in range(20):
            name = self.names[int(rng.integers(len(self.names)))]
            r = RANK_FAMILIES[name](rng, like, max_n, self)
            if r is not None and (self.valid is None or self.valid(r)):
                return name, r
        return "regime", self.draw_params(rng, like)

    def describe(self) -> dict:
        out = super().describe()
        out.update({"task": f"N, S with N^S <= {self.max_t} (S >= {self.s_min}); T_0 sequences chosen by `pick`",
                    "families": list(self.names), "picks": list(PICKS)})
        return out
