"""Every figure of aotmem, drawn one way: the matplotlib set-up, the style and the figure functions.

Each figure function is pure: it takes the numbers to draw (one of the
dataclasses below, computed elsewhere: the sweeps live in
:mod:`aotmem.verify.outputs.experiments` and :mod:`aotmem.verify.claims`), writes
one PNG and returns its caption. Nothing here computes a quantity of the
theory.

- :func:`bounds_vs_sigma` (:class:`BoundsVsSigma`), :func:`lookup_vs_entropy`
  (:class:`LookupVsEntropy`), :func:`theorem1_vs_eps` (:class:`Theorem1VsEps`):
  the ledger's figures (``aotmem verify --report``);
- :func:`assoc_recall` (:class:`AssocRecall`): ``assoc_recall.png`` for both
  pipelines; the ledger's has the recall curves only, ``aotmem report``'s
  adds the measured capacities (:class:`AssocCapacity`) in a second panel;
- :func:`capacity` (:class:`CapacityVsH`): the Table 1 capacities for both
  pipelines; the ledger's ``capacity_vs_table1.png`` adds what a constructed
  AoT memorises, ``aotmem report``'s ``capacity.png`` adds ``paper.cor2``'s
  bound (:class:`Cor2Bound`) and its measured accuracy (:class:`Cor2Measured`);
- :func:`optimal_encoder_blocks` (:class:`EncoderBlocks`, :class:`GramPair`):
  ``aotmem report``'s ``optimal_encoder_blocks.png``;
- :func:`curve_plot` (:class:`Series`, :class:`Rule`): any simple plot of
  curves against one ``x``, for other modules (``aotmem curve``'s plot).

The style, one for the package:

- size: :data:`PANEL` inches per panel (:data:`SINGLE` for a one-panel
  figure), :data:`DPI` dots per inch; fonts and line widths in :data:`RC`,
  applied inside each figure only (``matplotlib.rc_context``: the
  process-wide matplotlib settings are left alone);
- colours: matplotlib's ``tab10`` (:data:`PALETTE`) in order;
- a series' *kind* fixes its line (:data:`KINDS`): ``measured`` (a
  computed quantity: solid, markers), ``bound`` (a bound or a formula:
  dashed, no markers), ``reference`` (a guide such as ``N = d``: thin grey
  dotted);
- an axis' *kind* fixes its scale (:func:`axis_scale`): ``size`` (counts,
  dimensions, ratios that double: base-2 log when they span at least
  :data:`LOG2_SPAN`; whole ticks when linear), ``divergence`` (nats,
  bounds: base-10 log when none is negative and the positive ones span at
  least :data:`LOG10_SPAN` or some are 0; values under the floor are drawn
  on the bottom edge, marked ``v``, values over a cap on the top edge,
  marked ``^``), ``fraction`` (recall, accuracy: linear, 0 to 1),
  ``linear``;
- numbers, on tick labels, titles, legends and captions: :func:`fmt`.

Matplotlib is imported only when a figure is drawn (:func:`setup`), not
when this module is, so that the command line starts fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Mapping, Sequence

import numpy as np

__all__ = [
    "DPI", "PANEL", "SINGLE", "PALETTE", "GREY", "DIVERGING", "KINDS", "RC", "LOG2_SPAN", "LOG10_SPAN",
    "fmt", "setup", "axis_scale",
    "Series", "Rule", "curve_plot",
    "BoundsVsSigma", "bounds_vs_sigma",
    "LookupVsEntropy", "lookup_vs_entropy",
    "Theorem1VsEps", "theorem1_vs_eps",
    "AssocCapacity", "AssocRecall", "assoc_recall",
    "Cor2Bound", "Cor2Measured", "CapacityVsH", "capacity",
    "GramPair", "EncoderBlocks", "optimal_encoder_blocks",
]

# --- the style --------------------------------------------------------------------------------

DPI = 110
SINGLE = (6.4, 4.2)  # a one-panel figure, inches
PANEL = (5.2, 4.3)  # each panel of a multi-panel figure, inches
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # tab10
GREY = "#7f7f7f"
DIVERGING = "RdBu_r"  # heat maps of signed matrices, symmetric about 0

KINDS = {
    "measured": {"ls": "-", "lw": 1.8, "marker": "o", "ms": 3.5},
    "bound": {"ls": "--", "lw": 1.2, "marker": None, "ms": 0.0},
    "reference": {"ls": ":", "lw": 0.9, "marker": None, "ms": 0.0, "color": GREY},
}

RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.framealpha": 0.85,
    "savefig.dpi": DPI,
    "figure.dpi": DPI,
}

LOG2_SPAN = 16.0  # a `size` axis is base-2 log when max/min >= this
LOG10_SPAN = 100.0  # a `divergence` axis is base-10 log when all values are > 0 and max/min >= this


def fmt(x, digits: int = 3) -> str:
    """The one number format of the figures (ticks, titles, legends, captions) and of the report's summaries.

    ``digits`` significant digits; whole numbers below a million in full;
    ``None`` as ``-``.

    >>> [fmt(v) for v in (0.0603010879, 4.44e-16, 1.0, 1213.0, 2265.7, 0.125, 1e-12, 3e7, None, float("inf"))]
    ['0.0603', '4.44e-16', '1', '1213', '2266', '0.125', '1e-12', '3e+07', '-', 'inf']
    """
    if x is None:
        return "-"
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if abs(x) < 1e6 and (x == int(x) or abs(x) >= 10 ** digits):
        return str(int(round(x)))
    return f"{x:.{digits}g}"


# Why matplotlib is imported lazily: measured on the shared 2-core machine (6 fresh interpreters each,
# after the CLI's own imports, `aotmem.verify.cli.build_parser()`), importing matplotlib's Figure, the
# Agg canvas and the tickers costs 0.38-0.50 s of CPU (0.9-1.3 s of wall time under load); importing
# pyplot instead costs the same (0.39-0.55 s CPU). The CLI's whole start-up is 0.57-0.68 s of CPU, so a
# module-level import would add about 70% to every `aotmem` command, figures or not. This module itself
# (numpy and dataclasses only) adds about 0.03 s.
_MPL: SimpleNamespace | None = None


def setup() -> SimpleNamespace:
    """The matplotlib set-up, done once: its modules, with figures drawn on the Agg canvas (files only).

    Returns a namespace with ``Figure``, ``FigureCanvasAgg``, ``ticker`` and
    ``rc_context``. pyplot is never imported: figures are plain
    ``Figure`` objects on an Agg canvas, so no window, no global figure
    registry and no change to the process' matplotlib backend.
    """
    global _MPL
    if _MPL is None:  # lazy: matplotlib's import is ~0.3 s (measured), paid only by commands that draw
        import matplotlib
        import matplotlib.ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        _MPL = SimpleNamespace(Figure=Figure, FigureCanvasAgg=FigureCanvasAgg, ticker=matplotlib.ticker,
                               rc_context=matplotlib.rc_context)
    return _MPL


class _Canvas:
    """``with _Canvas(path, ncols, nrows) as (fig, axes):`` draw in the style; saved as PNG on exit."""

    def __init__(self, path, ncols: int = 1, nrows: int = 1, *, size=None, grid: bool = True):
        self.path, self.ncols, self.nrows, self.size, self.grid = Path(path), ncols, nrows, size, grid

    def __enter__(self):
        mpl = setup()
        self._rc = mpl.rc_context(RC)
        self._rc.__enter__()
        size = self.size or (SINGLE if self.ncols * self.nrows == 1 else
                             (PANEL[0] * self.ncols, PANEL[1] * self.nrows))
        self.fig = mpl.Figure(figsize=size)
        mpl.FigureCanvasAgg(self.fig)
        if not self.grid:  # the caller lays out its own axes (gridspec)
            return self.fig, None
        axes = self.fig.subplots(self.nrows, self.ncols, squeeze=False)
        return self.fig, (axes[0, 0] if axes.size == 1 else list(axes.flat))

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.fig.tight_layout()
                self.fig.savefig(self.path, dpi=DPI, format="png")
        finally:
            self._rc.__exit__(exc_type, exc, tb)
        return False


def _number_ticks(axis) -> None:
    """Tick labels in :func:`fmt` (the one number format); no labels on minor ticks."""
    t = setup().ticker
    axis.set_major_formatter(t.FuncFormatter(lambda v, _pos: fmt(v)))
    axis.set_minor_formatter(t.NullFormatter())


def axis_scale(kind: str, values) -> tuple[str, float | None]:
    """``("log", base)`` or ``("linear", None)`` for an axis of ``kind`` showing ``values`` (module docstring).

    >>> axis_scale("size", [1, 2, 4, 8]), axis_scale("size", [0.125, 16]), axis_scale("divergence", [1e-6, 1e3])
    (('linear', None), ('log', 2), ('log', 10))
    >>> axis_scale("divergence", [0.03, 1.1]), axis_scale("divergence", [0.0, 0.03, 1.1])
    (('linear', None), ('log', 10))
    >>> axis_scale("divergence", [-0.5, 1e3]), axis_scale("fraction", [0.01, 1])
    (('linear', None), ('linear', None))
    """
    if kind not in ("size", "divergence", "fraction", "linear"):
        raise ValueError(f"`kind` must be size, divergence, fraction or linear (got {kind!r})")
    v = np.asarray([x for x in np.ravel(np.asarray(values, dtype=float)) if np.isfinite(x)])
    if kind == "size" and v.size and v.min() > 0 and v.max() / v.min() >= LOG2_SPAN:
        return "log", 2
    if kind == "divergence":
        pos = v[v > 0]
        if pos.size and (v >= 0).all() and (pos.max() / pos.min() >= LOG10_SPAN or pos.size < v.size):
            return "log", 10
    return "linear", None


def _apply_scale(ax, which: str, kind: str, values) -> bool:
    """Set the scale of ``ax``'s ``which`` axis (``"x"``/``"y"``) by :func:`axis_scale`; ``True`` when log."""
    scale, base = axis_scale(kind, values)
    axis = ax.xaxis if which == "x" else ax.yaxis
    if scale == "log":
        (ax.set_xscale if which == "x" else ax.set_yscale)("log", base=base)
    if kind == "fraction":
        (ax.set_xlim if which == "x" else ax.set_ylim)(-0.02, 1.05)
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if kind == "size" and scale == "linear" and v.size and np.all(v == np.round(v)):  # counts: whole ticks
        axis.set_major_locator(setup().ticker.MaxNLocator(integer=True))
    _number_ticks(axis)
    return scale == "log"


