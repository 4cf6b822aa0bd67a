"""Declarative reports: an experiment states its tables, figures and
verdicts; ``render`` writes the markdown and the PNGs.

A report is a ``Report``: a title, the set-up, a sequence of blocks
(``Table``, ``Figure`` or a markdown string) in the order they appear, the
verdicts (``lab.Verdict``, best made with ``check``), extra "Reading"
bullets, the design choices where the paper is silent and the counts of
values left out. ``render(report, out_dir)`` returns the summary's markdown
in the order every summary uses: title, set-up, blocks, ``## Verdicts``,
``## Reading`` (one bullet per verdict, then the extra ones, then the
left-out note), the design choices.

- ``Table(columns, rows)``: ``columns`` are ``(header, function)`` pairs,
  each function maps one row item to its cell (a number, text, ``None`` for
  ``n/a``); ``rows`` the items (e.g. ``records.groups("m")``).
- ``Figure(name, panels)``: ``name.png`` beside the summary; ``panels`` a
  list of ``Panel``, laid out as a grid (``ncols``, default 1 panel: 1,
  2-4: 2, more: 3 columns), each panel's legend below its axes (off the
  data). A panel lists its curves: ``band`` (median over seeds with the
  25-75% band), ``line`` (a curve or reference line), ``hline``.
- ``check(rule, quantity, ...)``: the verdict of a rule on a measured
  quantity (a ``Slope``, a number, or ``{x: value}`` for a range rule), with
  the paper's ``claim`` and ``Regime`` when it tests the paper.
- ``Records``: the records of a run grouped by their sweep point, with
  per-seed values of a (nested) metric and the count of non-finite ones.

Figures follow three rules, checked when they are drawn (``ValueError``):
no markup (backticks) in titles and labels; a label does not name the
axis's scale ("(log scale)": the ticks say it, and a quantity that is itself
a logarithm, "log10 C", keeps its name); every curve has a label.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jaxrnn.lab.claims import Claim, Regime
from jaxrnn.lab.report import (
  Slope,
  Summary,
  Verdict,
  finite,
  finite_values,
  markdown_table,
  missing_note,
  power_law,
  slope_verdict,
  stats,
  threshold_verdict,
)

# --------------------------------------------------------------------------
# Records by sweep point


def _get(rec: Mapping | None, field: str):
  """``rec[a][b]`` for ``field = "a/b"``; a key with a slash that is itself a
  field (``"pattern/token"``) is read whole first."""
  if rec is None:
    return None
  if field in rec:
    return rec[field]
  head, _, rest = field.partition("/")
  return _get(rec.get(head), rest) if rest and isinstance(rec.get(head), Mapping) else None


def _seeds(value) -> list:
  """A record value as a list of per-seed values (a scalar is one seed)."""
  if value is None:
    return []
  if isinstance(value, (list, tuple, np.ndarray)):
    return list(value)
  return [value]


def _at(row, i: int):
  return row[i] if isinstance(row, (list, tuple)) and -len(row) <= i < len(row) else None


class Records:
  """The records of a run, looked up by their sweep point.

  ``Records(records, "m", "eps_x")`` keys each record by those point fields;
  ``values(field, m=..., eps_x=...)`` is the list of per-seed values of
  ``field`` (``"a/b"`` reads ``record["a"]["b"]``; missing record or field:
  ``[]``), optionally ``column`` (index into per-seed rows) and ``scale``
  (each value divided by it) applied; ``None`` marks a non-finite value;
  booleans read as 1 and 0, as in ``pooled``. ``missing`` counts the
  non-finite values read, once per (field, point).
  """

  def __init__(self, records: Sequence[dict], *keys: str):
    self.keys = keys
    self.by = {tuple(r["point"].get(k) for k in keys): r for r in records}
    self._missing: dict[tuple, int] = {}

  def __contains__(self, point: tuple) -> bool:
    return tuple(point) in self.by

  def record(self, **point) -> dict | None:
    return self.by.get(tuple(point.get(k) for k in self.keys))

  def values(self, field: str, *, column: int | None = None, scale: float = 1.0, **point) -> list:
    raw = _seeds(_get(self.record(**point), field))
    if column is not None:
      raw = [_at(row, column) for row in raw]
    raw = [float(v) if isinstance(v, bool) else v for v in raw]
    out = [None if finite(v) is None else finite(v) / scale for v in raw]
    self._missing[(field, column, tuple(sorted(point.items())))] = sum(v is None for v in out)
    return out

  def median(self, field: str, **kw) -> float | None:
    return stats(self.values(field, **kw)).median

  @property
  def missing(self) -> int:
    """Non-finite values among those read so far."""
    return sum(self._missing.values())

  def missing_of(self, name: str) -> int:
    """Non-finite values read so far from fields named ``name`` (the whole
    field or its last ``/`` part)."""
    return sum(n for (f, _, _), n in self._missing.items() if name in (f, f.rsplit("/", 1)[-1]))


def scaled(values: Iterable, factor: float) -> list:
  """``[factor * v]`` keeping ``None`` (a per-seed list times a constant)."""
  return [None if finite(v) is None else factor * finite(v) for v in values]


def robust(values: Iterable) -> str:
  """A table cell: median [quartiles] (n=...) of ``values``, ``n/a`` where none is finite."""
  return stats(values).fmt(robust=True)


# --------------------------------------------------------------------------
# Verdicts


def check(
  rule: str,
  quantity: Slope | float | Mapping | None,
  *,
  below: float | None = None,
  above: float | None = None,
  near: float | None = None,
  tol: float = 0.0,
  within: tuple[float, float] | None = None,
  spec: str = ".3g",
  what: str = "",
  note: str = "",
  claim: Claim | None = None,
  regime: Regime | None = None,
) -> Verdict:
  """The verdict of ``rule`` on a measured ``quantity``.

  - a ``Slope``: ``below``/``above``/``near`` (+ ``tol``) on its 95% interval
    (``slope_verdict``);
  - a number (or ``None``: undecided): ``below``/``above`` (``threshold_verdict``,
    ``what`` names it in the criterion);
  - ``{x: value}`` with ``within=(lo, hi)``: holds iff every finite value lies
    in [lo, hi] (undecided with none); the measured text gives the range and
    the x outside it.

  ``note`` is appended to the measured text; ``claim`` and ``regime`` make it
  a test of the paper (both or neither)."""
  if (claim is None) != (regime is None):
    raise ValueError(f"verdict {rule!r}: give a claim with its regime (or neither)")
  if within is not None:
    v = _range_verdict(rule, quantity, *within, spec)
  elif isinstance(quantity, Slope):
    v = slope_verdict(rule, quantity, below=below, above=above, near=near, tol=tol)
  else:
    v = threshold_verdict(rule, quantity, below=below, above=above, spec=spec, what=what)
  if note:
    v = v._replace(measured=f"{v.measured}; {note}")
  return v if claim is None else v._replace(claim=claim, regime=regime)


def _range_verdict(rule: str, values: Mapping, lo: float, hi: float, spec: str) -> Verdict:
  vals = {k: finite(v) for k, v in values.items()}
  vals = {k: v for k, v in vals.items() if v is not None}
  crit = f"every m in [{lo:g}, {hi:g}]"
  if not vals:
    return Verdict(rule, "n/a", crit, None)
  out = [k for k, v in vals.items() if not lo <= v <= hi]
  measured = f"{min(vals.values()):{spec}} … {max(vals.values()):{spec}} over {len(vals)} widths"
  if out:
    measured += f" (outside at m = {', '.join(map(str, out))})"
  return Verdict(rule, measured, crit, not out)


# --------------------------------------------------------------------------
# Tables


class Table(NamedTuple):
  """A markdown table: ``columns`` ``(header, function of a row item)``,
  ``rows`` the items; floats formatted with ``fmt``; ``caption`` above.

  Compact form for wide tables: ``columns`` the headers (a list, or one
  string ``"a | b | c"``) and ``cells`` one function of a row item giving
  all its cells."""

  columns: Sequence[tuple[str, Callable[[Any], Any]]] | Sequence[str] | str
  rows: Iterable
  caption: str = ""
  fmt: str = "{:.3g}"
  cells: Callable[[Any], Sequence] | None = None

  def render(self) -> str:
    if self.cells is not None:
      cols = self.columns
      header = [h.strip() for h in cols.split(" | ")] if isinstance(cols, str) else list(cols)
      body = [list(self.cells(item)) for item in self.rows]
    else:
      header = [h for h, _ in self.columns]
      body = [[fn(item) for _, fn in self.columns] for item in self.rows]
    table = markdown_table(header, body, self.fmt)
    return f"{self.caption}\n\n{table}" if self.caption else table


# --------------------------------------------------------------------------
# Figures


class Curve(NamedTuple):
  """One curve of a panel (made by ``band``, ``line`` or ``hline``)."""

  kind: str
  label: str
  xs: Sequence
  ys: Sequence
  style: dict


def band(label: str, xs: Sequence, per_x: Sequence, **style) -> Curve:
  """Median over seeds at each x with a shaded 25-75% band (``per_x``: per x a
  value or a list of per-seed values; missing ones skipped). ``style``:
  matplotlib's ``color``, ``marker`` (default "o"), ``ls``; with ``ls=""``
  (points, e.g. categories on x) the 25-75% range is a bar at each point."""
  return Curve("band", label, list(xs), list(per_x), style)


def line(label: str, xs: Sequence, ys: Sequence, **style) -> Curve:
  """A plain curve (a fit, a reference slope): ``style`` as matplotlib's
  ``plot`` (default black dashed, no markers)."""
  return Curve("line", label, list(xs), list(ys), style)


def hline(y: float, label: str = "", **style) -> Curve:
  """A horizontal reference line at ``y`` (default grey dotted)."""
  return Curve("hline", label, [], [y], style)


class Panel(NamedTuple):
  """One axes: ``title``, axis labels ``x``/``y``, its ``curves``; log axes
  by default (``xbase`` the x log base); ``xticks`` puts ticks at those
  values only (the grid); ``ylim`` ``(bottom, top)`` with ``None`` free;
  ``yscale="symlog"`` instead of ``ylog`` for values that may be exactly 0
  (linear below ``1e-4``); ``legend`` False hides it (e.g. when a
  neighbour's legend names the same curves); ``xticklabels`` names the
  ``xticks`` (default: the values)."""

  title: str
  x: str
  y: str
  curves: Sequence[Curve]
  xlog: bool = True
  ylog: bool = True
  xbase: int = 10
  xticks: Sequence | None = None
  ylim: tuple | None = None
  legend: bool = True
  xticklabels: Sequence[str] | None = None
  yscale: str | None = None


class Figure(NamedTuple):
  """A figure ``name.png`` of ``panels`` in a grid of ``ncols`` columns
  (default by count), each panel ``panel_size`` inches (width, height);
  ``alt`` the image's alt text (default ``name``)."""

  name: str
  panels: Sequence[Panel]
  ncols: int | None = None
  alt: str = ""
  panel_size: tuple[float, float] = (4.6, 3.4)


def grid_shape(n: int, ncols: int | None = None) -> tuple[int, int]:
  """(rows, columns) for ``n`` panels: 1 -> 1x1, 2 -> 1x2, 3-4 -> 2x2,
  5-6 -> 2x3, 7-9 -> 3x3 (never a strip of more than three)."""
  cols = ncols or (1 if n == 1 else 2 if n <= 4 else 3)
  return math.ceil(n / cols), cols


def _check_text(where: str, text: str) -> None:
  if "`" in text:
    raise ValueError(f"figure {where} {text!r} has markup (backticks)")
  if "log scale" in text or "log axis" in text:
    raise ValueError(f"figure {where} {text!r} names the axis scale (the axis shows it)")


def _points(ax, c: Curve) -> None:
  """A band without a line (``ls=""``, categories on x): the median as a
  marker and the 25-75% range as a vertical bar at each x."""
  pts = [(x, stats(v if isinstance(v, (list, tuple)) else [v])) for x, v in zip(c.xs, c.ys)]
  pts = [(x, st) for x, st in pts if st.n]
  if not pts:
    return
  style = {"marker": "o"} | c.style
  (h,) = ax.plot([x for x, _ in pts], [st.median for _, st in pts], label=c.label, **style)
  ax.vlines(
    [x for x, _ in pts],
    [st.q25 for _, st in pts],
    [st.q75 for _, st in pts],
    color=h.get_color(),
    lw=1.5,
    alpha=0.6,
  )


def draw(fig_spec: Figure):
  """The matplotlib figure of ``fig_spec`` (constrained layout; legends below
  each panel). Raises ``ValueError`` for markup in a title or label, a label
  naming the axis scale, or an unlabelled curve."""
  import matplotlib.ticker as mticker

  from jaxrnn.lab.report import band_plot, figure

  nrows, ncols = grid_shape(len(fig_spec.panels), fig_spec.ncols)
  w, h = fig_spec.panel_size
  fig, axes = figure(ncols, nrows, width=w, height=h, layout="constrained")
  for ax, p in zip(axes, fig_spec.panels):
    _check_text("title", p.title)
    _check_text("x label", p.x)
    _check_text("y label", p.y)
    for c in p.curves:
      if c.kind != "hline" and not c.label:
        raise ValueError(f"panel {p.title!r}: a curve without a label")
      if c.kind == "band" and c.style.get("ls") == "":
        _points(ax, c)
      elif c.kind == "band":
        band_plot(ax, c.xs, c.ys, label=c.label, **c.style)
      elif c.kind == "line":
        pts = [(x, finite(y)) for x, y in zip(c.xs, c.ys) if finite(y) is not None]
        if pts:
          style = {"color": "k", "ls": "--", "lw": 1} | c.style
          ax.plot([q[0] for q in pts], [q[1] for q in pts], label=c.label, **style)
      else:
        style = {"color": "gray", "ls": ":", "lw": 0.8} | c.style
        ax.axhline(c.ys[0], label=c.label or None, **style)
    if p.xlog:
      ax.set_xscale("log", base=p.xbase)
    if p.yscale == "symlog":
      ax.set_yscale("symlog", linthresh=1e-4)
    elif p.ylog:
      ax.set_yscale("log")
    ax.set_xlabel(p.x)
    ax.set_ylabel(p.y)
    ax.set_title(p.title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if p.xticks is not None:
      ax.xaxis.set_major_locator(mticker.FixedLocator(list(p.xticks)))
      names = p.xticklabels or [f"{x:g}" for x in p.xticks]
      ax.xaxis.set_major_formatter(mticker.FixedFormatter(list(names)))
      ax.xaxis.set_minor_formatter(mticker.NullFormatter())
      ax.xaxis.set_minor_locator(mticker.NullLocator())
      ax.tick_params(axis="x", labelsize=8, labelrotation=45 if len(p.xticks) > 10 else 0)
    if p.ylim is not None:
      ax.set_ylim(*p.ylim)
    handles, labels = ax.get_legend_handles_labels()
    if p.legend and handles:
      ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3 if p.xticks is not None and len(p.xticks) > 10 else -0.2),
        ncol=2 if len(labels) > 2 else len(labels),
        fontsize=7,
        frameon=False,
      )
  for ax in axes[len(fig_spec.panels) :]:
    ax.set_axis_off()
  return fig


