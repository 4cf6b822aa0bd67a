"""What every report does: statistics over seeds, power-law slopes with their
uncertainty, verdicts computed by named rules, markdown tables, figures.

Conventions, so that a summary can be trusted:

- **Missing values.** A metric that was non-finite is stored as ``None``
  (JSON has no NaN). Every helper here takes ``None``/NaN/inf as *missing*:
  statistics and fits leave them out and say how many they left out, tables
  print ``n/a``, figures skip them.
- **Slopes** are least-squares fits of ``log y`` on ``log x``. With several
  seeds per x, the fit is to the mean of ``log y`` over seeds (robust to one
  heavy-tailed seed) and its uncertainty a bootstrap over seeds (resampling
  the seeds at every x, fixed generator), reported as a 95% interval.
- **Verdicts.** A conclusion in a summary is a ``Verdict``: a named rule, the
  measured value, the criterion and the outcome (``True``, ``False`` or
  ``None`` when the data cannot decide). ``verdict_table`` renders them;
  prose in a summary may only restate a verdict's outcome.
- **Sources.** A verdict about the paper carries a ``Claim`` of the register
  (``jaxrnn.lab.claims``: the paper's words and their location) and the
  ``Regime`` its statement needs; outside that regime its outcome is "not
  testable at these sizes", whatever the number. A verdict without a claim is
  a jaxrnn diagnostic (a hypothesis of ours) and is labelled so.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from jaxrnn.lab.claims import Claim, Regime
from jaxrnn.lab.store import atomic_write_bytes

if TYPE_CHECKING:
  from matplotlib.axes import Axes
  from matplotlib.figure import Figure
  from matplotlib.typing import ColorType

# --------------------------------------------------------------------------
# Values and statistics


def finite(value: object) -> float | None:
  """``float(value)`` if it is a finite number, else None."""
  if value is None or isinstance(value, (bool, str)):
    return None
  try:
    v = float(value)
  except (TypeError, ValueError):
    return None
  return v if math.isfinite(v) else None


def finite_values(values: Iterable) -> np.ndarray:
  """The finite entries of ``values`` as a float64 array."""
  out = [finite(v) for v in values]
  return np.asarray([v for v in out if v is not None], np.float64)


class Stats(NamedTuple):
  """Summary of one cell's values over seeds; ``n`` finite, ``missing`` not."""

  n: int
  missing: int
  mean: float | None
  std: float | None
  median: float | None
  q25: float | None
  q75: float | None
  geomean: float | None

  def fmt(self, spec: str = ".3g", *, robust: bool = False) -> str:
    """``mean ± std (n=k)`` (or ``median [q25, q75] (n=k)``), ``n/a`` if empty;
    missing values are counted in the text."""
    if self.n == 0:
      return f"n/a ({self.missing} missing)" if self.missing else "n/a"
    if robust:
      body = f"{self.median:{spec}} [{self.q25:{spec}}, {self.q75:{spec}}]"
    else:
      body = f"{self.mean:{spec}} ± {self.std:{spec}}"
    extra = f", {self.missing} missing" if self.missing else ""
    return f"{body} (n={self.n}{extra})"


def stats(values: Iterable) -> Stats:
  """``Stats`` of the finite entries of ``values`` (None/NaN/inf are missing)."""
  values = list(values)
  v = finite_values(values)
  missing = len(values) - v.size
  if v.size == 0:
    return Stats(0, missing, None, None, None, None, None, None)
  q25, med, q75 = (float(q) for q in np.quantile(v, [0.25, 0.5, 0.75]))
  geo = float(np.exp(np.mean(np.log(v)))) if np.all(v > 0) else None
  return Stats(int(v.size), missing, float(v.mean()), float(v.std()), med, q25, q75, geo)


# --------------------------------------------------------------------------
# Power laws


class Slope(NamedTuple):
  """A fitted exponent k of ``y ~ x^k`` with a 95% interval [lo, hi]."""

  value: float
  lo: float
  hi: float
  n_x: int
  n_seeds: int
  left_out: int

  @property
  def ok(self) -> bool:
    return math.isfinite(self.value)

  def fmt(self, spec: str = ".2f") -> str:
    if not self.ok:
      return "n/a"
    if self.lo == self.hi == self.value:
      return f"{self.value:{spec}}"
    return f"{self.value:{spec}} [{self.lo:{spec}}, {self.hi:{spec}}]"


