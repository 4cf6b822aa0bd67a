"""The declarative report layer (``jaxrnn.lab.declare``) and the shared
statistics (``jaxrnn.lab.fits``): tables from (header, function) columns,
verdicts from ``check``, figures as grids with their text rules, reports in
the summary's order, ``rerender`` from stored records, one bootstrap."""

import dataclasses
import math

import numpy as np
import pytest

from jaxrnn import lab
from jaxrnn.lab import declare

MS = [64, 128, 256, 512]


def _records():
  rng = np.random.default_rng(0)
  return [
    {
      "point": {"m": m},
      "rms": list(1 / np.sqrt(m) * np.exp(0.1 * rng.normal(size=6))),
      "by_dout": {"1": {"corr": [[0.5, 1.0], [None, 1.0]]}},
    }
    for m in MS
  ]


def test_table_cells_come_from_the_column_functions_per_row_item():
  t = lab.Table([("m", lambda m: m), ("1/m", lambda m: 1.0 / m), ("none", lambda m: None)], [2, 4])
  lines = t.render().splitlines()
  assert lines[0] == "| m | 1/m | none |"
  assert lines[2:] == ["| 2 | 0.5 | n/a |", "| 4 | 0.25 | n/a |"]
  assert lab.Table([("a", str)], [1], caption="Cap.").render().startswith("Cap.\n\n| a |")
  compact = lab.Table("m | 1/m | none", [2, 4], cells=lambda m: [m, 1.0 / m, None])
  assert compact.render() == t.render()


def test_records_read_nested_fields_columns_and_count_non_finite_values_once():
  recs = lab.Records(_records(), "m")
  assert len(recs.values("rms", m=64)) == 6
  assert recs.values("rms", m=3) == []
  assert recs.values("by_dout/1/corr", column=0, m=64) == [0.5, None]
  recs.values("by_dout/1/corr", column=0, m=64)
  assert recs.missing == 1
  assert recs.values("rms", m=64, scale=2.0)[0] == pytest.approx(recs.values("rms", m=64)[0] / 2)
  assert lab.scaled([1.0, None], 3.0) == [3.0, None]


def test_check_decides_slopes_numbers_and_ranges_and_carries_the_claim():
  slope = lab.power_law(MS, [1 / math.sqrt(m) for m in MS])
  assert lab.check("falls", slope, below=0).holds is True
  assert lab.check("rate", slope, near=-0.5, tol=0.05).holds is True
  assert lab.check("small", 0.2, below=0.1).holds is False
  assert lab.check("small", None, below=0.1).holds is None
  v = lab.check("in range", {64: 1.0, 128: 1.3}, within=(0.9, 1.1))
  assert v.holds is False and "outside at m = 128" in v.measured
  claim = next(iter(lab.claims.CLAIMS.values()))
  regime = lab.Regime("the conditions", False, "a bound")
  v = lab.check("falls", slope, below=0, claim=claim, regime=regime, note="extra")
  assert v.outcome == lab.NOT_TESTABLE and v.measured.endswith("; extra")
  with pytest.raises(ValueError, match="claim with its regime"):
    lab.check("falls", slope, below=0, claim=claim)


def test_grids_never_lay_more_than_three_panels_in_a_row():
  assert lab.declare.grid_shape(1) == (1, 1)
  assert lab.declare.grid_shape(3) == (2, 2)
  assert lab.declare.grid_shape(5) == (2, 3)
  assert all(lab.declare.grid_shape(n)[1] <= 3 for n in range(1, 10))


@pytest.mark.parametrize(
  "panel, message",
  [
    (lab.Panel("the `m` axis", "m", "y", []), "markup"),
    (lab.Panel("t", "m", "log10 error (log scale)", []), "names the axis scale"),
    (lab.Panel("t", "m", "y", [lab.band("", MS, MS)]), "without a label"),
  ],
)
def test_figures_refuse_markup_doubled_log_labels_and_unlabelled_curves(panel, message):
  with pytest.raises(ValueError, match=message):
    lab.declare.draw(lab.Figure("f", [panel]))