# --------------------------------------------------------------------------
# Reports


class Report(NamedTuple):
  """A summary, declared: see the module docstring. ``blocks`` are
  ``Table``, ``Figure`` or markdown text, in order; ``reading`` extra bullets
  after the per-verdict ones; ``missing`` ``{why: count}`` of values left out
  (``lab.missing_note``); ``after`` blocks placed after the verdict table
  (tables the verdicts do not read, e.g. a long per-cell listing);
  ``restate`` the rule prefixes of the verdicts restated under "Reading"
  (``None``: every verdict)."""

  title: str
  setup: str
  blocks: Sequence[Table | Figure | str]
  verdicts: Sequence[Verdict]
  reading: Sequence[str] = ()
  choices: str = ""
  missing: Mapping[str, int] = {}
  after: Sequence[Table | Figure | str] = ()
  restate: Sequence[str] | None = None


def _block(s: Summary, block, out_dir: Path) -> None:
  if isinstance(block, Table):
    s.text(block.render())
  elif isinstance(block, Figure):
    s.figure(out_dir / f"{block.name}.png", block.alt or block.name, fig=draw(block))
  else:
    s.text(block)


def render(report: Report, out_dir) -> str:
  """Writes the report's figures into ``out_dir`` and returns its markdown."""
  out_dir = Path(out_dir)
  s = Summary(report.title, setup=report.setup)
  for b in report.blocks:
    _block(s, b, out_dir)
  s.verdicts(list(report.verdicts))
  for b in report.after:
    _block(s, b, out_dir)
  s.bullets(
    "Reading",
    [
      f"{v.rule}: {v.outcome} ({v.measured})."
      for v in report.verdicts
      if report.restate is None or v.rule.startswith(tuple(report.restate))
    ]
    + list(report.reading)
    + [missing_note(dict(report.missing))],
  )
  if report.choices:
    s.choices(report.choices)
  return s.render()


