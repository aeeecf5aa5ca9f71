"""The seed's experiments (verify/outputs/experiments.py) at their tiny size (``aotmem report``: tests/test_cmd_report.py)."""

import json

import numpy as np
import pytest

from aotmem.theory.assoc import assoc_memory_recall
from aotmem.theory.spectra import singular_values
from aotmem.theory.assoc import recall_curve
from aotmem.verify.outputs import figures
from aotmem.verify.outputs.experiments import (
    SIZES,
    assoc_numbers,
    assoc_recall_experiment,
    assoc_sweep,
    capacity_experiment,
    capacity_numbers,
    capacity_sweep,
    cor2_measurements,
    encoder_numbers,
    encoder_sweep,
    entropy_sweep,
    optimal_encoder_experiment,
    recall_curves,
    sigma_sweep,
    structured_task,
    summary_lines,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as fh:
        return fh.read(8) == PNG_MAGIC


@pytest.fixture(scope="module")
def assoc(tmp_path_factory):
    return assoc_recall_experiment(tmp_path_factory.mktemp("assoc"), size="tiny", seed=0)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return optimal_encoder_experiment(tmp_path_factory.mktemp("encoder"), size="tiny", seed=0)


# --- seed.assoc-memory ---------------------------------------------------------


def test_assoc_writes_a_png_and_json_able_numbers(assoc):
    assert _is_png(assoc["figure"])
    json.dumps(assoc)


def test_assoc_recall_curve_is_a_measured_decreasing_curve(assoc):
    cfg = SIZES["tiny"]["assoc"]
    for d in cfg["ds"]:
        r = np.array(assoc["recall"][str(d)])
        assert r.shape == (len(cfg["ratios"]),)
        assert np.all((0 <= r) & (r <= 1))
        assert r[0] > 0.9 and r[-1] < 0.1  # N/d = 1/4 vs N/d = 16
        assert np.all(np.diff(r) <= 0.02)


def test_assoc_points_are_reproducible_from_theory_assoc(assoc):
    d, k = 16, 1  # second ratio: N = d
    N = int(round(SIZES["tiny"]["assoc"]["ratios"][k] * d))
    trials = max(SIZES["tiny"]["assoc"]["trials"], -(-512 // N))
    assert assoc["recall"][str(d)][k] == assoc_memory_recall(N, d, seed=[0, d, N], trials=trials).mean


def test_assoc_most_recalled_is_the_largest_recall_times_N(assoc):
    cfg = SIZES["tiny"]["assoc"]
    for d in cfg["ds"]:
        counts = np.array(assoc["recall"][str(d)]) * np.array([round(r * d) for r in cfg["ratios"]])
        assert assoc["max_recalled"][str(d)] == pytest.approx(counts.max(), rel=1e-12)


def test_assoc_capacities_are_ordered_and_grow_with_d(assoc):
    ds = SIZES["tiny"]["assoc"]["cap_ds"]
    for d in ds:
        assert 1 <= assoc["capacity90"][str(d)] <= assoc["capacity50"][str(d)]
    assert assoc["capacity50"][str(ds[-1])] > assoc["capacity50"][str(ds[0])]


# --- seed.no-quantity-limit ----------------------------------------------------


def test_structured_task_has_centred_rank_K_minus_1():
    task, grp, cls = structured_task(6, 2, 3)
    s = singular_values(task.prior, task.cond, "uniform")
    assert np.sum(s > 1e-10 * s[0]) == 2
    assert np.array_equal(np.bincount(grp), [2, 2, 2])
    assert np.array_equal(np.bincount(cls), [12, 12, 12])


@pytest.mark.parametrize("kw, match", [({"K": 0}, "`K`"), ({"K": 7}, "`K`"), ({"beta": -1.0}, "`beta`"),
                                       ({"noise": float("nan")}, "`noise`")])
def test_structured_task_rejects_bad_input(kw, match):
    args = {"N": 6, "S": 1, "K": 3} | kw
    with pytest.raises(ValueError, match=match):
        structured_task(**args)


def test_encoder_divergence_does_not_depend_on_T_and_vanishes_at_K_minus_1(encoder):
    cfg = SIZES["tiny"]["encoder"]
    K, ds = cfg["K"], np.array(cfg["ds"])
    curves = np.array(list(encoder["divergence"][str(K)].values()))  # (len(Ss), len(ds))
    assert curves.shape == (len(cfg["Ss"]), len(ds))
    np.testing.assert_allclose(curves, curves[:1].repeat(len(cfg["Ss"]), axis=0), atol=1e-8)
    assert np.all(curves[:, ds >= K - 1] <= 1e-10)
    assert np.all(curves[:, ds < K - 1] > 1e-2)
    (richer,) = encoder["divergence"][str(cfg["K2"])].values()
    assert np.all(np.array(richer)[ds < cfg["K2"] - 1] > 1e-2)  # more classes need a larger d


def test_encoder_grams_are_exact_blocks_at_K_minus_1(encoder):
    K = SIZES["tiny"]["encoder"]["K"]
    c = encoder["block_cosines"][str(K - 1)]
    for within, across in (c["W"], c["E"]):
        assert within == pytest.approx(1.0, abs=1e-8)
        assert across == pytest.approx(-1.0 / (K - 1), abs=1e-6)  # the regular simplex
    assert _is_png(encoder["figure"])


# --- paper.table1 / paper.cor2 --------------------------------------------------------


@pytest.fixture(scope="module")
def capacity(tmp_path_factory):
    return capacity_experiment(tmp_path_factory.mktemp("capacity"), size="tiny", seed=0)


def test_capacity_formulas_of_table1(capacity):
    cfg = SIZES["tiny"]["capacity"]
    Hs, d = np.array(cfg["Hs"]), cfg["d"]
    for dh in capacity["this_paper"]:
        ours, theirs = np.array(capacity["this_paper"][dh]), np.array(capacity["mahdavi"][dh])
        np.testing.assert_array_equal(ours, Hs * int(dh) + d)
        np.testing.assert_array_equal(theirs, Hs * (int(dh) - 1) + 1)
        np.testing.assert_array_equal(ours - theirs, Hs + d - 1)  # this paper always memorises H + d - 1 more
    assert _is_png(capacity["figure"])


def test_cor2_bound_rises_from_guessing_to_at_most_one(capacity):
    cfg = SIZES["tiny"]["capacity"]
    b = np.array(capacity["cor2_bound"])
    K = np.array(cfg["Hs"]) * cfg["d_h"] + cfg["d"]
    np.testing.assert_allclose(b, 1 / cfg["N"] + (1 - 1 / cfg["N"]) * K / cfg["T_0"], rtol=1e-15)
    assert np.all(np.diff(b) > 0) and b[-1] <= 1


def test_measured_cor2_points_are_the_ledgers_own_evaluations(capacity):
    from aotmem.verify.ledger.registry import evaluate

    m = capacity["measured"]
    assert m["H"], "no construction succeeded"
    H = m["H"][-1]
    vals = []
    for g in range(m["tasks"]):
        r = {"N": m["N"], "S": m["S"], "d": m["d"], "d_h": m["d_h"], "H": H, "qk": "full", "seed": 0, "gseed": g}
        if f"gseed={g}" not in " ".join(m["construction_failed"].get(str(H), [])):
            vals.append(evaluate("paper.cor2[construction=T*]", r).lhs)
    assert m["accuracy"][-1] == pytest.approx(np.mean(vals), abs=1e-15)
    assert all(0 <= a <= 1 for a in m["accuracy"])
    assert m["mean_below_bound"] == [h for h, a, b in zip(m["H"], m["accuracy"], m["bound"]) if a < b]


def test_capacity_is_a_sweep_a_figure_and_numbers(capacity, tmp_path):
    """capacity_experiment = capacity_sweep (named results) + figures.capacity + capacity_numbers."""
    data = capacity_sweep(size="tiny", seed=0)
    cfg = SIZES["tiny"]["capacity"]
    assert isinstance(data, figures.CapacityVsH) and data.memorised is None
    assert isinstance(data.cor2, figures.Cor2Bound) and (data.cor2.N, data.cor2.T_0) == (cfg["N"], cfg["T_0"])
    assert isinstance(data.measured, figures.Cor2Measured) and data.measured.H_max == cfg["measured"]["H_max"]
    numbers = capacity_numbers(data)
    assert numbers == {k: v for k, v in capacity.items() if k not in ("figure", "caption")}  # same seed, same numbers
    assert capacity["caption"] == figures.capacity(tmp_path / "c.png", data)


def test_cor2_measurements_alone_match_the_experiment(capacity):
    m = cor2_measurements(SIZES["tiny"]["capacity"]["measured"], seed=0)
    assert m.H == capacity["measured"]["H"] and m.accuracy.tolist() == capacity["measured"]["accuracy"]
    assert m.mean_below_bound == capacity["measured"]["mean_below_bound"]


def test_assoc_and_encoder_numbers_are_their_sweeps(assoc, encoder):
    a = assoc_sweep(size="tiny", seed=0)
    assert assoc_numbers(a) == {k: v for k, v in assoc.items() if k not in ("figure", "caption")}
    assert assoc["caption"].startswith("recall of the outer-product memory against N/d")
    s = encoder_sweep(size="tiny", seed=0)
    K = SIZES["tiny"]["encoder"]["K"]
    assert [g.d for g in s.blocks.grams] == [K - 1, K - 2]
    assert all(g.W.shape == (s.blocks.N, s.blocks.N) for g in s.blocks.grams)
    n = encoder_numbers(s)
    np.testing.assert_allclose(np.array(list(n["divergence"][str(K)].values())),
                               np.array(list(encoder["divergence"][str(K)].values())), atol=1e-10)
    assert n["K"] == encoder["K"] and n["ds"] == encoder["ds"] and n["N"] == encoder["N"]


# --- the sweeps behind the ledger's figures (aotmem verify --report) ---------------------------------


def test_sigma_sweep_bounds_are_above_the_divergences_they_bound():
    s = sigma_sweep(sigmas=(0.1, 1.0))
    assert isinstance(s, figures.BoundsVsSigma) and s.sigma.tolist() == [0.1, 1.0]
    ls, wls = s.divergence["dKL f_ls"], s.divergence["dKL f_wls"]
    assert np.all(ls > 0) and np.all(wls > 0) and np.all(np.diff(ls) > 0)  # farther from rank d, larger divergence
    assert np.all(s.bounds["seed.ls-bound"] >= ls) and np.all(s.bounds["draft.theorem-ls"] >= ls)
    assert np.all(s.bounds["seed.wls-bound"] >= wls) and np.all(s.bounds["draft.theorem-wls"] >= wls)


def test_entropy_sweep_bounds_are_above_the_lookup_encoders_divergence():
    s = entropy_sweep(fractions=(0.2, 0.8))
    assert isinstance(s, figures.LookupVsEntropy) and 0 < s.max_dev <= s.C
    assert np.all(np.diff(s.entropy) > 0) and np.all(s.entropy <= np.log(s.N) + 1e-12)
    div = s.divergence["dKL f (D.6)"]
    assert np.all(div >= 0)
    for name in ("draft.lookup-theorem", "draft.lookup-theorem+factor(1+2C)", "paper.theorem2 simplified"):
        assert np.all(s.bounds[name] >= div), name


def test_recall_curves_are_theory_assocs_recall_curve():
    r = recall_curves(ds=(8,), ratios=(0.25, 16), trials=1)
    assert isinstance(r, figures.AssocRecall) and r.capacity is None and r.ds == [8]
    np.testing.assert_array_equal(r.recall[8], recall_curve(8, [0.25, 16], seed=0, trials=1))


# --- aotmem report ---------------------------------------------------------------


def test_summary_lines_name_the_claim(assoc, encoder, capacity):
    assert all(s.startswith("seed.assoc-memory") for s in summary_lines("assoc", assoc))
    assert all(s.startswith("seed.no-quantity-limit") for s in summary_lines("encoder", encoder))
    assert all(s.startswith(("paper.table1", "paper.cor2")) for s in summary_lines("capacity", capacity))
    with pytest.raises(ValueError, match="`name`"):
        summary_lines("nope", assoc)


@pytest.mark.parametrize("fn", [assoc_recall_experiment, optimal_encoder_experiment, capacity_experiment])
@pytest.mark.parametrize("kw, match", [({"size": "huge"}, "`size`"), ({"seed": -1}, "`seed`"), ({"seed": 1.5}, "`seed`")])
def test_experiments_reject_bad_input_before_computing(fn, kw, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        fn(tmp_path, **({"size": "tiny"} | kw))
    assert not any(tmp_path.iterdir())  # nothing written


def test_run_all_rejects_a_bad_size(tmp_path):
    from aotmem.verify.outputs.experiments import run_all

    with pytest.raises(ValueError, match="`size`"):
        run_all(tmp_path, size="huge")
