"""The ``rerandomization`` experiment: a tiny run, the floor of Δh its
docstring derives, its verdicts on synthetic records of both outcomes, and
missing values."""

import dataclasses
import math

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn.experiments import rerandomization as rr

TINY = dict(ms=(16, 32), num_blocks=(2, 4), L=3, num_seeds=2, num_sequences=2, wbar_max_m=16)


def test_runs_reports_and_resumes(tmp_path):
  exp = rr.EXPERIMENT
  assert exp.name == "rerandomization"
  for preset in ("quick", "paper"):
    runner.validate_config(exp.presets[preset])
  assert exp.presets["paper"].num_seeds >= 5
  cfg = dataclasses.replace(exp.presets["quick"], **TINY)
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == len(rr.points(cfg))
  assert np.asarray(records[0]["2"]["h"]).shape == (2, 3)  # (seeds, L): every seed kept
  assert "## Verdicts" in summary and "Design choices" in summary
  assert (tmp_path / "rerandomization.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="num_blocks"):
    runner.apply_overrides(rr.PRESETS["quick"], ["num_blocks=3"])
  with pytest.raises(runner.ConfigError, match="max_blocks"):
    runner.apply_overrides(rr.PRESETS["quick"], ["max_blocks=0"])


def test_measured_blocks():
  assert rr.measured_blocks(4, 8) == [0, 1, 2, 3]
  assert rr.measured_blocks(64, 4) == [0, 16, 32, 48]


def test_floor_constant():
  # E (relu g - relu g')^2 / E relu(g)^2 for independent standard normals,
  # by Monte Carlo in NumPy (the docstring's 2 (1 - 1/π)); 10^6 draws give a
  # standard error of about 0.003 on 1.36, so 0.02 is a safe margin.
  rng = np.random.default_rng(0)
  g, g2 = rng.standard_normal((2, 1_000_000))
  ratio = np.mean((np.maximum(g, 0) - np.maximum(g2, 0)) ** 2) / np.mean(np.maximum(g, 0) ** 2)
  assert rr.FLOOR**2 == pytest.approx(ratio, abs=0.02)
  assert rr.FLOOR**2 == pytest.approx(2 * (1 - 1 / math.pi))


# --------------------------------------------------------------------------
# Verdicts on synthetic records

GRID = dict(
  ms=(512, 2048, 8192), num_blocks=(2, 8, 32, 128, 512), L=4, num_seeds=5, wbar_max_m=10**6
)


def _records(outcome: str, missing: bool = False):
  """Changes that follow the floor sqrt(2 (1 - 1/π) s/m) with little
  amplification and become small (< 0.1) at the smallest fraction, decoder
  unchanged -- or the opposite on every count."""
  cfg = dataclasses.replace(rr.PRESETS["quick"], **GRID)
  rng = np.random.default_rng(0)
  S, L = cfg.num_seeds, cfg.L

  def noise():
    return np.exp(0.02 * rng.standard_normal(S))

  recs = []
  for m in cfg.ms:
    rec = {"point": {"m": m}}
    for k in cfg.num_blocks:
      if outcome == "paper":
        base = rr.FLOOR * math.sqrt(1 / k)
        h = np.stack([base * np.array([1.0, 1.2, 1.3, 1.3]) * x for x in noise()])
        back = np.stack([0.5 * base * np.ones(L) * x for x in noise()])
        wbar = 0.6 * base * noise()
        after = 1.0
      else:
        base = 0.3 * k**0.3
        h = np.stack([base * np.array([2.0, 3.0, 3.0, 3.0]) * x for x in noise()])
        back = np.stack([base * np.ones(L) * x for x in noise()])
        wbar = base * noise()
        after = 2.0
      before = 0.3 * noise()
      rec[str(k)] = {
        "h": h.tolist(),
        "back": back.tolist(),
        "wbar": wbar.tolist(),
        "inv_err": before.tolist(),
        "inv_err_new": (after * before).tolist(),
        "decoded": (0.1 * noise()).tolist(),
        "h_blockmax": h.mean(axis=1).tolist(),
      }
      if missing:
        rec[str(k)]["h"][0][1] = None
        rec[str(k)]["wbar"][1] = float("nan")
    recs.append(rec)
  return cfg, recs


def test_verdicts_flip_on_opposite_records(tmp_path):
  cfg, good = _records("paper")
  _, bad = _records("opposite")
  vg, vb = rr.verdicts(cfg, good), rr.verdicts(cfg, bad)
  assert len(vg) == len(vb) == 4 + 3 + 2 + 3 + 3 + 1
  for a, b in zip(vg, vb):
    assert a.rule == b.rule
    assert a.holds is True, a
    assert b.holds is False, b
  for recs, absent in ((good, "**no**"), (bad, "**yes**")):
    text = rr.report(cfg, recs, tmp_path)
    assert absent not in text.split("## Verdicts")[1].split("## Reading")[0]


def test_wbar_above_wbar_max_m_is_not_measured(tmp_path):
  cfg, recs = _records("paper")
  cfg = dataclasses.replace(cfg, wbar_max_m=2048)
  v = {x.rule: x for x in rr.verdicts(cfg, recs)}
  assert "ΔWbar shrinks with the block fraction s/m (m=2048)" in v
  assert "not measured" in rr.report(cfg, recs, tmp_path)


def test_report_survives_missing_values(tmp_path):
  cfg, recs = _records("paper", missing=True)
  text = rr.report(cfg, recs[:-1], tmp_path)
  assert "n=4, 1 missing" in text
  # Per (m, k): one seed's Δh (a None at one step) and one ΔWbar (NaN).
  assert "Left out of fits and figures: 20 non-finite per-seed values" in text
  assert (tmp_path / "rerandomization.png").exists()
  assert "No completed points" in rr.report(cfg, [], tmp_path)