def reporter(declare: Callable[[Any, list], Report]) -> Callable[[Any, list, Path], str]:
  """``report(cfg, records, out_dir)`` for ``lab.Experiment`` from a function
  ``declare(cfg, records) -> Report``."""

  def report(cfg, records, out_dir) -> str:
    return render(declare(cfg, records), out_dir)

  report.__doc__ = declare.__doc__
  return report


def rerender(exp, out_dir) -> str:
  """Rewrites ``summary.md`` and the figures of the run in ``out_dir`` from
  its stored ``config.json`` and ``results.jsonl``, computing nothing
  (``exp`` a ``lab.Experiment``). Returns the summary."""
  from jaxrnn.lab import store
  from jaxrnn.lab.runner import _nonfinite_note

  out_dir = Path(out_dir)
  meta = store.read_config(out_dir / "config.json")
  if meta is None:
    raise ValueError(f"{out_dir}: no config.json (not a run directory)")
  if meta.get("experiment") not in (None, exp.name):
    raise ValueError(f"{out_dir} holds a run of {meta['experiment']!r}, not {exp.name!r}")

  def tup(v):
    return tuple(tup(x) for x in v) if isinstance(v, list) else v

  cfg = exp.config_type(**{k: tup(v) for k, v in meta["config"].items()})
  records = store.load_records(out_dir / "results.jsonl", meta.get("config_hash"), repair=False)
  summary = exp.report(cfg, records, out_dir) + _nonfinite_note(records)
  store.atomic_write_text(out_dir / "summary.md", summary)
  return summary


