"""Experiment ``random_features``: a tiny run and its resume, verdicts that
flip with the records (the paper's order 1/√m as a bounded √m·rms, each
verdict reading the quantity it names), and a report that survives missing
values."""

import copy
import dataclasses
import math

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import random_features as mod


def verdicts(summary: str) -> dict:
  """rule -> outcome ('yes'/'no'/'undecided') from the summary's verdict table."""
  return {r["claim"]: r["holds"] for r in lab.read_verdicts(summary)}


@pytest.mark.slow
def test_tiny_run_and_resume(tmp_path):
  for cfg in mod.PRESETS.values():
    runner.validate_config(cfg)
  assert mod.PRESETS["paper"].num_seeds >= 5
  cfg = mod.PRESETS["tiny"]
  records, summary = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert len(records) == len(cfg.ms) and len(records[0]["rms"]) == cfg.num_seeds  # per seed
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "random_features.png").exists()
  records2, summary2 = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert summary2 == summary and len(records2) == len(records)


CFG = dataclasses.replace(mod.PRESETS["quick"], num_seeds=8)


def _records(*, opposite: bool):
  """The measured outcome (``opposite=False``: rate m^-1/2, constant ~1.6,
  ~45% within (8), our sigma right, paper gain = m) or its opposite (rate
  m^-0.3, so that √m·rms grows like m^0.2; 99% within (8); ...). Per-seed
  noise of +-2% keeps intervals far inside the margins (0.05-0.1)."""
  rng = np.random.default_rng(1)

  def noisy(v):
    return list(v * np.exp(0.02 * rng.standard_normal(CFG.num_seeds)))

  recs = []
  for m in CFG.ms:
    rms = 1.6 / math.sqrt(m) if not opposite else 0.5 * m**-0.3
    recs.append(
      {
        "point": {"m": m},
        "rms": noisy(rms),
        "mean_abs": noisy(0.8 * rms),
        "p95": noisy(2 * rms),
        "frac_within_bound": [0.45 if not opposite else 0.99] * CFG.num_seeds,
        "z_rms": noisy(1.0 if not opposite else 2.0),
        "paper_gain": noisy(m if not opposite else 2.0),
      }
    )
  return recs


def test_verdicts_follow_the_records_and_flip(tmp_path):
  real = verdicts(mod.report(CFG, _records(opposite=False), tmp_path))
  opp = verdicts(mod.report(CFG, _records(opposite=True), tmp_path))
  assert set(real) == set(opp) and len(real) == 6
  for rule in real:
    assert {real[rule], opp[rule]} == {"yes", "no"}, (rule, real[rule], opp[rule])
  assert real["rate: rms error ∝ m^-1/2 exactly (as our σ predicts)"] == "yes"
  assert real["the paper's p = 2Tv is m times too large: its gain on v^T x is m"] == "yes"


def test_report_survives_missing_values(tmp_path):
  recs = _records(opposite=False)
  recs[0]["rms"][0] = None
  recs[1]["z_rms"] = [None] * CFG.num_seeds
  recs[2]["paper_gain"] = None
  recs[4]["paper_gain"][1] = float("nan")  # read by the table only
  del recs[3]
  summary = mod.report(CFG, recs, tmp_path)
  assert "n/a" in summary
  left_out = 1 + CFG.num_seeds + 1  # every non-finite per-seed value, whoever reads it
  assert f"Left out of fits and figures: {left_out} non-finite per-seed values." in summary
  assert (tmp_path / "random_features.png").exists()
  assert "## Verdicts" in mod.report(CFG, [], tmp_path)


BOUND = "error of the order 1/√m: √m·rms stays bounded as m grows"


def test_the_order_claim_holds_with_a_constant_above_one():
  # √m·rms ≈ 1.6 at every m: the order 1/√m holds although the literal
  # constant 1 of (8) does not; a growing √m·rms (rate m^-0.3) fails it.
  vs = {v.rule: v for v in mod.verdicts(CFG, _records(opposite=False))}
  bound = vs[BOUND]
  assert bound.claim == lab.claims.CLAIMS["lemma4.4-rate"] and bound.regime.met
  assert bound.outcome == "yes"
  assert "√m·rms 1.5" in bound.measured or "√m·rms 1.6" in bound.measured
  growing = {v.rule: v for v in mod.verdicts(CFG, _records(opposite=True))}
  assert growing[BOUND].outcome == "no"
  # The only paper row is the order; no paper row decides on the constant 1.
  paper = [v for v in vs.values() if v.about_paper]
  assert [v.rule for v in paper] == [BOUND]
  assert paper[0].criterion == f"95% interval below {mod.BOUND_GROWTH:g}"


#: The record field each verdict reads (by a word of its rule).
READS = {
  "√m·rms": "rms",
  "rate": "rms",
  "(8)": "frac_within_bound",
  "std": "z_rms",
  "gain": "paper_gain",
}


def _field(rule):
  return next(f for word, f in READS.items() if word in rule)


def test_each_verdict_reads_the_quantity_it_names():
  recs = _records(opposite=False)
  base = {v.rule: v for v in mod.verdicts(CFG, recs)}
  assert {_field(r) for r in base} == set(READS.values())
  for field in set(READS.values()):
    moved_recs = copy.deepcopy(recs)
    for rec in moved_recs:  # a factor that changes values and slopes in m
      rec[field] = [min(v * 0.9 * rec["point"]["m"] ** 0.1, 0.999) for v in rec[field]]
    moved = {v.rule: v for v in mod.verdicts(CFG, moved_recs)}
    for rule, v in base.items():
      if _field(rule) == field:
        assert moved[rule].measured != v.measured, (field, rule)
      else:
        assert moved[rule].measured == v.measured, (field, rule)