_NAN_SLOPE = Slope(math.nan, math.nan, math.nan, 0, 0, 0)


def _ls_slope(lx: np.ndarray, ly: np.ndarray) -> float:
  lx = lx - lx.mean()
  return float(np.dot(lx, ly - ly.mean()) / np.dot(lx, lx))


def power_law(xs: Sequence[float], ys: Sequence, *, n_boot: int = 2000, seed: int = 0) -> Slope:
  """The exponent k of ``y ~ x^k`` by least squares in log-log.

  **Arguments:** ``xs`` (n_x,) positive; ``ys`` either (n_x,) values or
  (n_x, n_seeds) per-seed values (ragged lists allowed). Non-finite or
  non-positive values are left out (counted in ``left_out``); an x with no
  value left is dropped.

  **Returns:** ``Slope``. With one value per x the interval is the ordinary
  least-squares 95% interval (t quantile); with seeds it is the 2.5-97.5%
  range of the slope over ``n_boot`` bootstrap resamples of the seeds at
  each x. NaN when fewer than two x remain.
  """
  from jaxrnn.lab.fits import boot_log_means, log_points, ls_slopes

  pts, left_out = log_points(xs, ys)
  if len(pts) < 2:
    return _NAN_SLOPE._replace(left_out=left_out)
  n_seeds = max(p[1].size for p in pts)
  lx = np.array([p[0] for p in pts])
  means = np.array([p[1].mean() for p in pts])
  k = _ls_slope(lx, means)
  if n_seeds <= 1:
    if len(pts) <= 2:
      return Slope(k, k, k, len(pts), 1, left_out)
    from scipy import stats as sps

    res = sps.linregress(lx, means)
    t = sps.t.ppf(0.975, len(pts) - 2)
    return Slope(k, k - t * res.stderr, k + t * res.stderr, len(pts), 1, left_out)
  lo, hi = np.quantile(ls_slopes(lx, boot_log_means(pts, n_boot, seed))[0], [0.025, 0.975])
  return Slope(k, float(lo), float(hi), len(pts), n_seeds, left_out)


def extrapolate(slope: Slope, x0: float, y0: float | None, target: float) -> float | None:
  """The x at which the power law through ``(x0, y0)`` with exponent
  ``slope.value`` reaches ``target``: ``x0 (target / y0)^(1 / k)``. None when
  the slope is missing, zero, or points away from the target (a claim that
  the fit says is never reached at any larger x)."""
  y0 = finite(y0)
  if not slope.ok or y0 is None or y0 <= 0 or target <= 0 or slope.value == 0:
    return None
  x = x0 * (target / y0) ** (1.0 / slope.value)
  return x if math.isfinite(x) and x > 0 else None


# --------------------------------------------------------------------------
# Verdicts

NOT_TESTABLE = "not testable at these sizes"
OUTCOMES = ("yes", "no", "undecided", NOT_TESTABLE)


class Verdict(NamedTuple):
  """The outcome of a named rule applied to the records.

  - ``rule``: what is being decided, e.g. "error falls with m".
  - ``measured``: the number(s) it was decided on, as text.
  - ``criterion``: the rule itself, as text (e.g. "95% interval of the
    slope below 0").
  - ``holds``: True/False, or None when the data cannot decide.
  - ``claim``: the paper's statement it tests (``lab.claims``), or None for a
    jaxrnn diagnostic.
  - ``regime``: with a claim, the conditions the statement needs and whether
    the run met them (required with a claim).
  """

  rule: str
  measured: str
  criterion: str
  holds: bool | None
  claim: Claim | None = None
  regime: Regime | None = None

  @property
  def about_paper(self) -> bool:
    return self.claim is not None

  @property
  def outcome(self) -> str:
    """ "yes" / "no" / "undecided", or "not testable at these sizes" for a
    paper claim whose regime the run did not meet."""
    if self.claim is not None and self.regime is not None and not self.regime.met:
      return NOT_TESTABLE
    return {True: "yes", False: "no", None: "undecided"}[self.holds]

  def source(self) -> str:
    """The table cell naming the source: the quoted claim, or "jaxrnn diagnostic"."""
    return self.claim.cite() if self.claim is not None else "jaxrnn diagnostic"


def about(verdict: Verdict, claim: Claim, regime: Regime) -> Verdict:
  """``verdict`` as a test of the paper's ``claim`` in ``regime``."""
  if not isinstance(claim, Claim) or not isinstance(regime, Regime):
    raise TypeError("about() takes a lab.Claim and a lab.Regime")
  return verdict._replace(claim=claim, regime=regime)