# --------------------------------------------------------------------------
# Shared verdict helpers


def outcome_sentence(verdicts: Sequence[Verdict]) -> str:
  """A "Reading" sentence counting the outcomes, paper claims apart from
  diagnostics, in order of first appearance: "Verdict outcomes: paper claims
  yes 3, diagnostics no 1."."""
  kinds = [("paper claims " if v.about_paper else "diagnostics ") + v.outcome for v in verdicts]
  counts = ", ".join(f"{k} {kinds.count(k)}" for k in dict.fromkeys(kinds))
  return f"Verdict outcomes: {counts}."


def every_seed(rule: str, values, *, below: float, what: str) -> Verdict:
  """Holds iff every finite per-seed value is < ``below``; fails iff every
  one is >= ``below``; undecided when they disagree or none is finite. With
  n seeds that agree, a one-sided sign test at level 2^-n."""
  v = np.asarray([x for x in (finite(x) for x in values) if x is not None], float)
  crit = f"all n seeds' {what} < {below:g} (sign test at 2^-n); fails if all >= {below:g}"
  if v.size == 0:
    return Verdict(rule, "n/a", crit, None)
  n_below, st = int(np.sum(v < below)), stats(v)
  measured = f"median {st.median:.3g} [{st.q25:.3g}, {st.q75:.3g}]; {n_below} of n={v.size} below"
  return Verdict(rule, measured, crit, {v.size: True, 0: False}.get(n_below))


