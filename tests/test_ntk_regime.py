"""The ``ntk_regime`` experiment: a tiny run and resume, and its verdicts
computed from the records (each flips when fed records with the opposite
outcome), including records with missing values."""

import dataclasses

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn.experiments import ntk_regime

TINY = dict(ms=(8,), num_train=4, num_test=4, steps=3, num_seeds=2, L=4)


def test_tiny_run_resume_and_report(tmp_path):
  exp = ntk_regime.EXPERIMENT
  assert exp.name == "ntk_regime"
  for preset in ("quick", "paper"):
    runner.validate_config(exp.presets[preset])
  assert max(exp.presets["paper"].ms) >= 4096 and exp.presets["paper"].num_seeds >= 5
  cfg = dataclasses.replace(exp.presets["quick"], **TINY)
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == 1
  for r in records:
    assert len(r["ntk_distance"]) == cfg.num_seeds
    assert all(v is None or v >= 0 for v in r["gap_inf"])
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  assert (tmp_path / "ntk_regime.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_bad_config():
  with pytest.raises(runner.ConfigError, match="num_seeds"):
    runner.validate_config(dataclasses.replace(ntk_regime.PRESETS["quick"], num_seeds=1))
  with pytest.raises(runner.ConfigError, match="phi"):
    runner.validate_config(dataclasses.replace(ntk_regime.PRESETS["quick"], phi="nope"))


# --------------------------------------------------------------------------
# Verdicts from synthetic records

_MS = (64, 128, 256, 512, 1024)


def _records(exponent: float, gap_at_64: float, seeds: int = 4, none_every: int = 0):
  """Records whose every metric scales like m^exponent (seed-to-seed spread
  +-10%), the gaps starting at ``gap_at_64``; every ``none_every``-th value
  is missing."""
  rng = np.random.default_rng(0)
  out, count = [], 0
  for m in _MS:
    rec = {"key": str(m), "point": {"m": m}, "diverged": 0, "target_rms": 0.7}
    for key, base in (
      ("ntk_distance", 0.4),
      ("kernel_drift", 0.3),
      ("gap_inf", gap_at_64),
      ("gap_emp", gap_at_64),
      ("rel_dW", 0.02),
      ("test_rmse_net", 0.5),
      ("test_rmse_inf", 0.5),
      ("test_rmse_emp", 0.5),
    ):
      vals = []
      for _ in range(seeds):
        count += 1
        v = base * (m / 64) ** exponent * (1 + 0.1 * rng.uniform(-1, 1))
        vals.append(None if none_every and count % none_every == 0 else float(v))
      rec[key] = vals
    out.append(rec)
  return out


def _cfg():
  return dataclasses.replace(ntk_regime.PRESETS["quick"], ms=_MS)


def test_verdicts_hold_for_records_that_approach_the_limit():
  by = {r["point"]["m"]: r for r in _records(-0.5, 0.25)}
  vs = ntk_regime.verdicts(_cfg(), by)
  assert [v.holds for v in vs] == [True] * len(vs), [(v.rule, v.measured, v.holds) for v in vs]
  # the gap 0.25 (m/64)^-1/2 is 0.125 at m = 256 and 0.088 at m = 512
  assert "from m = 512 on" in vs[-2].measured


def test_verdicts_flip_for_records_that_move_away():
  by = {r["point"]["m"]: r for r in _records(+0.5, 0.2)}
  vs = ntk_regime.verdicts(_cfg(), by)
  assert [v.holds for v in vs] == [False] * len(vs), [(v.rule, v.measured, v.holds) for v in vs]


def test_rate_verdicts_flip_on_their_own():
  # Falling, but like m^-0.1: "falls" holds, every rate verdict fails, and a
  # gap starting at 0.05 is below 0.1 from the smallest width on.
  by = {r["point"]["m"]: r for r in _records(-0.1, 0.05)}
  vs = ntk_regime.verdicts(_cfg(), by)
  falls, rates, below = vs[0:8:2], vs[1:8:2], vs[8:]
  assert all(v.holds is True for v in falls)
  assert all(v.holds is False for v in rates), [(v.rule, v.measured) for v in rates]
  assert all(v.holds is True for v in below) and "from m = 64 on" in below[0].measured
  # Falling like m^-1: the bounds ("at least as fast") hold, the exact
  # m^-1/2 rates fail.
  vs = ntk_regime.verdicts(_cfg(), {r["point"]["m"]: r for r in _records(-1.0, 0.2)})
  kinds = [ntk_regime.RATE_KIND[k] for k in ntk_regime.METRICS]
  assert [v.holds for v in vs[1:8:2]] == [k == "at_most" for k in kinds]


def test_first_width_below():
  f = ntk_regime.first_width_below
  assert f((1, 2, 3), [[0.3], [0.05], [0.2]], 0.1) == (None, False)  # rises again
  assert f((1, 2, 3), [[0.3], [0.05], [0.08, None]], 0.1) == (2, True)
  assert f((1, 2), [[None], []], 0.1) == (None, None)


def test_report_survives_missing_metrics(tmp_path):
  cfg = _cfg()
  recs = _records(-0.5, 0.2, none_every=3)
  # a width with every metric missing, and one with the keys absent
  for key in ntk_regime.METRICS:
    recs[0][key] = [None] * 4
  for key in ("gap_emp", "kernel_drift", "rel_dW"):
    del recs[1][key]
  recs[2]["diverged"] = None
  summary = ntk_regime.report(cfg, recs, tmp_path)
  assert "n/a" in summary and "Left out of fits and figures" in summary
  assert (tmp_path / "ntk_regime.png").exists()
  # and with no records at all
  empty = ntk_regime.report(cfg, [], tmp_path)
  assert "undecided" in empty
