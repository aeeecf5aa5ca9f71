"""verify/outputs/figures.py: every figure function writes a PNG and returns its caption; the one style; the lazy set-up."""

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

from aotmem.verify.outputs import figures as F

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png(path):
    data = path.read_bytes()
    return data[:8] == PNG_MAGIC and len(data) > 1000


def _canvas():
    mpl = F.setup()
    fig = mpl.Figure()
    mpl.FigureCanvasAgg(fig)
    return fig, fig.subplots()


# --- small data for each figure (drawing only: no sweep runs here) ----------------------------------

H = np.array([1, 2, 4, 8])
ASSOC = F.AssocRecall(ratios=np.array([0.25, 1.0, 4.0, 16.0]),
                      recall={8: np.array([0.95, 0.6, 0.2, 0.03]), 16: np.array([1.0, 0.75, 0.25, 0.04])}, trials=2)
ASSOC_CAP = F.AssocCapacity(cap90={8: 2, 16: 8}, cap50={8: 11, 16: 31}, max_recalled={8: 5.6, 16: 13.4}, slope=1.49)
MEASURED = F.Cor2Measured(N=3, S=2, d=2, d_h=1, tasks=3, H_max=3, H=[1, 2, 3], accuracy=np.array([0.7, 0.6, 0.9]),
                          std=np.array([0.05, 0.05, 0.0]), bound=np.array([0.55, 0.63, 0.7]),
                          failed={2: ["gseed=1: ill-conditioned"]})
FIGURES = {
    "bounds_vs_sigma": (F.bounds_vs_sigma, F.BoundsVsSigma(
        N=6, S=2, d=2, sigma=np.array([0.1, 1.0, 2.0]),
        divergence={"dKL f_ls": np.array([1e-5, 1e-3, 1e-2])},
        bounds={"seed.ls-bound": np.array([1e-3, 1.0, 10.0])})),
    "lookup_vs_entropy": (F.lookup_vs_entropy, F.LookupVsEntropy(
        N=5, S=1, d=800, C=0.268, max_dev=0.0825, entropy=np.array([0.1, 0.8, 1.5]),
        divergence={"dKL f (D.6)": np.array([0.05, 0.25, 0.05])},
        bounds={"seed.lookup-bound": np.array([-0.1, 0.5, 0.1])})),
    "theorem1_vs_eps": (F.theorem1_vs_eps, F.Theorem1VsEps(
        eps=np.array([0.02, 0.1, 0.6]), kl_model=np.array([0.1, 0.5, 0.5]), kl_target=np.full(3, 0.08),
        rhs=np.array([0.4, 40.0, 12.0]), rhs_factor2=np.array([0.8, 80.0, 24.0]))),
    "assoc_recall (ledger)": (F.assoc_recall, ASSOC),
    "assoc_recall (experiment)": (F.assoc_recall, F.AssocRecall(ASSOC.ratios, ASSOC.recall, 2, ASSOC_CAP)),
    "capacity (ledger)": (F.capacity, F.CapacityVsH(Hs=H, d=2, this_paper={2: 2 * H + 2}, mahdavi={2: H + 1},
                                                     memorised=2 * H + 2)),
    "capacity (experiment)": (F.capacity, F.CapacityVsH(
        Hs=H, d=8, this_paper={8: 8 * H + 8, 2: 2 * H + 8}, mahdavi={8: 7 * H + 1, 2: H + 1},
        cor2=F.Cor2Bound(N=16, T_0=256, d_h=8, bound=1 / 16 + 15 / 16 * (8 * H + 8) / 256), measured=MEASURED)),
    "optimal_encoder_blocks": (F.optimal_encoder_blocks, F.EncoderBlocks(
        N=6, ds=[1, 2, 3], divergence={3: {6: [0.3, 0.0, 0.0], 36: [0.3, 1e-16, 0.0]}, 6: {36: [0.6, 0.26, 0.07]}},
        grams=[F.GramPair(d=2, K=3, T=36, divergence=0.0, W=np.eye(6), E=-np.eye(36))])),
}


@pytest.mark.parametrize("name", FIGURES)
def test_each_figure_writes_a_png_and_returns_its_caption(name, tmp_path):
    fn, data = FIGURES[name]
    path = tmp_path / "sub" / "f.png"  # the folder is created
    caption = fn(path, data)
    assert isinstance(caption, str) and len(caption) > 20
    assert _png(path)