def ratios(a: Iterable, b: Iterable) -> list[float]:
  """Per-seed ``a / b`` where both are finite and ``b > 0``."""
  pairs = [(finite(x), finite(y)) for x, y in zip(a, b)]
  return [x / y for x, y in pairs if x is not None and y is not None and y > 0]


# --------------------------------------------------------------------------
# Record views: the points a run has, a field along a sweep key or per column,
# its trend, a run's pool of it, its non-finite values


def present(records: Records, values: Iterable) -> list:
  """The ``values`` of a one-key ``Records``'s point field that have a
  record, in their order (e.g. the widths of ``cfg.ms`` a partial run has)."""
  return [v for v in values if (v,) in records]


def series(records: Records, field: str, xs: Iterable, *, along: str = "m", **point) -> list:
  """Per-seed values of ``field`` at each x of ``xs`` for the sweep-point
  field ``along`` (the other point fields, ``column`` and ``scale`` as in
  ``Records.values``): ``[records.values(field, **{along: x}, **point) for
  x in xs]``, the per-x lists ``power_law`` and ``band`` take."""
  return [records.values(field, **point, **{along: x}) for x in xs]


def trend(records: Records, field: str, xs: Sequence, *, along: str = "m", **point) -> Slope:
  """The exponent k of ``field ~ x^k`` along the sweep key ``along``, with
  its bootstrap interval over seeds: ``power_law(xs, series(...))``."""
  xs = list(xs)
  return power_law(xs, series(records, field, xs, along=along, **point))