def test_a_quantity_that_is_a_logarithm_keeps_its_name():
  fig = lab.declare.draw(lab.Figure("f", [lab.Panel("t", "m", "log10 C", [])]))
  assert fig.axes[0].get_ylabel() == "log10 C"


def test_figure_legends_sit_outside_the_data_and_spare_panels_are_hidden(tmp_path):
  recs = lab.Records(_records(), "m")
  panel = lab.Panel(
    "rms", "width m", "rms", [lab.band("rms", MS, [recs.values("rms", m=m) for m in MS])]
  )
  fig = lab.declare.draw(lab.Figure("f", [panel, panel, panel]))
  axes = fig.axes
  assert len(axes) == 4 and not axes[3].axison
  fig.canvas.draw()
  legend = axes[0].get_legend().get_window_extent()
  assert legend.y1 <= axes[0].get_window_extent().y0  # below the axes, not on the data


def test_render_writes_blocks_verdicts_reading_and_choices_in_order(tmp_path):
  recs = lab.Records(_records(), "m")
  per_m = [recs.values("rms", m=m) for m in MS]
  report = lab.Report(
    "demo: rms in m",
    "Set-up line.",
    [
      lab.Table([("m", lambda m: m), ("rms", lambda m: lab.robust(recs.values("rms", m=m)))], MS),
      lab.Figure("demo", [lab.Panel("rms", "width m", "rms", [lab.band("rms", MS, per_m)])]),
    ],
    [lab.check("rms falls with m", lab.power_law(MS, per_m), below=0)],
    reading=["An extra bullet."],
    choices="Ours.",
    missing={"non-finite values": 2},
  )
  text = lab.render(report, tmp_path)
  assert (tmp_path / "demo.png").stat().st_size > 0
  order = ["# demo", "Set-up line.", "| m | rms |", "![demo](demo.png)", "## Verdicts"]
  order += ["## Reading", "- rms falls with m: yes", "- An extra bullet.", "2 non-finite values"]
  order += ["Design choices where the paper is silent: Ours."]
  at = [text.index(s) for s in order]
  assert at == sorted(at)
  assert [r["holds"] for r in lab.read_verdicts(text)] == ["yes"]


def test_rerender_rewrites_the_summary_from_stored_records(tmp_path):
  @dataclasses.dataclass(frozen=True)
  class Config:
    ms: tuple = (64, 128)
    seed: int = 0

  def report(cfg, records, out_dir):
    assert isinstance(cfg.ms, tuple)
    return f"# fake\n\n{len(records)} records, ms {cfg.ms}\n"

  exp = lab.Experiment(
    "fake", "", Config, {"quick": Config()}, lab.width_points, lambda c, p: {"v": p["m"]}, report
  )
  lab.run_experiment(exp, Config(), tmp_path, preset="quick", progress=False)
  (tmp_path / "summary.md").write_text("stale")
  assert lab.rerender(exp, tmp_path) == "# fake\n\n2 records, ms (64, 128)\n"
  assert (tmp_path / "summary.md").read_text().startswith("# fake")
  with pytest.raises(ValueError, match="no config.json"):
    lab.rerender(exp, tmp_path / "nothing")


def test_power_law_and_the_fits_share_one_bootstrap_over_seeds():
  rng = np.random.default_rng(1)
  per_x = [list(np.exp(rng.normal(size=5)) * m**-0.5) for m in MS]
  pts, _ = lab.log_points(MS, per_x)
  means = lab.boot_log_means(pts, 200, 0)
  k = lab.fits.ls_slopes(np.array([p[0] for p in pts]), means)[0]
  lo, hi = np.quantile(k, [0.025, 0.975])
  s = lab.power_law(MS, per_x, n_boot=200)
  assert (s.lo, s.hi) == pytest.approx((lo, hi), rel=1e-12)
  # Equal seed counts take one vectorised draw; it equals the per-resample loop.
  ragged = lab.boot_log_means(pts + [(9.0, np.log([1.0, 2.0]))], 50, 0)
  looped = np.random.default_rng(0)
  first = np.mean(pts[0][1][looped.integers(0, 5, 5)])
  assert ragged[0, 0] == pytest.approx(first)
  assert lab.boot_log_means(pts, 50, 0)[0, 0] == pytest.approx(first)


