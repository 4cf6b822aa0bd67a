"""The ``rerandomization`` experiment: a tiny run, the floor of Δh and its
sqrt(l) growth that the docstring derives, its verdicts on synthetic records
of both outcomes (paper claims with the paper's rule only, fits on small
blocks, each verdict reading the quantity it names), and missing values."""

import copy
import dataclasses
import math

import numpy as np
import pytest

from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import rerandomization as rr


@pytest.mark.slow
def test_runs_reports_and_resumes(tmp_path):
  exp = rr.EXPERIMENT
  assert exp.name == "rerandomization"
  for cfg in exp.presets.values():
    runner.validate_config(cfg)
  assert exp.presets["paper"].num_seeds >= 5
  cfg = exp.presets["tiny"]
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert len(records) == len(rr.points(cfg))
  # (seeds, L): every seed kept
  assert np.asarray(records[0]["2"]["h"]).shape == (cfg.num_seeds, cfg.L)
  assert "## Verdicts" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "rerandomization.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="num_blocks"):
    runner.apply_overrides(rr.PRESETS["quick"], ["num_blocks=3"])
  with pytest.raises(runner.ConfigError, match="max_blocks"):
    runner.apply_overrides(rr.PRESETS["quick"], ["max_blocks=0"])
  with pytest.raises(runner.ConfigError, match="min_fit_blocks"):
    runner.apply_overrides(rr.PRESETS["quick"], ["min_fit_blocks=0"])


def test_predicted_growth_is_sqrt_l_for_small_blocks_and_saturates_for_large():
  # The docstring's (1 - (1 - f)^l) / f: 1 at l = 1, l for f -> 0, 1/f as l -> oo.
  assert rr.predicted_growth(2, 1) == pytest.approx(1.0)
  assert rr.predicted_growth(10**6, 9) == pytest.approx(3.0, rel=1e-4)
  assert rr.predicted_growth(2, 60) == pytest.approx(math.sqrt(2.0))
  assert rr.predicted_growth(8, 5) < math.sqrt(5)


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
  """Changes that follow the floor sqrt(2 (1 - 1/π) s/m) times the
  norm-preserving growth along the sequence (``rr.predicted_growth``) and
  fall with the block fraction, decoder unchanged -- or the opposite on every
  count (changes that grow with k and m, flat in l, decoder error doubled)."""
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
        growth = np.array([rr.predicted_growth(k, l) for l in range(1, L + 1)])
        h = np.stack([base * growth * x for x in noise()])
        back = np.stack([0.5 * base * np.ones(L) * x for x in noise()])
        wbar = 0.6 * base * noise()
        after = 1.0
      else:
        base = 0.3 * k**0.3
        h = np.stack([3.0 * base * np.ones(L) * x for x in noise()])
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
        rec[str(k)]["decoded"][2] = float("nan")
    recs.append(rec)
  return cfg, recs


def test_verdicts_flip_on_opposite_records(tmp_path):
  cfg, good = _records("paper")
  _, bad = _records("opposite")
  vg, vb = rr.verdicts(cfg, good), rr.verdicts(cfg, bad)
  assert len(vg) == len(vb) == 3 + 3 + 4
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
  assert "ΔWbar falls with the block fraction s/m (small blocks k ≥ 8, m=2048)" in v
  assert "not measured" in rr.report(cfg, recs, tmp_path)


def test_report_survives_missing_values(tmp_path):
  cfg, recs = _records("paper", missing=True)
  text = rr.report(cfg, recs[:-1], tmp_path)
  assert "n=4, 1 missing" in text
  # Per (m, k): one seed's Δh (a None at one step), one ΔWbar and one Δx̂ (NaN).
  assert "Left out of fits and figures: 30 non-finite per-seed values" in text
  assert (tmp_path / "rerandomization.png").exists()
  assert "No completed points" in rr.report(cfg, [], tmp_path)


# --------------------------------------------------------------------------
# What each verdict reads


def _by_rule(cfg, recs):
  return {v.rule: v for v in rr.verdicts(cfg, recs)}


def _scaled(recs, field, factor):
  """A copy of ``recs`` with ``field`` multiplied by ``factor(m, k, l)``
  (l = None for per-seed scalars)."""
  out = copy.deepcopy(recs)
  for rec in out:
    m = rec["point"]["m"]
    for key, cell in rec.items():
      if key == "point":
        continue
      k = int(key)
      vals = np.asarray(cell[field], float)
      if vals.ndim == 2:
        f = np.array([factor(m, k, l) for l in range(1, vals.shape[1] + 1)])
        cell[field] = (vals * f).tolist()
      else:
        cell[field] = (vals * factor(m, k, None)).tolist()
  return out