def columns(records: Records, field: str, count: int, *, scale: float = 1.0, **point) -> list:
  """Per-seed rows of ``field`` at one point as ``count`` columns:
  ``[records.values(field, column=i, scale=scale, **point) for i < count]``,
  per x a list of per-seed values (what ``power_law``, ``band`` and
  ``robust`` read)."""
  return [records.values(field, column=i, scale=scale, **point) for i in range(count)]


def pooled(records: Records | Iterable[Mapping | None], field: str) -> np.ndarray:
  """Every finite value of ``field`` over a ``Records``'s records, or over
  record-like mappings (``"a/b"`` reads ``cell["a"]["b"]``; a missing cell
  or field gives none), per-seed lists and rows flattened, a scalar counted
  once, booleans as 1 and 0 (float64): a run-wide pool such as the largest
  step ratio or the fraction of runs that reached a plateau."""
  cells = records.by.values() if isinstance(records, Records) else records
  parts = [np.ravel(np.asarray(_seeds(_get(c, field)), float)) for c in cells]
  vals = np.concatenate([np.zeros(0), *parts])
  return vals[np.isfinite(vals)]


def count_nonfinite(records: Iterable[Mapping], fields: Iterable[str]) -> int:
  """Non-finite values (None, NaN, inf) stored under ``fields`` in ``records``
  (``"a/b"`` as in ``pooled``): each field's value a number or (nested)
  lists of numbers, every non-finite leaf counted once; an absent field
  counts 0."""

  def count(value) -> int:
    if isinstance(value, (list, tuple, np.ndarray)):
      return sum(count(v) for v in value)
    return int(finite(value) is None)

  fields = list(fields)
  return sum(count(v) for r in records for f in fields if (v := _get(r, f)) is not None)


# --------------------------------------------------------------------------
# Finite values: reductions, ratios, seed-by-seed arithmetic