def test_loglog_curvature_is_zero_for_a_power_law_and_positive_for_an_exponential():
  xs = [2, 4, 8, 16, 32]
  assert lab.loglog_curvature(xs, [x**-1.5 for x in xs]).value == pytest.approx(0, abs=1e-9)
  assert lab.loglog_curvature(xs, [math.exp(0.3 * x) for x in xs]).value > 0.5
  assert lab.power_law_crossing(xs, [10 * x**-1.0 for x in xs])[0] == pytest.approx(10)
  assert lab.fmt_crossing((math.inf, math.nan, math.nan)) == "∞"


def test_no_experiment_imports_another_experiment():
  import ast
  import pathlib

  root = pathlib.Path(lab.__file__).resolve().parent.parent / "experiments"
  for path in root.glob("*.py"):
    if path.name == "__init__.py":
      continue
    for node in ast.walk(ast.parse(path.read_text())):
      if isinstance(node, ast.ImportFrom):
        names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
      elif isinstance(node, ast.Import):
        names = [a.name for a in node.names]
      else:
        continue
      assert not any(n.startswith("jaxrnn.experiments.") for n in names), (path.name, names)


def test_outcome_sentence_counts_paper_claims_apart_from_diagnostics():
  claim = next(iter(lab.claims.CLAIMS.values()))
  met = lab.Regime("the regime", True)
  vs = [
    lab.Verdict("a", "1", "c", True, claim, met),
    lab.Verdict("b", "1", "c", False),
    lab.Verdict("c", "1", "c", True, claim, met),
    lab.Verdict("d", "1", "c", None),
  ]
  assert declare.outcome_sentence(vs) == (
    "Verdict outcomes: paper claims yes 2, diagnostics no 1, diagnostics undecided 1."
  )


@pytest.mark.parametrize(
  "values, holds",
  [([0.1, 0.2, None], True), ([1.0, 2.0], False), ([0.1, 2.0], None), ([None, math.nan], None)],
)
def test_every_seed_holds_only_when_every_finite_seed_is_below(values, holds):
  v = declare.every_seed("r", values, below=0.5, what="err")
  assert v.holds is holds
  if not any(lab.finite(x) is not None for x in values):
    assert v.measured == "n/a"


def test_ratios_skip_missing_values_and_non_positive_denominators():
  got = declare.ratios([1.0, None, 3.0, 4.0, 6.0], [2.0, 1.0, 0.0, -1.0, 3.0])
  assert got == [0.5, 2.0]


def test_normalization_steps_row_reads_a_null_ratio_as_missing():
  from jaxrnn.experiments import normalization

  row = {"steps": 10, "steps_needed": [3, 5], "ratio": [None, 0.4], "eta": [0.1, 0.1]}
  assert normalization._steps_row(row)[-1] == "0.4"
  assert normalization._steps_row({**row, "ratio": [None, None]})[-1] == "n/a"


# --------------------------------------------------------------------------
# Record views: present points, series and trends, columns, run-wide pools


def test_present_keeps_the_grid_order_of_the_points_with_a_record():
  recs = lab.Records(_records(), "m")
  assert lab.present(recs, [512, 3, 64, 128]) == [512, 64, 128]
  assert lab.present(lab.Records([], "m"), MS) == []


def test_columns_turn_per_seed_rows_into_per_column_seed_lists():
  rows = {"point": {"m": 8}, "err": [[1.0, 2.0, 4.0], [3.0, None, 8.0]]}
  recs = lab.Records([rows], "m")
  assert lab.columns(recs, "err", 3, m=8) == [[1.0, 3.0], [2.0, None], [4.0, 8.0]]
  assert lab.columns(recs, "err", 2, m=8, scale=2.0) == [[0.5, 1.5], [1.0, None]]
  assert lab.columns(recs, "err", 2, m=9) == [[], []]  # no record: no seeds


