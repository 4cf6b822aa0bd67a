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
# Checks on SGD runs


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