def reduce_finite(values: Iterable, reduce: Callable[[np.ndarray], Any] = np.mean) -> float | None:
  """``reduce`` (default the mean; e.g. ``np.median``, ``np.min``) of the
  finite entries of ``values`` as a float; ``None`` where none is finite."""
  v = finite_values(values)
  return float(reduce(v)) if v.size else None


def largest(values: Iterable) -> float | None:
  """The largest finite entry of ``values``; ``None`` when none is finite."""
  return reduce_finite(values, np.max)


def finite_ratio(num, den) -> float | None:
  """``num / den`` when both are finite and ``den > 0``, else None (the
  scalar form of ``ratios``)."""
  num, den = finite(num), finite(den)
  return None if num is None or den is None or den <= 0 else num / den


def seedwise(fn: Callable[..., float], *values: Iterable) -> list:
  """``fn`` applied seed by seed to per-seed lists in the same seed order:
  ``[fn(a_i, b_i, ...)]``, ``None`` where an argument is missing (not
  finite), where ``fn`` is undefined (raises ``ArithmeticError`` or
  ``ValueError``: division by zero, the log of 0) or where its value is not
  finite."""
  out = []
  for args in zip(*values):
    args = [finite(a) for a in args]
    try:
      out.append(None if None in args else finite(fn(*args)))
    except (ArithmeticError, ValueError):
      out.append(None)
  return out


# --------------------------------------------------------------------------
# Regimes and checks the experiments share

# Gradient descent on a quadratic of curvature ``sharpness`` is stable iff
# ``eta·sharpness < 2``.
STEP_LIMIT = 2.0


def falls_with_m(what: str, slope: Slope, needed: str = "") -> Regime:
  """The regime condition "``what`` falls with m": met when the 95%
  interval of ``slope`` (in m) lies below 0 (not met when it is NaN); the
  condition's text gives the slope."""
  return Regime(
    f"{what} falls with m (slope {slope.fmt()})", bool(slope.ok and slope.hi < 0), needed
  )


def all_of(*regimes: Regime) -> Regime:
  """The regime met when every one of ``regimes`` is: their conditions
  joined by "; ", and what the unmet ones need (those that name a need),
  joined the same way."""
  needed = "; ".join(r.needed for r in regimes if not r.met and r.needed)
  return Regime("; ".join(r.conditions for r in regimes), all(r.met for r in regimes), needed)


def step_stability(step_ratios: Iterable, limit: float = STEP_LIMIT) -> Regime:
  """The stability condition of gradient-descent runs as a ``Regime``: met
  iff at least one finite ``eta·sharpness`` is recorded and every one is
  below ``limit`` (``STEP_LIMIT``); the text gives the largest."""
  v = finite_values(step_ratios)
  worst = f"max {v.max():.3g}" if v.size else "none recorded"
  met = bool(v.size and np.all(v < limit))
  text = f"every eta·sharpness < {limit:g} ({worst})"
  return Regime(text, met, "a step inside the stability limit")


def stability_check(rule: str, ratios: Iterable, *, what: str) -> Verdict:
  """Holds iff the largest finite ``η·sharpness`` in ``ratios`` (one per run)
  is below ``STEP_LIMIT``; undecided when none is finite."""
  return check(rule, largest(ratios), below=STEP_LIMIT, what=what)


def plateau_check(rule: str, reached: Iterable, *, what: str) -> Verdict:
  """Holds iff every run is at its plateau: the fraction of true flags in
  ``reached`` (one per run) is 1; undecided with no runs."""
  flags = [bool(x) for x in reached]
  return check(rule, sum(flags) / len(flags) if flags else None, above=1 - 1e-9, what=what)


# --------------------------------------------------------------------------
# Panels


def width_panel(title: str, y: str, curves: Sequence[Curve], ms: Sequence, **kw) -> Panel:
  """A ``Panel`` against the width m: x label "width m", a log2 axis with
  ticks at the widths ``ms`` only; ``kw`` the other ``Panel`` fields."""
  return Panel(title, "width m", y, curves, xbase=2, xticks=ms, **kw)