def test_pooled_flattens_records_or_mappings_and_drops_non_finite_values():
  recs = [
    {"point": {"L": 3}, "ratio": [1.0, None], "plateau": [True, False], "zero": 0.5},
    {"point": {"L": 5}, "ratio": [[2.0, float("nan")]], "plateau": [True]},
    {"point": {"L": 8}},
  ]
  rs = lab.Records(recs, "L")
  assert lab.pooled(rs, "ratio").tolist() == [1.0, 2.0]
  assert lab.pooled(rs, "plateau").tolist() == [1.0, 0.0, 1.0]
  assert rs.values("plateau", L=3) == [1.0, 0.0] and rs.missing == 0  # flags as in pooled
  assert lab.pooled(rs, "zero").tolist() == [0.5]
  assert lab.pooled(rs, "absent").size == 0
  # plain record mappings (cells), paths into them
  cells = [{"a": [1.0, None, math.inf]}, {"a": 2}, {}, None, {"b": {"c": [[3.0, math.nan]]}}]
  assert lab.pooled(cells, "a").tolist() == [1.0, 2.0]
  assert lab.pooled(cells, "b/c").tolist() == [3.0]
  assert lab.pooled([{"f": [True, False]}, {"f": [True]}], "f").tolist() == [1.0, 0.0, 1.0]
  assert lab.pooled([], "a").size == 0


def test_series_and_trend_read_one_field_along_a_sweep_key():
  recs = lab.Records(_records(), "m")
  per_m = lab.series(recs, "rms", MS)
  assert per_m == [recs.values("rms", m=m) for m in MS] and len(per_m[0]) == 6
  assert lab.series(recs, "by_dout/1/corr", MS[:1], column=0) == [[0.5, None]]
  k = lab.trend(recs, "rms", MS)
  assert k == lab.power_law(MS, per_m) and k.lo < -0.5 < k.hi
  assert not lab.trend(recs, "absent", MS).ok
  grid = lab.Records([{"point": {"m": 8, "w": w}, "e": [w]} for w in (0.1, 1.0)], "m", "w")
  assert lab.trend(grid, "e", (0.1, 1.0), along="w", m=8).value == pytest.approx(1.0)


def test_falls_with_m_and_all_of_build_regimes():
  falling = lab.Slope(-0.5, -0.6, -0.4, 4, 6, 0)
  flat = lab.Slope(0.0, -0.1, 0.1, 4, 6, 0)
  met = lab.falls_with_m("size", falling, "more widths")
  assert met == lab.Regime("size falls with m (slope -0.50 [-0.60, -0.40])", True, "more widths")
  assert not lab.falls_with_m("size", flat).met
  assert not lab.falls_with_m("size", lab.Slope(math.nan, math.nan, math.nan, 0, 0, 0)).met
  both = lab.all_of(lab.Regime("a", True, "x"), lab.falls_with_m("size", flat, "y"))
  assert both.conditions == "a; size falls with m (slope 0.00 [-0.10, 0.10])"
  assert (both.met, both.needed) == (False, "y")
  assert lab.all_of(lab.Regime("a", True), lab.Regime("b", True)).met


def test_seedwise_applies_a_function_seed_by_seed_and_marks_missing_values():
  got = lab.seedwise(lambda a, b: a / b, [1.0, None, 3.0, math.nan, 4.0], [2.0, 1.0, 0.0, 1.0, -2])
  assert got == [0.5, None, None, None, -2.0]
  assert lab.seedwise(lambda a: math.log(a), [0.0, -1.0, math.e]) == [None, None, 1.0]
  assert lab.seedwise(lambda a: a * 1e308, [10.0]) == [None]


