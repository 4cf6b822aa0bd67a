"""Experiment ``languages``: a tiny run and its resume, verdicts that flip
with the records, the growth rule, and a report that survives diverged seeds
and missing values."""

import dataclasses
import math

import numpy as np

from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import languages as mod


def verdicts(summary: str) -> dict:
  """rule -> outcome ('yes'/'no'/'undecided') from the summary's verdict table."""
  return {r["claim"]: r["holds"] for r in lab.read_verdicts(summary)}


TINY = dict(
  languages=("tomita1", "one_one"),
  optimizers=("rmsprop",),
  train_max_len=5,
  test_bin_edges=(7,),
  n_test=16,
  m=16,
  steps=20,
  batch_size=8,
  num_seeds=2,
  complexity_lengths=(4, 8, 16),
  additive_lengths=(2, 3),
  additive_n=3,
)


def test_tiny_run_and_resume(tmp_path):
  for preset in ("quick", "paper"):
    runner.validate_config(mod.PRESETS[preset])
  assert mod.PRESETS["paper"].num_seeds >= 5
  cfg = dataclasses.replace(mod.PRESETS["quick"], **TINY)
  records, summary = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="quick", progress=False
  )
  assert len(records) == 3
  assert "| tomita1 |" in summary and "| one_one |" in summary
  assert "(2 of 2 seeds" in summary  # every cell says how many seeds it averages
  assert "## Verdicts" in summary and "Design choices" in summary
  assert (tmp_path / "languages.png").exists() and (tmp_path / "complexity.png").exists()
  rec = next(r for r in records if r["point"].get("language") == "tomita1")
  assert np.array(rec["balanced_acc"]).shape == (2, 2)
  records2, summary2 = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="quick", progress=False
  )
  assert summary2 == summary and len(records2) == len(records)


def test_growth_rule_separates_powers_from_faster_growth():
  ns = [4, 8, 16, 32, 64, 128, 256]
  poly = [4 + 30 * math.log10(n) for n in ns]  # 10^4 n^30: a polynomial of degree 30
  sub_exp = [1e4 * math.sqrt(n) / math.log(10) for n in ns]  # exp(10^4 sqrt(n))
  assert mod.growth_verdict("p", ns, poly).holds is True
  assert mod.growth_verdict("e", ns, sub_exp).holds is False
  assert mod.growth_verdict("x", ns[:2], poly[:2]).holds is None  # too few lengths
  assert mod.growth_verdict("x", ns, [None] * len(ns)).holds is None


CFG = dataclasses.replace(
  mod.PRESETS["quick"], languages=("one_one", "parity", "contains:0110", "tomita1"), num_seeds=3
)
PAT = "contains:0110"


def _records(*, opposite: bool):
  """Expressibility and training records with the outcome measured at quick
  scale (D_L1 and the pattern polynomial, PARITY faster; the additive
  optimum 1 - 2^-n with uniform error 1/2; every language learned) or its
  opposite."""
  ns = list(CFG.complexity_lengths)

  def poly(n):
    return 4 + 2 * math.log10(n)

  def fast(n):
    return 1e4 * math.sqrt(n) / math.log(10)

  kinds = {"one_one": poly, "parity": fast, PAT: poly}
  if opposite:
    kinds = {"one_one": fast, "parity": poly, PAT: fast}
  cx = {
    name: {key: [f(n) for n in ns] for key in ("Cs", "Ceps", "Ceps_L")} for name, f in kinds.items()
  }
  alens = list(CFG.additive_lengths)
  ex = {
    "point": {"kind": "expressibility"},
    "complexity_log10": cx,
    "complexity_R": 2.0,
    "pattern": PAT,
    "additive_one_one_acc": [1.0 if opposite else 1 - 2.0**-n for n in alens],
    "additive_one_one_balanced": [0.9] * len(alens),
    "additive_one_one_exact": True,
    "additive_one_one_sup_error": [0.0 if opposite else 0.5] * len(alens),
    "additive_per_language": {n: {"balanced_acc": 0.8, "exact": True} for n in CFG.languages},
  }
  acc = 0.6 if opposite else 1.0
  recs = [ex]
  for name in CFG.languages:
    for opt in CFG.optimizers:
      recs.append(
        {
          "point": {"kind": "train", "language": name, "optimizer": opt},
          "bins": ["1-10 (held out)", "11-15", "16-20"],
          "balanced_acc": [[acc, acc, acc]] * CFG.num_seeds,
          "diverged": 0,
          "diverged_per_seed": [False] * CFG.num_seeds,
          "dfa_states": 2,
        }
      )
  return recs


def test_verdicts_follow_the_records_and_flip(tmp_path):
  real = verdicts(mod.report(CFG, _records(opposite=False), tmp_path))
  opp = verdicts(mod.report(CFG, _records(opposite=True), tmp_path))
  assert set(real) == set(opp)
  assert len(real) == 2 * (3 + 2) + 9 + 4
  for rule in real:
    assert {real[rule], opp[rule]} == {"yes", "no"}, (rule, real[rule], opp[rule])
  assert real["PARITY: C_ε(Φ, R=1/ε_x) grows polynomially in n"] == "no"
  assert real["the additive class's best uniform error on D_L1 is 1/2"] == "yes"


def test_report_shows_diverged_seeds_and_survives_missing_values(tmp_path):
  recs = _records(opposite=False)
  par = next(r for r in recs if r["point"].get("language") == "parity")
  par["balanced_acc"] = [None, [0.9, 0.8, None], [1.0, 1.0, 1.0]]
  par["diverged_per_seed"] = [True, False, False]
  one = next(r for r in recs if r["point"].get("language") == "one_one")
  one["balanced_acc"] = [None] * CFG.num_seeds
  one["diverged_per_seed"] = [True] * CFG.num_seeds
  recs[0]["complexity_log10"]["parity"]["Cs"] = [None] * len(CFG.complexity_lengths)
  summary = mod.report(CFG, recs, tmp_path)
  assert "0.950 ± 0.050 (2 of 3 seeds, 1 diverged)" in summary
  assert "n/a (0 of 3 seeds, 3 diverged)" in summary
  assert "Left out of fits and figures: 4 diverged training runs (seeds)" in summary
  v = verdicts(summary)
  assert v["rmsprop: the RNN learns one_one (held-out)"] == "undecided"
  assert v["PARITY: C_s(Φ, R=1/ε_x) grows polynomially in n"] == "undecided"
  assert (tmp_path / "languages.png").exists()
