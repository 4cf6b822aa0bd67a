"""The ``existence`` experiment: a tiny run and its resume, the verdicts on
synthetic records of opposite outcomes, and a report with missing values."""

import dataclasses

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn.experiments import existence as ex

TINY = dict(
  phis=("pow:1", "sin:1"), ms=(16, 32), L=4, num_seeds=2, num_test=8, nodes=5, fit_width=32
)


def test_presets_validate():
  for name in ("quick", "paper"):
    cfg = ex.PRESETS[name]
    runner.validate_config(cfg)
    assert cfg.eps_x * cfg.L < 1, name  # Thm. 4.5's regime
  assert ex.PRESETS["paper"].num_seeds >= 5


def test_tiny_run_and_resume(tmp_path):
  cfg = dataclasses.replace(ex.PRESETS["quick"], **TINY)
  records, summary = runner.run_experiment(
    ex.EXPERIMENT, cfg, tmp_path, preset="quick", progress=False
  )
  assert len(records) == len(ex.points(cfg)) == 2
  for rec in records:
    assert set(rec["targets"]) == set(cfg.phis)
    for per_target in rec["targets"].values():
      assert all(len(v) == cfg.num_seeds for v in per_target.values())
      # every seed drew its own network: no two seeds give the same error
      assert len(set(per_target["rel_err"])) == cfg.num_seeds
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  assert (tmp_path / "existence.png").exists()
  records2, summary2 = runner.run_experiment(
    ex.EXPERIMENT, cfg, tmp_path, preset="quick", progress=False
  )
  assert summary2 == summary and len(records2) == len(records)


def _synthetic(cfg, good: bool, seed=0):
  """Records with a clear outcome: ``good`` = error falling as m^-1/2 to 0.8
  at the top width, Lemma 4.2 part 3x the inversion part, max_r |H_r|
  constant; the opposite = error rising as m^0.3 from 1.5, inversion part
  2x the Lemma 4.2 part, max_r |H_r| growing like m."""
  rng = np.random.default_rng(seed)
  m_top = max(cfg.ms)
  records = []
  for m in cfg.ms:
    targets = {}
    for p in cfg.phis:
      noise = 1 + 0.05 * rng.standard_normal(cfg.num_seeds)
      if good:
        err = 0.8 * (m / m_top) ** -0.5 * noise
        l42, inv, size = 0.9 * err, 0.3 * err, 40 * noise
      else:
        err = 1.5 * (m / min(cfg.ms)) ** 0.3 * noise
        l42, inv, size = 0.4 * err, 0.8 * err, 0.3 * m * noise
      targets[p] = {
        "rel_err": list(err),
        "lemma42_part": list(l42),
        "inversion_part": list(inv),
        "fit_part": list(0.5 * l42),
        "average_part": list(0.5 * l42),
        "a_star_m_max": list(2 * size),
        "h_max_used": list(size),
        "h_sup": [10.0] * cfg.num_seeds,
      }
    records.append({"point": {"m": m}, "targets": targets})
  return records


def test_verdicts_flip_on_opposite_records():
  base = dataclasses.replace(
    ex.PRESETS["quick"], phis=("pow:1", "sin:2"), ms=(128, 512, 2048), num_seeds=5
  )
  good_cfg = dataclasses.replace(base, eps_x=0.15, L=5)
  bad_cfg = dataclasses.replace(base, eps_x=0.5, L=5)
  good = ex.verdicts(good_cfg, _synthetic(good_cfg, True))
  bad = ex.verdicts(bad_cfg, _synthetic(bad_cfg, False))
  assert len(good) == len(bad) == 1 + 4 * len(base.phis)
  for g, b in zip(good, bad):
    assert g.holds is True, g
    assert b.holds is False, b


def test_report_with_opposite_records_says_so(tmp_path):
  cfg = dataclasses.replace(ex.PRESETS["quick"], ms=(128, 512, 2048), num_seeds=5, eps_x=0.5)
  text = ex.report(cfg, _synthetic(cfg, False), tmp_path)
  assert "**no**" in text and "**yes**" not in text
  assert "Claims that do not hold at these sizes (13 of 13 rules)" in text
  cfg = dataclasses.replace(cfg, eps_x=0.15)
  text = ex.report(cfg, _synthetic(cfg, True), tmp_path)
  assert "**yes**" in text and "**no**" not in text and "No rule fails" in text


def test_report_survives_missing_values(tmp_path):
  cfg = dataclasses.replace(
    ex.PRESETS["quick"], phis=("pow:1", "sin:2"), ms=(128, 512, 2048), num_seeds=5
  )
  records = _synthetic(cfg, True)
  records = [r for r in records if r["point"]["m"] != 512]  # a width without a record
  top = records[-1]["targets"]
  top["pow:1"]["rel_err"] = [None] * cfg.num_seeds  # every seed diverged
  top["sin:2"]["rel_err"][0] = None  # one seed
  top["sin:2"]["h_max_used"][1] = float("nan")
  del top["sin:2"]["inversion_part"]  # a metric absent
  text = ex.report(cfg, records, tmp_path)
  assert "n/a" in text
  assert "Left out of fits and figures: 1 widths without a record" in text
  # 5 + 1 missing errors, 1 non-finite size, 5 absent inversion parts
  assert "12 missing or non-finite per-seed values" in text
  by_rule = {v.rule: v for v in ex.verdicts(cfg, records)}
  assert by_rule["`pow:1`: the error is below the trivial predictor's 1 at m = 2048"].holds is None
  assert by_rule["`sin:2`: the error is below the trivial predictor's 1 at m = 2048"].holds is True
  limits = (
    "`sin:2`: Lemma 4.2 (fit + m-neuron average), not the inversion, limits the error at m = 2048"
  )
  assert by_rule[limits].holds is None
  # two widths left: slopes still computed from the finite values
  assert by_rule["`sin:2`: the error falls with m (Thm. 4.3)"].holds is True
  assert (tmp_path / "existence.png").exists()


def test_seed_chunks_bound_the_batch():
  assert ex.seed_chunk(2048, 6) == 6
  assert ex.seed_chunk(8192, 6) == 2  # 2 * 8192^2 = 2^27
  assert ex.seed_chunk(16384, 6) == 1
  assert ex.seed_chunk(8192, 5) == 1  # equal chunks only


def test_rho_slope():
  assert ex.rho_slope([128, 2048]) == pytest.approx(np.log(np.log(2048) / np.log(128)) / np.log(16))
  assert np.isnan(ex.rho_slope([64]))