def test_width_panel_puts_the_widths_on_a_log2_axis():
  p = lab.width_panel("t", "y", [], [8, 16], ylog=False)
  assert (p.x, p.xbase, p.xticks, p.ylog) == ("width m", 2, [8, 16], False)


# --------------------------------------------------------------------------
# Finite values, regimes and checks, panels, several-covariate power laws


@pytest.mark.parametrize(
  "num, den, want",
  [(3.0, 2.0, 1.5), (None, 2.0, None), (1.0, 0.0, None), (1.0, -2.0, None), (1.0, math.nan, None)],
)
def test_finite_ratio_needs_finite_values_and_a_positive_denominator(num, den, want):
  assert lab.finite_ratio(num, den) == want


def test_step_stability_needs_a_recorded_step_and_every_one_below_the_limit():
  assert lab.step_stability([0.5, None, 1.0]) == lab.Regime(
    "every eta·sharpness < 2 (max 1)", True, "a step inside the stability limit"
  )
  text, met, _ = lab.step_stability([0.5, 2.5])
  assert not met and text == "every eta·sharpness < 2 (max 2.5)"
  text, met, _ = lab.step_stability([None])
  assert not met and text == "every eta·sharpness < 2 (none recorded)"


def test_all_of_names_only_the_needs_that_unmet_regimes_state():
  a, b = lab.Regime("A", True, "more A"), lab.Regime("B", False, "more B")
  c = lab.Regime("C", False)
  assert lab.all_of(a) == lab.Regime("A", True, "") and lab.all_of(a).fmt() == "A: met"
  r = lab.all_of(a, b, c)
  assert r == lab.Regime("A; B; C", False, "more B")
  assert r.fmt() == "A; B; C: **not met** (needs more B)"


def test_reduce_finite_and_largest_read_the_finite_values_and_are_none_without_any():
  values = [3.0, None, math.nan, 1.0, math.inf, 2.0]
  assert lab.reduce_finite(values) == pytest.approx(2.0)
  assert lab.reduce_finite(values, np.max) == 3.0 and lab.reduce_finite(values, np.median) == 2.0
  assert lab.reduce_finite([None, math.nan]) is None and lab.reduce_finite([], np.max) is None
  assert lab.largest([None, math.inf]) is None and lab.largest([-2, None, -1.5]) == -1.5


def test_count_nonfinite_counts_every_leaf_and_skips_absent_fields():
  records = [
    {"a": [[1.0, None], [math.nan, 2.0]], "b": [None, math.inf, 3.0]},
    {"a": None, "b": 4.0},
    {"b": [[None]]},
  ]
  assert lab.count_nonfinite(records, ["a", "b"]) == 2 + 2 + 0 + 0 + 1
  assert lab.count_nonfinite(records, (f for f in ["a"])) == 2
  assert lab.count_nonfinite([], ["a"]) == 0
  # "a/b" reads a nested field, or a flat key of that name, as lab.pooled does
  nested = [{"a": {"b": [None, 1.0]}}, {"a/b": [math.nan]}, {"a": 2.0}]
  assert lab.count_nonfinite(nested, ["a/b"]) == 2


def _power_cells(rng, noise, n_seeds=6):
  cells, per = [], []
  for L in (3, 5, 10, 20):
    for e in (0.01, 0.04):
      for m in (128, 256, 512, 1024, 2048):
        cells.append((L, e, m))
        y = 0.3 * L**1.5 * e**0.8 * m**-0.5
        per.append(y * np.exp(noise * rng.standard_normal(n_seeds)))
  return cells, per


