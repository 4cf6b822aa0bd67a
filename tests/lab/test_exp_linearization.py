"""Experiment ``linearization``: a tiny run and its resume, verdicts that flip
with the records (paper rows with the paper's rule and regime, the flip rows
reading the flip fraction, each verdict reading the quantity it names), and
a report that survives missing values."""

import copy
import dataclasses
import math

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import linearization as mod


def verdicts(summary: str) -> dict:
  """rule -> outcome ('yes'/'no'/'undecided') from the summary's verdict table."""
  return {r["claim"]: r["holds"] for r in lab.read_verdicts(summary)}


@pytest.mark.slow
def test_tiny_run_and_resume(tmp_path):
  for preset, cfg in mod.PRESETS.items():
    runner.validate_config(cfg)
    assert preset == "tiny" or cfg.num_seeds >= 5
  cfg = mod.PRESETS["tiny"]
  records, summary = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert len(records) == len(mod.points(cfg)) == 2 * (4 + 1 + 1)
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "linearization.png").exists()
  rec = next(r for r in records if r["point"]["scaling"] == "sgd")
  assert len(rec["rel_err"]) == cfg.num_seeds  # per-seed values are kept
  records2, summary2 = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert summary2 == summary and len(records2) == len(records)


CFG = dataclasses.replace(
  mod.PRESETS["quick"],
  ms=(32, 64, 128, 256, 512),
  omegas=(1e-6, 1e-5, 1e-3, 1e-2, 1e-1),
  radii=(0.1, 1.0),
  num_seeds=6,
)


def _records(*, opposite: bool):
  """Synthetic records with the outcome theory predicts (``opposite=False``)
  or its opposite. Per-seed multiplicative noise of +-2% keeps bootstrap
  intervals non-degenerate and far narrower than the margins (0.1-0.15)."""
  rng = np.random.default_rng(0)

  def noisy(v):
    return list(v * np.exp(0.02 * rng.standard_normal(CFG.num_seeds)))

  recs = []
  for m in CFG.ms:
    for w in CFG.omegas:
      if w <= 1e-5:  # no flips: second-order remainder (opposite: grows as ω → 0)
        err, flips = (2.5 * w if not opposite else 1e-4 * w**-0.5), 0.0
      else:
        err, flips = (0.8 * math.sqrt(w) if not opposite else 0.8 * w), w
      if opposite:
        err *= 32.0 / m  # falls like 1/m
      recs.append(
        {
          "point": {"m": m, "scaling": "relative", "size": w},
          "rel_err": noisy(err),
          "flip_fraction": [flips] * CFG.num_seeds,
          "rel_dW": [w] * CFG.num_seeds,
        }
      )
    for r in CFG.radii:
      w = r / math.sqrt(2 * m)
      err = 0.8 * math.sqrt(w) if not opposite else 0.1 * r * m**0.3
      recs.append(
        {
          "point": {"m": m, "scaling": "absolute", "size": r},
          "rel_err": noisy(err),
          "flip_fraction": noisy(w if not opposite else 0.01),
          "rel_dW": [w] * CFG.num_seeds,
        }
      )
    k = -0.5 if not opposite else 0.2
    move = 0.5 * m**-0.5 if not opposite else 0.3
    recs.append(
      {
        "point": {"m": m, "scaling": "sgd"},
        "rel_err": noisy(3 * m**k),
        "random_rel_err": noisy(3 * m**k),
        "flip_fraction": [0.01] * CFG.num_seeds,
        "random_flip_fraction": [0.01] * CFG.num_seeds,
        "norm_dW": noisy(move),
        "norm_dA": noisy(move),
        "rel_dW": noisy(move / m),
        "loss_start": [1.0] * CFG.num_seeds,
        "loss_end": [0.1] * CFG.num_seeds,
        "diverged": [False] * CFG.num_seeds,
      }
    )
  return recs


def test_verdicts_follow_the_records_and_flip(tmp_path):
  real = verdicts(mod.report(CFG, _records(opposite=False), tmp_path))
  opp = verdicts(mod.report(CFG, _records(opposite=True), tmp_path))
  assert set(real) == set(opp) and len(real) == 5 + 4 + 2 * 2 + 3 + 1
  for rule in real:
    assert {real[rule], opp[rule]} == {"yes", "no"}, (rule, real[rule], opp[rule])
  # The theory's direction: the error falls with m under the absolute radius
  # and along SGD's displacement, not at a fixed relative radius.
  assert real["err falls with m: r=1 (absolute)"] == "yes"
  assert real["err falls with m: SGD displacement"] == "yes"
  prediction = "err does not fall with m at a fixed relative radius (module's prediction)"
  assert real[f"{prediction}: ω=0.01 (relative)"] == "yes"


