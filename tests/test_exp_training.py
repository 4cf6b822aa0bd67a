"""The ``training`` experiment: a tiny run and its resume, verdicts that flip
on opposite synthetic records, and a report that survives missing values."""

import dataclasses
import json
import math

import pytest

from jaxrnn import experiments
from jaxrnn.experiments import training as E

TINY = dict(
  targets=("pow:1", "pow:2"),
  axis_targets=("pow:2",),
  m=16,
  ms=(16,),
  Ns=(8, 16),
  L=4,
  Ls=(4,),
  lams=("1",),
  target_var=0.1,
  steps=4,
  eval_every=2,
  batch_size=2,
  num_seeds=2,
  num_test=8,
  num_eval=8,
  num_probe=4,
  num_floor=400,
  ntk_tile=4,
)


@pytest.mark.slow
def test_tiny_run_writes_everything_and_resumes(tmp_path):
  exp = experiments.get("training")
  cfg = dataclasses.replace(exp.presets["quick"], **TINY)
  records, summary = experiments.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == len(E.points(cfg))
  assert (tmp_path / "training.png").exists() and (tmp_path / "summary.md").exists()
  assert "## Verdicts" in summary and "token-wise floor" in summary
  train = [r for r in records if r["point"]["kind"] == "train"]
  cell = train[0]["models"]["rnn"]["cells"][0]
  assert len(cell["excess"]) == cfg.num_seeds and cell["diverged"] in (0, 1, 2)
  lines = (tmp_path / "results.jsonl").read_text().splitlines()

  def refuse(cfg, point):
    raise AssertionError(f"resume recomputed {point}")

  again = dataclasses.replace(exp, run_point=refuse)
  records2, _ = experiments.run_experiment(again, cfg, tmp_path, preset="quick", progress=False)
  assert len(records2) == len(records)
  assert (tmp_path / "results.jsonl").read_text().splitlines() == lines


# ---------------------------------------------------------------- synthetic records


C_OF = {"pow:1": 4.7, "pow:2": 8.9, "pow:3": 13.1, "pow:4": 17.3, "prod": 8.9}


def _world(holds: bool):
  """Per-seed metrics of a world where Thm. 3.1's reading holds (or its opposite)."""
  sgn = 1 if holds else -1

  def excess(t, m, L, N, lam, seed):
    v = 0.02 * (N / 64) ** (-0.5 * sgn) * (C_OF[t] / 4.7) ** (0.5 * sgn)
    v *= (L / 6) ** (1.0 * sgn) * (m / 64) ** (-0.1 if holds else 0.5)
    if lam == 1.0:
      v *= 3.0
    if lam == "theory":
      v *= 0.5 if holds else 5.0
    return v * math.exp(0.05 * (seed - 1))

  def diag(field, m, seed):
    k = {"rel_dW": -1.0, "rel_dA": -0.5, "flips": -0.5, "lin_gap": -0.5}[field]
    return 0.1 * (m / 64) ** (k if holds else 0.5) * math.exp(0.03 * seed)

  return excess, diag