def test_curve_plot_writes_a_png_and_returns_its_caption(tmp_path):
    path = tmp_path / "curve.png"
    series = [F.Series("best", [0.5, 0.1, 0.0]), F.Series("f_ls", [0.6, None, 0.2]),
              F.Series("bound", [2.0, float("inf"), 1e9], "bound"), F.Series("guide", [1.0, 1.0, 1.0], "reference")]
    caption = F.curve_plot(path, [1, 2, 3], series, xlabel="d", ylabel="divergence", caption="a curve",
                           rules=[F.Rule(0.3, "zero encoder")], top=1e6, legend_outside=True, integer_x=True)
    assert caption == "a curve"
    assert _png(path)


@pytest.mark.parametrize("data, claim", [
    (ASSOC, True),
    (F.AssocRecall(ASSOC.ratios, {8: np.array([1.0, 0.8, 0.2, 0.0]), 16: np.array([1.0, 0.7, 0.2, 0.0])}, 2), False),
])
def test_assoc_caption_says_what_the_recall_shows(data, claim, tmp_path):
    caption = F.assoc_recall(tmp_path / "a.png", data)
    assert ("capacity grows faster than d" in caption) is claim
    assert caption.startswith("recall of the outer-product memory against N/d for d = 8, 16")


def test_capacity_caption_counts_where_the_measured_mean_is_below_the_bound(tmp_path):
    fn, data = FIGURES["capacity (experiment)"]
    assert MEASURED.mean_below_bound == [2] and MEASURED.refused == 1 and MEASURED.T_0 == 9
    assert "mean below the bound at 1 of 3 H" in fn(tmp_path / "c.png", data)


# --- the style ---------------------------------------------------------------------------------


@pytest.mark.parametrize("x, text", [(0.0603010879941904, "0.0603"), (4.440892098500626e-16, "4.44e-16"), (1.0, "1"),
                                     (0.0, "0"), (-0.0, "0"), (17, "17"), (1213.0, "1213"), (2265.7, "2266"),
                                     (0.125, "0.125"), (1e-12, "1e-12"), (3e7, "3e+07"), (None, "-"),
                                     (float("inf"), "inf"), (float("-inf"), "-inf"), (float("nan"), "nan"),
                                     (np.float64(0.2647), "0.265"), (np.int64(4096), "4096")])
def test_fmt_is_the_one_number_format(x, text):
    assert F.fmt(x) == text


def test_fmt_matches_the_old_summary_format_below_1000():
    rng = np.random.default_rng(0)
    for x in np.concatenate([rng.uniform(0, 1, 200), 10.0 ** rng.uniform(-18, 2.9, 200)]):
        assert F.fmt(x) == f"{x:.3g}" or float(F.fmt(x)) == float(f"{x:.3g}")


@pytest.mark.parametrize("kind, values, expected", [
    ("size", [1, 2, 4, 8], ("linear", None)),
    ("size", [1, 16], ("log", 2)),
    ("size", [0.125, 16], ("log", 2)),
    ("size", [0, 16], ("linear", None)),  # a zero cannot go on a log axis
    ("divergence", [1e-6, 1e3], ("log", 10)),
    ("divergence", [0.03, 1.1], ("linear", None)),
    ("divergence", [0.0, 0.03, 1.1], ("log", 10)),  # zeros: drawn on the bottom edge of a log axis
    ("divergence", [-0.5, 1e3], ("linear", None)),  # a negative bound: linear
    ("divergence", [np.nan, np.inf, 1e-3, 1.0], ("log", 10)),
    ("fraction", [0.001, 1.0], ("linear", None)),
    ("linear", [1e-9, 1e9], ("linear", None)),
])
def test_axis_scale_conventions(kind, values, expected):
    assert F.axis_scale(kind, values) == expected


def test_axis_scale_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="`kind`"):
        F.axis_scale("loglog", [1, 2])


def test_series_kinds_fix_the_line_and_colours_follow_the_palette():
    fig, ax = _canvas()
    F._draw_curves(ax, [1, 2, 3], [F.Series("m", [1, 2, 3]), F.Series("b", [2, 3, 4], "bound"),
                                   F.Series("r", [1, 1, 1], "reference")], ykind="linear")
    m, b, r = ax.get_lines()
    assert (m.get_linestyle(), m.get_marker(), m.get_color()) == ("-", "o", F.PALETTE[0])
    assert (b.get_linestyle(), b.get_marker(), b.get_color()) == ("--", "None", F.PALETTE[1])
    assert (r.get_linestyle(), r.get_color()) == (":", F.GREY)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["m", "b", "r"]