def slope_verdict(
  rule: str,
  slope: Slope,
  *,
  below: float | None = None,
  above: float | None = None,
  near: float | None = None,
  tol: float = 0.0,
  claim: Claim | None = None,
  regime: Regime | None = None,
) -> Verdict:
  """A verdict on a fitted slope using its 95% interval.

  Exactly one of: ``below=c`` (holds iff the interval lies below c, fails iff
  it lies at or above c), ``above=c`` (mirror), ``near=c`` (holds iff
  ``|k - c| <= tol`` and the interval meets [c - tol, c + tol]; fails iff the
  interval misses it). Undecided otherwise or when the slope is NaN.
  ``claim`` and ``regime`` as in ``Verdict``.
  """
  v = _slope_verdict(rule, slope, below=below, above=above, near=near, tol=tol)
  return v if claim is None else about(v, claim, regime)


def _slope_verdict(rule, slope, *, below, above, near, tol) -> Verdict:
  if sum(v is not None for v in (below, above, near)) != 1:
    raise ValueError("give exactly one of below=, above=, near=")
  measured = f"slope {slope.fmt()} (95% interval, {slope.n_x} points"
  measured += f", {slope.n_seeds} seeds)" if slope.n_seeds > 1 else ")"
  if not slope.ok:
    kind, c = (
      ("interval below", below)
      if below is not None
      else ("interval above", above)
      if above is not None
      else ("within", near)
    )
    crit = f"{kind} {c:g}"
    return Verdict(rule, "n/a (fewer than two points)", crit, None)
  if below is not None:
    holds = True if slope.hi < below else False if slope.lo >= below else None
    return Verdict(rule, measured, f"95% interval below {below:g}", holds)
  if above is not None:
    holds = True if slope.lo > above else False if slope.hi <= above else None
    return Verdict(rule, measured, f"95% interval above {above:g}", holds)
  lo, hi = near - tol, near + tol
  if slope.hi < lo or slope.lo > hi:
    holds = False
  elif lo <= slope.value <= hi:
    holds = True
  else:
    holds = None
  return Verdict(rule, measured, f"slope within {near:g} ± {tol:g}", holds)


def threshold_verdict(
  rule: str,
  value: float | None,
  *,
  below: float | None = None,
  above: float | None = None,
  spec: str = ".3g",
  what: str = "",
  claim: Claim | None = None,
  regime: Regime | None = None,
) -> Verdict:
  """Holds iff the finite ``value`` is < ``below`` (or > ``above``);
  undecided when it is missing. ``claim`` and ``regime`` as in ``Verdict``."""
  v = _threshold_verdict(rule, value, below=below, above=above, spec=spec, what=what)
  return v if claim is None else about(v, claim, regime)


def _threshold_verdict(rule, value, *, below, above, spec, what) -> Verdict:
  if (below is None) == (above is None):
    raise ValueError("give exactly one of below=, above=")
  v = finite(value)
  crit = f"{what or 'value'} " + (f"< {below:{spec}}" if below is not None else f"> {above:{spec}}")
  if v is None:
    return Verdict(rule, "n/a", crit, None)
  holds = v < below if below is not None else v > above
  return Verdict(rule, f"{v:{spec}}", crit, bool(holds))


VERDICT_HEADER = ("claim tested", "source", "regime", "measured", "rule", "holds?")


def verdict_table(verdicts: Sequence[Verdict]) -> str:
  """The verdicts as a markdown table: what is tested, its source (the
  paper's words with their location, or "jaxrnn diagnostic"), the regime the
  statement needs (paper claims), the measured value, the rule, the outcome.
  A paper claim without a regime is refused."""
  rows = []
  for v in verdicts:
    if v.claim is not None and v.regime is None:
      raise ValueError(f"verdict {v.rule!r} names a paper claim but no regime")
    regime = v.regime.fmt() if v.regime is not None else "—"
    rows.append([v.rule, v.source(), regime, v.measured, v.criterion, f"**{v.outcome}**"])
  return markdown_table(list(VERDICT_HEADER), rows)