def test_power_fit_recovers_exponents_with_a_joint_bootstrap_over_seeds():
  want = np.array([math.log(0.3), 1.5, 0.8, -0.5])
  cells, per = _power_cells(np.random.default_rng(3), 0.05)
  fit = lab.power_fit(cells, per)
  assert fit.ok and fit.n_cells == 40 and fit.n_seeds == 6 and fit.boot.shape == (2000, 4)
  np.testing.assert_allclose(fit.value, want, atol=0.05)
  assert np.all(fit.lo < fit.value) and np.all(fit.value < fit.hi)
  # A seed's offset shared by every cell moves ln c only: the joint resample
  # of the seed indices keeps the exponents' intervals tight.
  shift = np.exp(np.random.default_rng(4).standard_normal(6))
  joint = lab.power_fit(cells, [p * shift for p in per])
  for a, b in zip(joint[:3], fit[:3]):
    np.testing.assert_allclose(a[1:], b[1:], atol=1e-10)
  # Missing and non-positive values are left out; too few cells: no fit.
  holed = [[None, -1.0, *p[2:]] for p in per]
  assert lab.power_fit(cells, holed).value == pytest.approx(fit.value, abs=0.05)
  assert not lab.power_fit(cells[:4], per[:4]).ok
  with pytest.raises(ValueError):
    lab.power_fit([1.0, 2.0], per[:2])


def test_power_fit_coefficients_as_slopes_and_text():
  cells, per = _power_cells(np.random.default_rng(3), 0.05)
  fit = lab.power_fit(cells, per)
  c = fit.coef(3)
  assert isinstance(c, lab.Slope) and (c.value, c.lo, c.hi) == tuple(float(a[3]) for a in fit[:3])
  assert (c.n_x, c.n_seeds) == (40, 6)
  assert fit.fmt(1) == f"{fit.value[1]:.3f} [{fit.lo[1]:.3f}, {fit.hi[1]:.3f}]"
  one = lab.power_fit(cells, [p[:1] for p in per])  # one seed: no interval
  assert one.fmt(1) == f"{one.value[1]:.3f}" and math.isnan(one.coef(1).lo)
  assert lab.power_fit(cells[:3], per[:3]).fmt(0) == "n/a"


def test_power_fit_crossing_solves_for_the_last_covariate():
  cells, _ = _power_cells(np.random.default_rng(0), 0.0)
  exact = lab.power_fit(cells, [[0.3 * L**1.5 * e**0.8 * m**-0.5] for L, e, m in cells])
  # 0.3 L^1.5 e^0.8 m^-0.5 = level at m = (0.3 L^1.5 e^0.8 / level)^2.
  v, lo, hi = lab.power_fit_crossing(exact, (10, 0.04), 0.04)
  assert v == pytest.approx((0.3 * 10**1.5 * 0.04**-0.2) ** 2, rel=1e-9)
  assert math.isnan(lo) and math.isnan(hi)
  cells, per = _power_cells(np.random.default_rng(3), 0.05)
  v, lo, hi = lab.power_fit_crossing(lab.power_fit(cells, per), (10, 0.04), 0.04)
  assert lo < v < hi and lo < (0.3 * 10**1.5 * 0.04**-0.2) ** 2 < hi
  rising = lab.power_fit(cells, [[L * e * m**0.3] for L, e, m in cells])
  assert math.isinf(lab.power_fit_crossing(rising, (10, 0.04))[0])
  assert math.isnan(lab.power_fit_crossing(lab.power_fit(cells[:3], per[:3]), (10, 0.04))[0])


@pytest.mark.parametrize(
  "ratios, holds, measured",
  [
    ([1.0, None, 1.9], True, "1.9"),
    ([1.0, math.nan, 2.0], False, "2"),
    ([None, math.inf], None, "n/a"),
  ],
)
def test_stability_check_reads_the_largest_finite_step(ratios, holds, measured):
  v = lab.stability_check("stable", ratios, what="largest η·sharpness")
  assert (v.holds, v.measured) == (holds, measured)
  assert v.criterion == "largest η·sharpness < 2"


@pytest.mark.parametrize(
  "reached, holds, measured",
  [([True, 1, True], True, "1"), ([True, False, True, True], False, "0.75"), ([], None, "n/a")],
)
def test_plateau_check_holds_only_when_every_run_is_at_its_plateau(reached, holds, measured):
  v = lab.plateau_check("plateau", reached, what="fraction at the plateau")
  assert (v.holds, v.measured) == (holds, measured)