def test_values_under_the_floor_are_drawn_on_the_bottom_edge_and_above_top_on_the_top_edge():
    fig, ax = _canvas()
    F._draw_curves(ax, [1, 2, 3, 4], [F.Series("s", [0.5, 1e-3, 0.0, np.inf])], ykind="divergence", floor=1e-2,
                   top=10.0)
    line, low, high, low_key, high_key = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [0.5, 1e-2, 1e-2, 10.0])  # clipped, on the line
    assert low.get_marker() == "v" and list(low.get_xdata()) == [2, 3] and list(low.get_ydata()) == [1e-2, 1e-2]
    assert high.get_marker() == "^" and list(high.get_xdata()) == [4]
    assert ax.get_yscale() == "log" and ax.get_ylim() == pytest.approx((5e-3, 30.0))
    # the triangles are explained in the legend
    assert (low_key.get_marker(), high_key.get_marker()) == ("v", "^") and len(low_key.get_xdata()) == 0
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("▼ below 0.01") and "bottom edge" in t for t in texts)
    assert any(t.startswith("▲ above 10") and "top edge" in t for t in texts)


def test_a_series_with_the_same_values_as_another_stays_visible():
    fig, ax = _canvas()
    F._draw_curves(ax, [1, 2, 3], [F.Series("a", [1.0, 2.0, 3.0]), F.Series("b", [1.0, 2.0, 3.0]),
                                   F.Series("c", [1.0, 2.5, 3.0])], ykind="linear")
    a, b, c = ax.get_lines()
    assert b.get_linestyle() != a.get_linestyle() and b.get_marker() not in ("None", a.get_marker())
    assert b.get_zorder() > a.get_zorder() and b.get_markerfacecolor() == "none"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b (= a: same values)", "c"]
    assert c.get_linestyle() == a.get_linestyle()  # different values: the usual style


def test_bounds_are_drawn_above_the_measured_markers():
    fig, ax = _canvas()
    F._draw_curves(ax, [1, 2], [F.Series("m", [0.5, 0.6]), F.Series("b", [0.55, 0.6], "bound")], ykind="fraction")
    m, b = ax.get_lines()
    assert b.get_zorder() > m.get_zorder()


def test_series_length_must_match_x():
    fig, ax = _canvas()
    with pytest.raises(ValueError, match="2 values for 3 x"):
        F._draw_curves(ax, [1, 2, 3], [F.Series("s", [1, 2])])
    with pytest.raises(ValueError, match="`kind`"):
        F._draw_curves(ax, [1, 2], [F.Series("s", [1, 2], "guess")])


def test_tick_labels_use_fmt(tmp_path):
    fig, ax = _canvas()
    F._draw_curves(ax, [0.125, 1, 16], [F.Series("s", [1e-6, 1e-3, 1.0])], xkind="size", ykind="divergence")
    assert ax.get_xscale() == "log" and ax.xaxis.get_scale() == "log"
    fx, fy = ax.xaxis.get_major_formatter(), ax.yaxis.get_major_formatter()
    assert [fx(v) for v in (0.125, 1.0, 16.0)] == ["0.125", "1", "16"]
    assert [fy(v) for v in (1e-6, 1e-3, 1.0)] == ["1e-06", "0.001", "1"]


def test_the_style_stays_inside_each_figure(tmp_path):
    before = dict(matplotlib.rcParams)
    F.curve_plot(tmp_path / "c.png", [1, 2], [F.Series("s", [1.0, 2.0])], xlabel="x", ylabel="y", caption="c",
                 ykind="linear")
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_a_failing_figure_writes_nothing(tmp_path):
    with pytest.raises(ValueError):
        F.curve_plot(tmp_path / "c.png", [1, 2], [F.Series("s", [1.0])], xlabel="x", ylabel="y", caption="c")
    assert not (tmp_path / "c.png").exists()


def test_matplotlib_is_imported_by_the_first_figure_not_by_the_cli_or_this_module(tmp_path):
    code = ("import sys; import aotmem.verify.cli as cli; cli.build_parser(); "
            "import aotmem.verify.outputs.figures as F, aotmem.verify.outputs.experiments, aotmem.verify.cli.cmd_report; "
            "print('matplotlib' in sys.modules); "
            f"F.curve_plot({str(tmp_path / 'c.png')!r}, [1, 2], [F.Series('s', [1.0, 2.0])], xlabel='x', ylabel='y', "
            "caption='c'); print('matplotlib' in sys.modules, 'matplotlib.pyplot' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True", "False"]  # drawn on the Agg canvas, pyplot never imported
    assert _png(tmp_path / "c.png")


# --- aotmem verify --report: the ledger's figures are drawn here, from their sweeps -----------------