def read_verdicts(summary: str) -> list[dict]:
  """The rows of a summary's ``## Verdicts`` section (as ``verdict_table``
  writes it): ``[{"claim", "source", "regime", "measured", "rule", "holds",
  "paper"}]`` with ``holds`` one of ``OUTCOMES`` and ``paper`` True when the
  row tests a statement of the paper. For tools and tests that read summaries
  back (``tools/paper_table.py``, ``jaxrnn report``)."""
  rows, on = [], False
  for line in summary.splitlines():
    if line.startswith("## "):
      on = line.strip() == "## Verdicts"
    elif on and line.startswith("| ") and not line.startswith("| ---"):
      cells = [c.strip() for c in re.split(r"(?<!\\) \| ", line.strip().strip("|").strip())]
      if len(cells) == len(VERDICT_HEADER) and cells[-1].startswith("**"):
        claim, source, regime, measured, rule, holds = cells
        rows.append(
          {
            "claim": claim,
            "source": source,
            "regime": regime,
            "measured": measured,
            "rule": rule,
            "holds": holds.strip("*"),
            "paper": source != "jaxrnn diagnostic",
          }
        )
  return rows


def tally(rows: Iterable[dict]) -> dict[str, int]:
  """How many rows have each outcome (``OUTCOMES``), for rows as
  ``read_verdicts`` returns them."""
  out = dict.fromkeys(OUTCOMES, 0)
  for r in rows:
    out[r["holds"]] = out.get(r["holds"], 0) + 1
  return out


# --------------------------------------------------------------------------
# Tables and figures


def cell(v, fmt: str = "{:.3g}") -> str:
  """One table cell: floats with ``fmt``; None and non-finite as ``n/a``."""
  if v is None:
    return "n/a"
  if isinstance(v, float):
    return fmt.format(v) if math.isfinite(v) else "n/a"
  return str(v)


def markdown_table(
  header: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str = "{:.3g}"
) -> str:
  """A GitHub markdown table; floats formatted with ``fmt``, missing as ``n/a``;
  a ``|`` inside a cell (``|H_r|``) is escaped so it does not split the cell."""
  lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
  lines += ["| " + " | ".join(_escape_pipes(cell(v, fmt)) for v in row) + " |" for row in rows]
  return "\n".join(lines)


def _escape_pipes(text: str) -> str:
  return re.sub(r"(?<!\\)\|", r"\\|", text)


def color_map(names: Sequence[str]) -> dict[str, Any]:
  """One colour per name, stable across the panels of a figure."""
  import matplotlib

  cmap = matplotlib.colormaps["tab10" if len(names) <= 10 else "tab20"]
  return {n: cmap(i % cmap.N) for i, n in enumerate(names)}


def figure(
  ncols: int = 1,
  nrows: int = 1,
  *,
  width: float = 5.2,
  height: float = 4.0,
  layout: str | None = None,
) -> tuple[Figure, list[Axes]]:
  """A matplotlib figure with ``nrows x ncols`` axes (always a flat list);
  ``layout`` as matplotlib's (``"constrained"`` keeps legends placed outside
  the axes inside the figure).

  In a Jupyter kernel the kernel's backend is kept, so the figure shows
  below the cell; elsewhere (scripts, the CLI, tests) the non-interactive Agg
  backend is used."""
  import sys

  import matplotlib

  ipython = sys.modules.get("IPython")
  if not hasattr(ipython.get_ipython() if ipython else None, "kernel"):
    matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  fig, axes = plt.subplots(
    nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False, layout=layout
  )
  return fig, list(axes.ravel())


def seq_colors(names: Sequence[str], cmap: str = "viridis") -> dict[str, Any]:
  """Colours along a sequential map, for a second family of curves (widths,
  decoders) that must not be confused with ``color_map``'s."""
  import matplotlib

  cm = matplotlib.colormaps[cmap]
  n = max(len(names) - 1, 1)
  return {name: cm(0.85 * i / n) for i, name in enumerate(names)}


def x_axis_ticks(ax: Axes, xs: Sequence[float]) -> None:
  """Ticks at the grid values only (no overlapping minor labels on a log axis)."""
  import matplotlib.ticker as mticker

  ax.xaxis.set_major_locator(mticker.FixedLocator(list(xs)))
  ax.xaxis.set_major_formatter(mticker.FixedFormatter([str(x) for x in xs]))
  ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def style_axes(
  ax: Axes,
  xlabel: str,
  ylabel: str,
  title: str = "",
  *,
  xlog: bool = True,
  ylog: bool = True,
  xbase: int = 10,
  legend: bool = True,
) -> None:
  """Labels, log scales, grid and a small legend for one axes."""
  if xlog:
    ax.set_xscale("log", base=xbase)
  if ylog:
    ax.set_yscale("log")
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  if title:
    ax.set_title(title, fontsize=10)
  ax.grid(True, which="both", alpha=0.3)
  if legend and ax.get_legend_handles_labels()[0]:
    ax.legend(fontsize=7)