#: The record field each verdict names (by a word of its rule).
READS = {"Δh": "h", "ΔBack": "back", "ΔWbar": "wbar", "decoder": "inv_err_new"}


def _field(rule):
  return next(f for word, f in READS.items() if word in rule)


def test_each_verdict_reads_the_quantity_it_names():
  cfg, recs = _records("paper")
  base = _by_rule(cfg, recs)
  assert {_field(r) for r in base} == set(READS.values())

  def factor(m, k, l):  # moves every slope (in s/m, in m, in l), the floor and ratios
    return 1.3 * k**0.2 * m**0.1 * (l**0.3 if l is not None else 1.0)

  for field in READS.values():
    moved = _by_rule(cfg, _scaled(recs, field, factor))
    for rule, v in base.items():
      if _field(rule) == field:
        assert moved[rule].measured != v.measured, (field, rule)
      else:
        assert moved[rule].measured == v.measured, (field, rule)


def test_fits_against_the_block_fraction_use_the_small_blocks_only():
  cfg, recs = _records("paper")
  small = rr.fit_blocks(cfg)
  assert small == [k for k in cfg.num_blocks if k >= cfg.min_fit_blocks] and 2 not in small
  base = _by_rule(cfg, recs)
  fits = [r for r in base if "block fraction" in r or "sqrt(s/m)" in r]
  assert len(fits) == 4
  # Changing the large blocks (k < min_fit_blocks) leaves the Δh fits alone ...
  big = _by_rule(cfg, _scaled(recs, "h", lambda m, k, l: 0.1 if k < cfg.min_fit_blocks else 1.0))
  smallest = _by_rule(
    cfg, _scaled(recs, "h", lambda m, k, l: 2.0 if k == max(cfg.num_blocks) else 1.0)
  )
  for rule in fits:
    if rule.startswith("Δh"):
      assert big[rule].measured == base[rule].measured, rule
      # ... while the small blocks move them.
      assert smallest[rule].measured != base[rule].measured, rule
  # The measured slope is the power law on the small blocks of the per-seed mean over l.
  rec = next(r for r in recs if r["point"]["m"] == cfg.ms[-1])
  per_k = [[float(np.mean(row)) for row in rec[str(k)]["h"]] for k in small]
  k = lab.power_law([1 / k for k in small], per_k)
  rule = next(r for r in fits if r.startswith("Δh falls with the block fraction"))
  assert base[rule].measured.startswith(f"slope {k.fmt()}")


def test_paper_claims_use_only_the_papers_rule():
  # Sec. 4.2 says the quantities "don't change a lot" and gives no number:
  # a paper row may only ask whether a change falls (slope interval vs 0).
  cfg, recs = _records("paper")
  paper = [v for v in rr.verdicts(cfg, recs) if v.about_paper]
  assert len(paper) == 6
  for v in paper:
    assert v.claim == lab.claims.CLAIMS["rerand"] and v.regime is not None
    assert v.criterion in ("95% interval above 0", "95% interval below 0"), v
  # Outside Thm. 4.5's regime (eps_x >= 1/L) the claims are not testable.
  out = rr.verdicts(dataclasses.replace(cfg, eps_x=0.5), recs)
  assert {v.outcome for v in out if v.about_paper} == {lab.report.NOT_TESTABLE}


def test_sqrt_l_verdict_reads_the_steps_before_the_last_bias_token():
  cfg, recs = _records("paper")
  base = _by_rule(cfg, recs)
  rule = next(r for r in base if "sqrt(l)" in r)
  assert base[rule].holds is True
  # The last step (bias token x^(L)) is not part of the fit ...
  last = _by_rule(cfg, _scaled(recs, "h", lambda m, k, l: 0.5 if l == cfg.L else 1.0))
  assert last[rule].measured == base[rule].measured
  # ... the others are: Δh^(l) flat in l fails it.
  flat = _by_rule(
    cfg, _scaled(recs, "h", lambda m, k, l: 1.0 / rr.predicted_growth(k, l) if l else 1.0)
  )
  assert flat[rule].holds is False


def test_fewer_than_two_small_blocks_leave_the_fits_undecided():
  cfg, recs = _records("paper")
  cfg = dataclasses.replace(cfg, min_fit_blocks=max(cfg.num_blocks))  # one small block
  fits = [v for v in rr.verdicts(cfg, recs) if "block fraction" in v.rule or "on small" in v.rule]
  assert len(fits) == 4 and all(v.holds is None for v in fits)