# --- curves: the one drawing routine, and its public helper -------------------------------------


@dataclass(frozen=True)
class Series:
    """One curve: ``y`` against the plot's ``x`` (or its own ``x``), drawn by its ``kind`` (:data:`KINDS`).

    ``None``/NaN values are skipped; ``yerr`` draws error bars; ``color``,
    ``ls`` and ``marker`` override the kind's (colours otherwise follow
    :data:`PALETTE` in order).
    """

    label: str
    y: Sequence[float]
    kind: str = "measured"
    x: Sequence[float] | None = None
    yerr: Sequence[float] | None = None
    color: str | None = None
    ls: str | None = None
    marker: str | None = None


@dataclass(frozen=True)
class Rule:
    """A horizontal (``axis="y"``) or vertical (``axis="x"``) guide line at ``at``, with an optional label."""

    at: float
    label: str = ""
    axis: str = "y"
    color: str = GREY
    ls: str = ":"


def _floats(vals) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in vals], dtype=float)


def _draw_curves(ax, x, series: Sequence[Series], *, xkind: str = "linear", ykind: str = "divergence",
                 rules: Sequence[Rule] = (), floor: float | None = None, top: float | None = None,
                 legend: str | None = "best") -> None:
    """Draw ``series`` on ``ax`` in the style: scales by kind, zeros/tiny values at ``floor``, huge ones at ``top``."""
    if any(s.kind not in KINDS for s in series):
        raise ValueError(f"a Series' `kind` must be one of {sorted(KINDS)}")
    xs = [np.asarray(s.x if s.x is not None else x, dtype=float) for s in series]
    ys = [_floats(s.y) for s in series]
    for s, xv, yv in zip(series, xs, ys):
        if xv.shape != yv.shape:
            raise ValueError(f"series {s.label!r}: {yv.size} values for {xv.size} x")
    allx = np.concatenate(xs + [np.asarray([r.at for r in rules if r.axis == "x"], dtype=float)])
    ally = np.concatenate(ys + [np.asarray([r.at for r in rules if r.axis == "y"], dtype=float)])
    _apply_scale(ax, "x", xkind, allx)
    logy = _apply_scale(ax, "y", ykind, ally if top is None else ally[ally <= top])
    if logy and floor is None and ykind == "divergence":
        pos = ally[np.isfinite(ally) & (ally > 0)]
        floor = 10.0 ** math.floor(math.log10(pos.min())) / 10 if pos.size else None
    colours = iter(PALETTE * (1 + len(series) // len(PALETTE)))
    any_low = any_high = False
    drawn: list[tuple[str, np.ndarray, np.ndarray]] = []
    for s, xv, yv in zip(series, xs, ys):
        style = dict(KINDS[s.kind])
        color = s.color or style.pop("color", None) or next(colours)
        style.pop("color", None)
        ls, marker = s.ls or style["ls"], s.marker if s.marker is not None else style["marker"]
        label = s.label
        # a series with the same values as one drawn before would hide under it (or hide it): draw it
        # dash-dotted with open markers on top, and say so in its label
        twin = next((lab for lab, x0, y0 in drawn if x0.shape == xv.shape and np.array_equal(x0, xv)
                     and np.isfinite(yv).any() and np.allclose(y0, yv, rtol=1e-9, atol=0, equal_nan=True)), None)
        drawn.append((s.label, xv, yv))
        z = 3 if s.kind == "bound" else 2  # bounds on top of the measured markers they are compared with
        if twin is not None:
            ls, marker, z = (0, (3, 2, 1, 2)), ("s" if marker == "D" else "D"), 4
            label = f"{s.label} (= {twin}: same values)"
        low = np.zeros(yv.shape, dtype=bool) if floor is None else (yv < floor)
        high = np.zeros(yv.shape, dtype=bool) if top is None else (yv > top)  # inf included
        yv = np.where(low, floor if floor is not None else 0.0, np.where(high, top if top is not None else 0.0, yv))
        keep = np.isfinite(yv)  # clipped values stay on the line, at the edge, with their own marker
        if s.yerr is not None:
            ax.errorbar(xv[keep], yv[keep], yerr=_floats(s.yerr)[keep], fmt=marker or "o", ms=style["ms"] or 3.5,
                        capsize=2, color=color, ls="none", label=label, zorder=z)
        else:
            ms = (style["ms"] or 3.5) + (2 if twin is not None else 0)
            if ls == "none":  # markers only (points singled out): large, above the lines they mark
                ms, z = 7, 4
            ax.plot(xv[keep], yv[keep], ls=ls, lw=style["lw"], marker=marker, ms=ms if marker else 0, color=color,
                    label=label, zorder=z, **({"mfc": "none"} if twin is not None else {}))
        if low.any():  # at or below the floor (0 included): a marker on the bottom edge
            any_low = True
            ax.plot(xv[low], yv[low], ls="none", marker="v", ms=5, color=color, zorder=z)
        if high.any():  # above the top (inf included): a marker on the top edge
            any_high = True
            ax.plot(xv[high], yv[high], ls="none", marker="^", ms=5, color=color, zorder=z)
    for r in rules:
        (ax.axhline if r.axis == "y" else ax.axvline)(r.at, color=r.color, ls=r.ls, lw=0.9,
                                                     label=r.label or None)
    # the clipped values' markers, explained in the legend (their colour is their series')
    if any_low:
        ax.plot([], [], ls="none", marker="v", ms=5, color=GREY,
                label=f"▼ below {fmt(floor)} (0 up to rounding included), drawn on the bottom edge")
    if any_high:
        ax.plot([], [], ls="none", marker="^", ms=5, color=GREY,
                label=("▲ above " + fmt(top) if top is not None else "▲ off the axis") + " (inf included), drawn on "
                      "the top edge")
    if logy and any_low:
        ax.set_ylim(bottom=floor / 2)
    if top is not None:
        ax.set_ylim(top=top * (3 if logy else 1.05))
    if legend == "outside":
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    elif legend:
        ax.legend(loc=legend)


def curve_plot(path, x, series: Sequence[Series], *, xlabel: str, ylabel: str, caption: str, title: str = "",
               xkind: str = "linear", ykind: str = "divergence", rules: Sequence[Rule] = (),
               floor: float | None = None, top: float | None = None, legend_outside: bool = False,
               integer_x: bool = False, size=None) -> str:
    """A simple plot of curves against one ``x``, in the style; writes ``path`` (PNG) and returns ``caption``.

    ``series``: the curves (:class:`Series`; ``kind`` ``measured``,
    ``bound`` or ``reference``). ``xkind``/``ykind``: the axes' kinds
    (:func:`axis_scale`). ``rules``: guide lines (:class:`Rule`). On a log
    ``y``, values below ``floor`` (default: a decade under the smallest
    positive value) are drawn as ``v`` on the bottom edge, and values above
    ``top`` (``None``: no cap; ``inf`` included) as ``^`` on the top edge.
    ``legend_outside`` puts the legend right of the axes (many series);
    ``integer_x`` keeps the ``x`` ticks whole (``d``, ``H``).

    >>> import pathlib, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = pathlib.Path(tmp) / "c.png"
    ...     caption = curve_plot(out, [1, 2, 3], [Series("best", [0.5, 0.1, 0.0]),
    ...                                           Series("bound", [2.0, 1.0, 0.5], "bound")],
    ...                          xlabel="d", ylabel="divergence", caption="best divergence and a bound against d")
    ...     png = out.read_bytes()[:4] == b"\\x89PNG"
    >>> caption, png
    ('best divergence and a bound against d', True)
    """
    with _Canvas(path, size=size or (SINGLE if not legend_outside else (PANEL[0] * 2, PANEL[1]))) as (fig, ax):
        _draw_curves(ax, x, series, xkind=xkind, ykind=ykind, rules=rules, floor=floor, top=top,
                     legend="outside" if legend_outside else "best")
        if integer_x:
            ax.xaxis.set_major_locator(setup().ticker.MaxNLocator(integer=True))
            _number_ticks(ax.xaxis)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
    return caption


# --- the ledger's figures (aotmem verify --report) ---------------------------------------------


@dataclass(frozen=True)
class BoundsVsSigma:
    """Bounds and the divergences of the maps they bound, against ``sigma_{d+1}``, on an almost-rank task.

    ``divergence``: ``{label: values}`` of the maps (``dKL f_ls``, ...);
    ``bounds``: ``{claim id: values}``; ``readings``: the readings used.
    """

    N: int
    S: int
    d: int
    sigma: np.ndarray
    divergence: Mapping[str, np.ndarray]
    bounds: Mapping[str, np.ndarray]
    readings: str = "uniform, global"


def bounds_vs_sigma(path, data: BoundsVsSigma) -> str:
    """``bounds_vs_sigma.png``: the seed/draft ls and wls bounds (dashed) and the divergences they bound (solid)."""
    series = [Series(k, v) for k, v in data.divergence.items()] + [Series(k, v, "bound")
                                                                   for k, v in data.bounds.items()]
    return curve_plot(path, data.sigma, series, xlabel=r"$\sigma_{d+1}$ (uniform-centred $L$)",
                      ylabel="divergence / bound (nats)",
                      title=f"almost-rank task N={data.N} S={data.S} d={data.d}, uniform prior "
                            f"(readings: {data.readings})",
                      caption="bounds (dashed) against the divergence of the map each bounds (solid), "
                              "as sigma_{d+1} varies")


@dataclass(frozen=True)
class LookupVsEntropy:
    """Look-up bounds and the D.6 encoder's divergence against the entropy (``C``: the JL tolerance, ``max_dev``: achieved)."""

    N: int
    S: int
    d: int
    C: float
    max_dev: float
    entropy: np.ndarray
    divergence: Mapping[str, np.ndarray]
    bounds: Mapping[str, np.ndarray]


def lookup_vs_entropy(path, data: LookupVsEntropy) -> str:
    """``lookup_vs_entropy.png``: look-up bounds (dashed) against the D.6 encoder's divergence (solid)."""
    series = [Series(k, v) for k, v in data.divergence.items()] + [Series(k, v, "bound")
                                                                   for k, v in data.bounds.items()]
    return curve_plot(path, data.entropy, series, xlabel="Shannon entropy h (nats)",
                      ylabel="divergence / bound (nats)",
                      title=f"look-up task N={data.N}, d={data.d} (C={fmt(data.C)}, achieved {fmt(data.max_dev)})",
                      caption="look-up bounds (dashed) against the D.6 encoder's divergence (solid) "
                              "as the entropy varies")


@dataclass(frozen=True)
class Theorem1VsEps:
    """``dKL(pi, T*)``, ``dKL(pi, f*)`` and ``paper.theorem1``'s right-hand side (as written, with factor 2) per ``eps``."""

    eps: np.ndarray
    kl_model: np.ndarray
    kl_target: np.ndarray
    rhs: np.ndarray
    rhs_factor2: np.ndarray
    task: str = "a Zipf-prior Dirichlet task"


def theorem1_vs_eps(path, data: Theorem1VsEps) -> str:
    """``theorem1_vs_eps.png``: the constructed AoT's divergence against ``paper.theorem1``'s bound as ``eps`` varies."""
    series = [Series(r"$d_{KL}(\pi, T^*)$", data.kl_model),
              Series(r"$d_{KL}(\pi, f^*)$ (target)", data.kl_target, marker=""),
              Series("paper.theorem1 RHS (as written)", data.rhs, "bound"),
              Series("RHS with factor 2", data.rhs_factor2, "bound", ls=":")]
    return curve_plot(path, data.eps, series, xlabel=r"$\varepsilon$", ylabel="divergence (nats)",
                      title=f"paper.theorem1 on {data.task}",
                      caption="the constructed AoT's divergence against paper.theorem1's bound as eps varies")


# --- figures drawn by both the ledger and the seed's experiments -------------------------------


@dataclass(frozen=True)
class AssocCapacity:
    """Measured capacities of the outer-product memory against ``d``.

    ``cap90``/``cap50``: ``{d: largest N recalled at >= 90% / 50%}``;
    ``max_recalled``: ``{d: max over the measured N of recall x N}`` (the
    ``d`` of the recall curves); ``slope``: log-log slope of the 50% line
    (``None`` with one ``d``).
    """

    cap90: Mapping[int, int]
    cap50: Mapping[int, int]
    max_recalled: Mapping[int, float]
    slope: float | None


@dataclass(frozen=True)
class AssocRecall:
    """Recall of the outer-product memory against ``N/d``: ``recall[d]`` per ratio, each point over ``>= trials`` draws."""

    ratios: np.ndarray
    recall: Mapping[int, np.ndarray]
    trials: int
    capacity: AssocCapacity | None = None

    @property
    def ds(self) -> list[int]:
        return list(self.recall)


def assoc_recall(path, data: AssocRecall) -> str:
    """``assoc_recall.png``: recall against ``N/d`` per ``d``; with ``data.capacity``, a second panel of the
    measured capacities against ``d`` next to ``N = d`` (the seed's "only d of them")."""
    cap = data.capacity
    ratios = np.asarray(data.ratios, dtype=float)
    with _Canvas(path, 2 if cap is not None else 1) as (fig, axes):
        a = axes[0] if cap is not None else axes
        _draw_curves(a, ratios, [Series(f"d = {d}", r) for d, r in data.recall.items()], xkind="size",
                     ykind="fraction", rules=[Rule(1.0, "N = d (the seed's 'only d')", axis="x", ls="--")],
                     legend="lower left")
        a.set_xlabel("N / d  (associations stored per embedding dimension)")
        a.set_ylabel(f"recall (fraction of g recalled, ≥ {data.trials} draws)")
        a.set_title("seed.assoc-memory: outer-product memory W = Σ_i w_U(g(i)) w_E(i)ᵀ,\n"
                    "random Gaussian embeddings: recall against N/d")
        if cap is not None:
            b = axes[1]
            cd, ds = list(cap.cap90), list(cap.max_recalled)
            lo, hi = min(cd + ds), max(cd + ds)
            _draw_curves(b, cd, [Series("largest N with recall ≥ 90%", [cap.cap90[d] for d in cd]),
                                 Series("largest N with recall ≥ 50%", [cap.cap50[d] for d in cd], marker="s"),
                                 Series("most associations recalled, max over N of recall × N",
                                        [cap.max_recalled[d] for d in ds], x=ds, marker="^"),
                                 Series("N = d (\"only d of them\")", [lo, hi], "reference", x=[lo, hi],
                                        color="black", ls="--")],
                         xkind="size", ykind="size", legend="lower right")
            b.set_xlabel("embedding dimension d")
            b.set_ylabel("associations N recalled")
            b.set_title("Measured capacity against d" + ("" if cap.slope is None else
                                                         f" (50% line: N ∝ d^{fmt(cap.slope)})"))
    caption = f"recall of the outer-product memory against N/d for d = {', '.join(map(str, data.ds))}"
    k = int(np.argmin(np.abs(np.log(ratios))))  # the ratio closest to N = d
    at = [float(data.recall[d][k]) for d in data.ds]
    if len(at) > 1 and all(u <= v for u, v in zip(at, at[1:])) and at[-1] > at[0]:
        caption += (f"; at N/d = {fmt(ratios[k])} the recall rises with d ({fmt(at[0])} to {fmt(at[-1])}): "
                    "capacity grows faster than d")
    if cap is not None:
        caption += ("; right: the largest N recalled at 90% and 50%, and the most associations recalled, "
                    "against d" + ("" if cap.slope is None else f" (50% line: N ∝ d^{fmt(cap.slope)})"))
    return caption


@dataclass(frozen=True)
class Cor2Bound:
    """``paper.cor2``'s accuracy bound ``1/N + (1 - 1/N)(H d_h + d)/T_0`` per ``H`` (the capacity figure's ``Hs``)."""

    N: int
    T_0: int
    d_h: int
    bound: np.ndarray


@dataclass(frozen=True)
class Cor2Measured:
    """The measured accuracy of the package's ``T*`` on random association tasks, per ``H``, next to ``paper.cor2``.

    ``H``: the heads with at least one task built; ``accuracy``/``std``:
    mean and standard deviation over the tasks; ``bound``: ``paper.cor2``'s
    bound; ``failed``: ``{H: [why]}`` for the constructions refused.
    """

    N: int
    S: int
    d: int
    d_h: int
    tasks: int
    H_max: int
    H: list[int]
    accuracy: np.ndarray
    std: np.ndarray
    bound: np.ndarray
    failed: Mapping[int, list[str]] = field(default_factory=dict)

    @property
    def T_0(self) -> int:
        return self.N ** self.S

    @property
    def mean_below_bound(self) -> list[int]:
        """The ``H`` where the mean measured accuracy is below the bound."""
        return [int(h) for h, a, b in zip(self.H, self.accuracy, self.bound) if a < b]

    @property
    def refused(self) -> int:
        return sum(len(v) for v in self.failed.values())


@dataclass(frozen=True)
class CapacityVsH:
    """The capacities of ``paper.table1`` per ``H``, with what was measured.

    ``this_paper``/``mahdavi``: ``{d_h: capacity per H}`` (``H d_h + d``,
    ``H(d_h - 1) + 1``); ``memorised``: the most associations a constructed
    AoT memorised (accuracy 1) per ``H``, or ``None``; ``cor2``/``measured``:
    ``paper.cor2``'s bound and its measured accuracy, or ``None``.
    """

    Hs: np.ndarray
    d: int
    this_paper: Mapping[int, np.ndarray]
    mahdavi: Mapping[int, np.ndarray]
    memorised: np.ndarray | None = None
    cor2: Cor2Bound | None = None
    measured: Cor2Measured | None = None


def capacity(path, data: CapacityVsH) -> str:
    """The capacity figure: the Table 1 formulas against ``H`` (with what a constructed AoT memorised, if
    measured); with ``data.cor2``, a panel of ``paper.cor2``'s bound; with ``data.measured``, a panel of the
    measured accuracy of ``T*`` next to that bound."""
    panels = 1 + (data.cor2 is not None) + (data.measured is not None)
    Hs = np.asarray(data.Hs)
    with _Canvas(path, panels) as (fig, axes):
        axes = [axes] if panels == 1 else axes
        a = axes[0]
        series = []
        if data.memorised is not None:
            series.append(Series("memorised by the constructed AoT (accuracy 1)", data.memorised, color="black"))
        for dh, ls in zip(data.this_paper, ("--", ":", "-.")):
            series.append(Series(f"H d_h + d (this paper), d_h = {dh}", data.this_paper[dh], "bound",
                                 color=PALETTE[0], ls=ls))
            series.append(Series(f"H (d_h − 1) + 1 (Mahdavi et al.), d_h = {dh}", data.mahdavi[dh], "bound",
                                 color=PALETTE[3], ls=ls))
        _draw_curves(a, Hs, series, xkind="size", ykind="size", legend="upper left")
        a.set_xlabel("number of heads H")
        a.set_ylabel("associations memorised (capacity)")
        a.set_title(f"paper.table1: capacity against H (d = {data.d})")
        caption = "paper.table1: capacity H d_h + d (this paper) against H(d_h − 1) + 1 (Mahdavi et al.) as H grows"
        if data.memorised is not None:
            caption += ", with the associations a constructed AoT memorises (accuracy 1)"
        k = 1
        if data.cor2 is not None:
            c2, b = data.cor2, axes[k]
            k += 1
            _draw_curves(b, Hs, [Series("paper.cor2 bound", c2.bound, "bound", ls="-")], xkind="size",
                         ykind="fraction", rules=[Rule(1.0 / c2.N, "1/N (guessing)")], legend="upper left")
            b.set_xlabel("number of heads H")
            b.set_ylabel("accuracy lower bound")
            b.set_title(f"paper.cor2 bound 1/N + (1 − 1/N)(H d_h + d)/T_0\n"
                        f"(N = {c2.N}, T_0 = {c2.T_0}, d = {data.d}, d_h = {c2.d_h})")
            caption += f"; paper.cor2's accuracy bound (N = {c2.N}, T_0 = {c2.T_0})"
        if data.measured is not None:
            m, c = data.measured, axes[k]
            below = set(m.mean_below_bound)
            _draw_curves(c, m.H, [Series(f"measured accuracy of the package's T* (mean ± sd, {m.tasks} tasks)",
                                         m.accuracy, yerr=m.std, color=PALETTE[2]),
                                  Series(f"mean below the bound ({len(below)} of {len(m.H)} H)",
                                         [a if H in below else None for H, a in zip(m.H, m.accuracy)],
                                         marker="x", ls="none", color=PALETTE[3]),
                                  Series("paper.cor2 bound (drawn on top)", m.bound, "bound", ls="-",
                                         color=PALETTE[0])],
                         xkind="size", ykind="fraction", legend="lower right")
            c.set_xlabel("number of heads H")
            c.set_ylabel("accuracy on all T_0 sequences")
            c.set_title(f"paper.cor2 measured: N = {m.N}, T_0 = {m.T_0}, d = {m.d}, d_h = {m.d_h}"
                        + (f"\n({m.refused} of {m.H_max * m.tasks} constructions refused: ill-conditioned)"
                           if m.refused else ""))
            caption += (f"; the measured accuracy of the package's T* (N = {m.N}, T_0 = {m.T_0}) next to it: "
                        f"mean below the bound at {len(m.mean_below_bound)} of {len(m.H)} H")
    return caption


# --- the seed's experiments (aotmem report) ------------------------------------------------------


@dataclass(frozen=True)
class GramPair:
    """The Gram matrices of a rank-``d`` encoder's unembeddings ``W W^T`` (tokens sorted by group) and
    encodings ``E E^T`` (sequences sorted by class), on a task with ``T`` sequences and ``K`` classes."""

    d: int
    K: int
    T: int
    divergence: float
    W: np.ndarray
    E: np.ndarray


@dataclass(frozen=True)
class EncoderBlocks:
    """The best rank-``d`` divergence per ``d`` (``divergence[K][T]``) of structured tasks, and Gram pairs to show.

    ``floor``: divergences below it are drawn on the bottom edge.
    """

    N: int
    ds: list[int]
    divergence: Mapping[int, Mapping[int, list[float]]]
    grams: list[GramPair]
    floor: float = 1e-12


def optimal_encoder_blocks(path, data: EncoderBlocks) -> str:
    """``optimal_encoder_blocks.png``: divergence against ``d`` (one curve per ``K`` and ``T``), then one row of
    Gram heat maps (``W W^T``, ``E E^T``) per :class:`GramPair`."""
    rows = max(1, len(data.grams))
    Ks = list(data.divergence)
    with _Canvas(path, size=(PANEL[0] * 2.5, PANEL[1] * rows), grid=False) as (fig, _):
        gs = fig.add_gridspec(rows, 3, width_ratios=(1.25, 1, 1))
        ax = fig.add_subplot(gs[:, 0])
        series, rules = [], []
        for k, ls in zip(Ks, ("-", "--", "-.", ":")):
            for T, v in data.divergence[k].items():
                series.append(Series(f"K = {k} classes, T = {T} sequences", v, ls=ls))
            rules.append(Rule(k - 1, axis="x", ls=ls))
        _draw_curves(ax, data.ds, series, xkind="size", ykind="divergence", rules=rules, floor=data.floor)
        ax.set_xlabel("rank d of the encoder")
        ax.set_ylabel(f"divergence of the best rank-d encoder (nats; below {fmt(data.floor)}: v on the bottom edge)")
        ax.set_title(f"Quantity T does not matter, quality does (N = {data.N}):\nthe K = {Ks[0]} curves for every T "
                     f"coincide; 0 at d = K − 1 (grey)")
        for row, g in enumerate(data.grams):
            for col, (M, what, lab) in enumerate(((g.W, "unembeddings  W Wᵀ", "output token (sorted by group)"),
                                                  (g.E, "encodings  E Eᵀ", "sequence (sorted by class)"))):
                a = fig.add_subplot(gs[row, col + 1])
                lim = float(np.abs(M).max()) or 1.0
                im = a.imshow(M, cmap=DIVERGING, vmin=-lim, vmax=lim, interpolation="nearest")
                a.grid(False)
                a.set_title(f"Gram of {what}, d = {g.d}\n(K = {g.K}, T = {g.T}, divergence {fmt(max(g.divergence, 0))})",
                            fontsize=RC["axes.titlesize"] - 0.5)
                a.set_xlabel(lab)
                a.set_ylabel(lab)
                cb = fig.colorbar(im, ax=a, fraction=0.046)
                _number_ticks(cb.ax.yaxis)
    shown = ", ".join(str(g.d) for g in data.grams)
    return ("the best rank-d divergence against d, one curve per number K of classes and T of sequences "
            "(grey: d = K − 1)" + (f"; the Gram matrices of the encoder's unembeddings and encodings at d = {shown}, "
                                   "sorted by group and class" if shown else ""))