def band_plot(
  ax: Axes,
  xs: Sequence[float],
  per_x: Sequence,
  *,
  label: str,
  color: ColorType | None = None,
  marker: str = "o",
  ls: str = "-",
) -> None:
  """Median over seeds with a shaded 25-75% band; missing values skipped
  (never bars that run below zero on a log axis)."""
  pts = [
    (x, stats(v if isinstance(v, (list, tuple, np.ndarray)) else [v])) for x, v in zip(xs, per_x)
  ]
  pts = [(x, s) for x, s in pts if s.n and finite(x) is not None]
  if not pts:
    return
  x = [p[0] for p in pts]
  (line,) = ax.plot(x, [p[1].median for p in pts], marker=marker, ls=ls, color=color, label=label)
  if any(p[1].n > 1 for p in pts):
    ax.fill_between(
      x, [p[1].q25 for p in pts], [p[1].q75 for p in pts], color=line.get_color(), alpha=0.2, lw=0
    )


def save_figure(fig: Figure, path: Path, dpi: int = 120, *, tight: bool = True) -> None:
  """Saves a matplotlib figure as PNG atomically and closes it (first
  ``fig.tight_layout()`` unless ``tight=False`` or the figure has a layout
  engine)."""
  import matplotlib.pyplot as plt

  if tight and fig.get_layout_engine() is None:
    fig.tight_layout()
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
  plt.close(fig)
  atomic_write_bytes(Path(path), buf.getvalue())


class Summary:
  """A markdown summary built in the order every report uses: title, setup,
  tables and figures, the verdict table, reading, design choices.

  Example::

    >>> from jaxrnn import lab
    >>> s = lab.Summary("demo: a title", setup="One line on the setup.")
    >>> s.table(["m", "err"], [[8, 0.5], [16, None]])
    >>> s.verdicts([lab.threshold_verdict("error small", 0.5, below=1.0)])
    >>> s.bullets("Reading", ["the error is " + s.last_verdict_outcome + "."])
    >>> print(s.render().splitlines()[0])
    # demo: a title
  """

  def __init__(self, title: str, *, setup: str = ""):
    self._parts = [f"# {title}", ""]
    self._verdicts: list[Verdict] = []
    if setup:
      self._parts += [setup, ""]

  def text(self, text: str) -> None:
    self._parts += [text, ""]

  def table(
    self,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    fmt: str = "{:.3g}",
    caption: str = "",
  ) -> None:
    if caption:
      self._parts += [caption, ""]
    self._parts += [markdown_table(header, rows, fmt), ""]

  def figure(self, filename: str | Path, alt: str = "", *, fig: Figure | None = None) -> None:
    """Shows the PNG ``filename`` (beside the summary); with ``fig``, first
    saves the figure there (``save_figure``), ``filename`` being its path."""
    if fig is not None:
      save_figure(fig, Path(filename))
    name = Path(filename).name
    self._parts += [f"![{alt or name.rsplit('.', 1)[0]}]({name})", ""]

  def verdicts(self, verdicts: Sequence[Verdict], *, heading: str = "Verdicts") -> None:
    """The verdict table; every conclusion the summary states is one of these."""
    self._verdicts += list(verdicts)
    if verdicts:
      self._parts += [f"## {heading}", "", verdict_table(verdicts), ""]

  @property
  def last_verdict_outcome(self) -> str:
    return self._verdicts[-1].outcome if self._verdicts else "undecided"

  def bullets(self, heading: str, items: Sequence[str]) -> None:
    items = [i for i in items if i]
    if items:
      self._parts += [f"## {heading}", ""] + [f"- {i}" for i in items] + [""]

  def choices(self, text: str) -> None:
    """The design choices made where the paper is silent."""
    self._parts += ["Design choices where the paper is silent: " + text, ""]

  def render(self) -> str:
    return "\n".join(self._parts).rstrip("\n") + "\n"


def missing_note(counts: dict[str, int]) -> str:
  """One sentence saying how many values were left out and why, or ''."""
  parts = [f"{n} {why}" for why, n in counts.items() if n]
  return ("Left out of fits and figures: " + "; ".join(parts) + ".") if parts else ""