def test_report_survives_missing_values(tmp_path):
  recs = _records(opposite=False)
  recs[0]["rel_err"][0] = None  # one seed non-finite
  recs[1]["rel_err"] = [None] * CFG.num_seeds  # a whole cell
  sgd = next(r for r in recs if r["point"]["scaling"] == "sgd")
  sgd["diverged"][1] = True
  sgd["rel_err"][1] = None
  recs = [r for r in recs if r["point"] != {"m": 64, "scaling": "absolute", "size": 0.1}]
  summary = mod.report(CFG, recs, tmp_path)
  assert "n/a" in summary
  assert "Left out of fits and figures:" in summary
  assert "1 diverged SGD runs" in summary
  assert (tmp_path / "linearization.png").exists()
  # A report over nothing at all still renders.
  assert "## Verdicts" in mod.report(CFG, [], tmp_path)
  # A run of one scaling reports that scaling only.
  only = verdicts(mod.report(dataclasses.replace(CFG, scalings=("absolute",)), recs, tmp_path))
  assert only and all("absolute" in rule for rule in only)


# --------------------------------------------------------------------------
# What each verdict reads


def _by_rule(recs, cfg=CFG):
  return {v.rule: v for v in mod.verdicts(cfg, recs)}


def _scaled(recs, field, factor):
  """A copy of ``recs`` with ``field`` multiplied by ``factor(m, size)``."""
  out = copy.deepcopy(recs)
  for rec in out:
    if rec.get(field) is not None:
      f = factor(rec["point"]["m"], rec["point"].get("size"))
      rec[field] = [v * f for v in rec[field]]
  return out


def _field(rule):
  """The record field a verdict names."""
  if rule.startswith("flip fraction"):
    return "flip_fraction"
  if "random, SGD's size" in rule:
    return "random_rel_err"
  if "moves (W, A)" in rule:
    return "norm_dW"
  return "rel_err"


def _absolute(recs, m, r, field):
  return next(x[field] for x in recs if x["point"] == {"m": m, "scaling": "absolute", "size": r})


def test_flip_rows_read_the_flip_fraction_fit_not_the_error_fit():
  recs = _records(opposite=False)
  v = _by_rule(recs)
  for r in CFG.radii:
    flips = lab.power_law(CFG.ms, [_absolute(recs, m, r, "flip_fraction") for m in CFG.ms])
    err = lab.power_law(CFG.ms, [_absolute(recs, m, r, "rel_err") for m in CFG.ms])
    row = next(x for k, x in v.items() if k.startswith("flip fraction") and f"r={r:g}" in k)
    assert row.measured.startswith(f"slope {flips.fmt()}")
    assert flips.fmt() != err.fmt()  # the records make the two fits differ (-1/2 vs -1/4)
    assert row.holds is True and row.claim is None  # a diagnostic of ours


def test_relative_radius_rows_are_diagnostics_with_the_modules_prediction():
  rows = [v for v in mod.verdicts(CFG, _records(opposite=False)) if "(relative)" in v.rule]
  assert len(rows) == len(CFG.omegas)
  for v in rows:
    assert v.claim is None and v.criterion == f"95% interval above {mod.NO_FALL:g}"


def test_paper_rows_use_the_papers_trend_and_regime():
  vs = mod.verdicts(CFG, _records(opposite=False))
  paper = [v for v in vs if v.about_paper]
  assert {v.claim.location for v in paper} == {"Sec. 4.1", "Sec. 4.3", "Sec. 4.1, Eq. (4)"}
  for v in paper:
    assert v.criterion in ("95% interval below 0", "95% interval above 0"), v
    assert v.regime is not None and v.regime.met
  # A perturbation that does not get closer to the initialization as m grows
  # is outside the regime of Sec. 4.1: its rows are not testable.
  far = _scaled(_records(opposite=False), "rel_dW", lambda m, size: m**0.5)
  for rule, v in _by_rule(far).items():
    if v.about_paper and "absolute" in rule:
      assert v.outcome == lab.report.NOT_TESTABLE, rule


def test_each_verdict_reads_the_quantity_it_names():
  recs = _records(opposite=False)
  base = _by_rule(recs)

  def factor(m, size):  # moves every slope in m and in ω
    return 1.3 * m**0.2 * (size**0.1 if size is not None else 1.0)

  fields = ("rel_err", "flip_fraction", "random_rel_err", "norm_dW", "rel_dW")
  assert {_field(r) for r in base} == set(fields) - {"rel_dW"}
  for field in fields:
    moved = _by_rule(_scaled(recs, field, factor))
    for rule, v in base.items():
      if _field(rule) == field:
        assert moved[rule].measured != v.measured, (field, rule)
      else:
        assert moved[rule].measured == v.measured, (field, rule)
