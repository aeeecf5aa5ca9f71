"""aotmem.verify.claims.capacity: memorisation capacity (``paper.cor1``, ``paper.cor2``, ``paper.table1``).

Regressions: counterexamples found by ``aotmem verify``, recomputed from scratch through the public theory
API (both sides of the claim, and the violation beyond the ledger's tolerance), then fed through the
registry (``verify.registry.evaluate``) so that a verdict that changes is noticed.
"""


import numpy as np
import pytest

from aotmem.verify.ledger.registry import evaluate
from topic import claims_of, example_test


CLAIMS = claims_of("capacity")



def test_the_topic_registers_its_claims():
    ids = {c.id for c in CLAIMS}
    assert {"paper.cor1", "paper.cor2", "paper.table1"} <= ids, ids


test_every_example_evaluates = example_test(CLAIMS)


# ---- paper.cor2 with the explicit construction (regressions)
def test_cor2_construction_misses_the_accuracy_bound():
    """Old design: N = 3, S = 2, d = 2, d_h = 1, H = 1: T* memorises K = 3 of 9 and guesses none of the rest.

    Found with the constructor's old primed design, ``embedding="orthogonal"`` (reproduced to ~1e-12); its
    default is now ``"balanced"``, under which the ledger no longer misses on this recipe (the ledger's current
    miss is pinned by :func:`test_cor2_construction_misses_with_the_balanced_design`).
    """
    from aotmem.theory.construct import construct
    from aotmem.theory.generators import association_task

    task = association_task(3, 2, seed=0)
    g = task.argmax_map()
    ang = 2 * np.pi * np.arange(3) / 3
    W = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    K, T0, N = 3, 9, 3
    c = construct(task, (W, 20.0 * W[g]), 2, 1, 1.0 - (K - 0.5) / T0, variant="paper", qk="full", seed=0,
                  embedding="orthogonal")
    assert (c.report.T_eps, c.report.H) == (3, 1)
    acc = float(np.mean(np.argmax(c.model.logits(task.seqs), axis=1) == g))
    bound = 1 / N + (1 - 1 / N) * K / T0
    assert acc < bound - 0.1
    # the ledger (balanced design) on the old recipe: T* now reaches the bound there
    ev = evaluate("paper.cor2[construction=T*]",
                  {"N": 3, "S": 2, "d": 2, "d_h": 1, "H": 1, "qk": "full", "seed": 0, "gseed": 0})
    assert not ev.violated and ev.lhs >= ev.rhs


def test_cor2_construction_misses_with_the_balanced_design():
    """The current ledger's miss (balanced design): N = 4, S = 2, d = 4, d_h = 1, H = 2: accuracy 6/16 < 17/32."""
    rec = {"N": 4, "S": 2, "d": 4, "d_h": 1, "H": 2, "qk": "rank1", "seed": 103, "gseed": 8854}
    ev = evaluate("paper.cor2[construction=T*]", rec)
    assert ev.violated and not ev.certified  # a witness miss (an existence claim), not a refutation
    assert (ev.detail["K"], ev.detail["T_0"]) == (6, 16)
    assert ev.lhs == pytest.approx(6 / 16, abs=1e-12) and ev.rhs == pytest.approx(1 / 4 + 3 / 4 * 6 / 16, abs=1e-12)


# ---- the module's helpers
def test_memorise_builds_T0_associations_recalled_exactly():
    """paper.cor1: T* with H heads of d_h memorises T_0 = H d_h + d associations (accuracy 1)."""
    from aotmem.theory.capacity import capacity_this_paper
    from aotmem.verify.claims.capacity import memorise

    rec = {"N": 4, "S": 2, "d": 2, "d_h": 1, "H": 2, "qk": "full", "seed": 0}
    task, c = memorise(rec)
    T0 = capacity_this_paper(2, 1, 2)
    assert T0 == 4 and task.T == 16 and int((task.prior > 0).sum()) == T0 and c.report.H == 2
    kept = task.prior > 0
    assert (np.argmax(c.model.logits(task.seqs), axis=1)[kept] == task.argmax_map()[kept]).all()


def test_capacity_sweep_measures_H_d_h_plus_d():
    from aotmem.verify.claims.capacity import capacity_sweep

    H, measured, formula, old = capacity_sweep(Hs=(1, 2))
    assert H.tolist() == [1, 2] and measured.tolist() == formula.tolist() == [4, 6] and old.tolist() == [2, 3]