def _records(cfg, holds: bool, *, drop=()):
  excess, diag = _world(holds)
  seeds = range(cfg.num_seeds)
  recs = []
  for p in E.points(cfg):
    if p["kind"] == "kernels":
      t = p["target"]
      floor = 0.0 if t == "pow:1" else 0.1
      rnn_mse = 2 * excess(t, max(cfg.ms), cfg.L, max(cfg.Ns), cfg.lam, 0)
      big = 10 * rnn_mse if holds else rnn_mse / 10
      by_n = {
        str(n): {
          "ntk_inf": {"excess": big / 2, "mse": big},
          "nngp": {"excess": big / 2, "mse": big},
          "tokenwise": {"excess": big / 2, "mse": big, "bandwidth": 1.0},
        }
        for n in cfg.Ns
      }
      m = dict(
        b=0.8,
        variance=cfg.target_var,
        additive_variance=cfg.target_var - floor,
        floor=floor if holds else rnn_mse / 20,
        floor_se=0.001 * floor if holds else rnn_mse / 1000,
        log10_C_eps=C_OF[t],
        log10_C_s=5.0,
        p=2 if t == "prod" else 1,
        opt=0.005,
        opt_test=0.005,
        sd_f0=2.4,
        kappa_inf=10.5,
        by_N=by_n,
      )
    else:
      t, mm, L = p["target"], p["m"], p["L"]
      models = {}
      for model in ("rnn", "pseudo") if p["pseudo"] else ("rnn",):
        cells = []
        for n, lam in p["runs"]:
          f = 1.0 if model == "rnn" else (1.1 if holds else 3.0)
          ex = [f * excess(t, mm, L, n, lam, s) for s in seeds]
          div = 0
          if lam == "theory" and not holds:
            div = cfg.num_seeds - 1
            ex = [None] * div + ex[div:]
          cells.append(
            {
              "N": n,
              "lam": lam,
              "lam_value": 5e-7 if lam == "theory" else lam,
              "excess": ex,
              "mse": [None if v is None else 2 * v for v in ex],
              "excess_avg": [None if v is None else 3 * v for v in ex],
              "diverged": div,
              "unstable": 0 if holds else 1,
              "curve": [0.5, 0.1, 0.05],
              **{k: [diag(k, mm, s) for s in seeds] for k in E._DIAG if model == "rnn"},
            }
          )
        models[model] = {"kappa_over_m": [12.0] * cfg.num_seeds, "cells": cells}
      if L == cfg.L:
        models["ntk_emp"] = {
          "cells": [
            {"N": n, "lam": cfg.lam, "excess": [0.05] * cfg.num_seeds, "mse": [0.1] * cfg.num_seeds}
            for n in cfg.Ns
          ]
        }
      m = {"models": models}
    if len(recs) in drop:
      continue
    recs.append({"key": json.dumps(p), "point": p, "config_hash": "x", **m})
  return recs


def test_every_verdict_flips_on_opposite_records():
  cfg = E.PRESETS["quick"]
  yes = E.verdicts(cfg, _records(cfg, True))
  no = E.verdicts(cfg, _records(cfg, False))
  assert [v.rule for v in yes] == [v.rule for v in no]
  assert len(yes) >= 15
  for a, b in zip(yes, no):
    assert (a.holds, b.holds) == (True, False), (a.rule, a.measured, b.measured)


def test_report_renders_the_verdicts(tmp_path):
  cfg = E.PRESETS["quick"]
  summary = E.report(cfg, _records(cfg, True), tmp_path)
  assert (tmp_path / "training.png").exists()
  for v in E.verdicts(cfg, _records(cfg, True)):
    assert v.rule in summary
  assert "**yes**" in summary and "**no**" not in summary


def test_report_survives_missing_values(tmp_path):
  cfg = E.PRESETS["quick"]
  recs = _records(cfg, True, drop=(len(E.points(cfg)) - 1,))  # the L-axis cell is gone
  for r in recs:
    if r["point"]["kind"] == "kernels" and r["point"]["target"] == "prod":
      r["floor"] = None  # a stat that came back non-finite
    for model in r.get("models", {}).values():
      for c in model["cells"]:
        c["excess"] = [None] + list(c["excess"][1:])  # one seed non-finite everywhere
  summary = E.report(cfg, recs, tmp_path)
  assert "n/a" in summary
  assert "Left out of fits and figures" in summary
  vs = {v.rule: v for v in E.verdicts(cfg, recs)}
  length = [v for rule, v in vs.items() if "length" in rule]
  assert length and length[0].holds is None  # one L left: undecided, not a number
  prod_floor = [v for rule, v in vs.items() if "every token-wise" in rule and "prod" in rule]
  assert prod_floor[0].holds is None
