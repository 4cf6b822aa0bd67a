"""Experiment ``backward_correlation``: the measure against NumPy, a tiny run
and its resume, verdicts that flip with the records (the paper's statement
as "falls with m", our rates as diagnostics, each verdict reading the
quantity it names), and a report that survives missing values."""

import copy
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import backward_correlation as mod
from tests import np_reference as ref


def verdicts(summary: str) -> dict:
  """rule -> outcome ('yes'/'no'/'undecided') from the summary's verdict table."""
  return {r["claim"]: r["holds"] for r in lab.read_verdicts(summary)}


def test_backward_correlations_match_numpy():
  m, d, L, k = 12, 3, 4, 3
  rng = np.random.default_rng(0)
  W, A = rng.normal(size=(m, m)) * np.sqrt(2 / m), rng.normal(size=(m, d)) * np.sqrt(2 / m)
  B = rng.normal(size=(k, m))
  xs = rng.normal(size=(L, d))
  ref1, ref3 = [], []
  for bk in ref.back_matrices(W, A, B, xs):  # Back_{i->L}, i = 1..L
    ref1.append(abs(B[0] @ bk[0]) / (np.linalg.norm(B[0]) * np.linalg.norm(bk[0])))
    ref3.append(abs(np.sum(B * bk)) / (np.linalg.norm(B) * np.linalg.norm(bk)))
  with jax.enable_x64(True):
    p = jaxrnn.RNNParams(*map(jnp.asarray, (W, A, B)))
    out = jaxrnn.backward_correlations(p, jnp.asarray(xs), (1, 3))
  np.testing.assert_allclose(np.asarray(out["frob"][0]), ref1, rtol=1e-10)
  np.testing.assert_allclose(np.asarray(out["frob"][1]), ref3, rtol=1e-10)
  assert float(out["frob"][1][-1]) == pytest.approx(1.0)


@pytest.mark.slow
def test_tiny_run_and_resume(tmp_path):
  for cfg in mod.PRESETS.values():
    runner.validate_config(cfg)
  assert mod.PRESETS["paper"].num_seeds >= 5
  cfg = mod.PRESETS["tiny"]
  records, summary = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert len(records) == 2
  assert np.asarray(records[0]["2"]["corr"]).shape == (2, 4)  # per seed and i
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "backward_correlation.png").exists()
  records2, summary2 = runner.run_experiment(
    mod.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  assert summary2 == summary and len(records2) == len(records)


CFG = dataclasses.replace(mod.PRESETS["quick"], d_outs=(1, 4, 16), num_seeds=8)


def _records(*, opposite: bool):
  """Theory's outcome (corr = 0.8 / sqrt(m d_out) at every lag) or its
  opposite (corr grows with m and the lag, flat in d_out). +-2% noise per
  seed and lag keeps intervals far inside the margins (0.1)."""
  rng = np.random.default_rng(2)
  L, recs = CFG.L, []
  lags = np.arange(L - 1, -1, -1)  # index i-1 -> lag L - i
  for m in CFG.ms:
    rec = {"point": {"m": m}}
    for k in CFG.d_outs:
      if not opposite:
        base = 0.8 / np.sqrt(m * k) * np.ones(L)
      else:
        base = 0.01 * m**0.2 * np.maximum(lags, 1) ** 0.5
      corr = base * np.exp(0.02 * rng.standard_normal((CFG.num_seeds, L)))
      corr[:, -1] = 1.0
      rec[str(k)] = {
        "corr": corr.tolist(),
        "corr_rows": corr.tolist(),
        "corr_early": corr[:, :-1].mean(axis=1).tolist(),
      }
    recs.append(rec)
  return recs


def test_verdicts_follow_the_records_and_flip(tmp_path):
  real = verdicts(mod.report(CFG, _records(opposite=False), tmp_path))
  opp = verdicts(mod.report(CFG, _records(opposite=True), tmp_path))
  assert set(real) == set(opp) and len(real) == 4 * 3 + 1
  for rule in real:
    assert {real[rule], opp[rule]} == {"yes", "no"}, (rule, real[rule], opp[rule])
  assert real["d_out=1: corr (i<L) ∝ m^-1/2"] == "yes"


def test_report_survives_missing_values(tmp_path):
  recs = _records(opposite=False)
  recs[0]["1"]["corr_early"][0] = None
  recs[0]["1"]["corr"][0] = None
  recs[1]["4"]["corr"][2][3] = None
  del recs[2]["16"]
  summary = mod.report(CFG, recs, tmp_path)
  assert "1 non-finite per-seed means over i<L" in summary
  assert f"{CFG.L - 1 + 1} non-finite per-seed, per-lag values" in summary
  assert (tmp_path / "backward_correlation.png").exists()
  assert "## Verdicts" in mod.report(CFG, [], tmp_path)


def test_the_papers_statement_is_tested_as_falling_with_m():
  vs = mod.verdicts(CFG, _records(opposite=False))
  paper = [v for v in vs if v.about_paper]
  assert len(paper) == len(CFG.d_outs)
  for v in paper:
    assert v.claim == lab.claims.CLAIMS["lemma4.2-back"] and v.regime.met
    assert v.criterion == "95% interval below 0" and v.outcome == "yes"
  # The rates (m^-1/2, d_out^-1/2, bounded √m·corr, flat in the lag) are ours.
  assert all(v.claim is None for v in vs if v not in paper)


def _reads(rule):
  """The record fields (of which d_out) a verdict reads."""
  if rule.startswith("Frobenius"):
    # d_out = 1, 4, 16 are equally spaced in log: the least-squares slope
    # does not depend on the middle one.
    return {("corr_early", CFG.d_outs[0]), ("corr_early", CFG.d_outs[-1])}
  k = int(rule.split(":")[0].removeprefix("d_out="))
  if "lag" in rule:  # per-lag values, normalized by the width's median over i<L
    return {("corr", k), ("corr_early", k)}
  return {("corr_early", k)}


def test_each_verdict_reads_the_quantity_it_names():
  recs = _records(opposite=False)
  base = {v.rule: v for v in mod.verdicts(CFG, recs)}
  for field in ("corr_early", "corr"):
    for k in CFG.d_outs:
      moved_recs = copy.deepcopy(recs)
      for rec in moved_recs:
        m, cell = rec["point"]["m"], rec[str(k)]
        if field == "corr_early":
          cell[field] = [v * m**0.2 * (1 + 0.1 * j) for j, v in enumerate(cell[field])]
        else:  # grows with the lag L - i (index i - 1)
          cell[field] = [[v * (CFG.L - i) ** 0.3 for i, v in enumerate(row)] for row in cell[field]]
      moved = {v.rule: v for v in mod.verdicts(CFG, moved_recs)}
      for rule, v in base.items():
        if (field, k) in _reads(rule):
          assert moved[rule].measured != v.measured, (field, k, rule)
        else:
          assert moved[rule].measured == v.measured, (field, k, rule)
