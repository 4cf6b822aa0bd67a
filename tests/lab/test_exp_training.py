"""The ``training`` experiment: a tiny run and its resume (steps from the
measured kernel, inside the stability limit); Thm. 3.1's cell with the
theorem's eta ∝ 1/(lambda m), outside its regime; verdicts that flip on
opposite synthetic records, that carry a claim and a regime when they test
the paper, and that read the quantity they name; a report that survives
missing values."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import experiments, lab
from jaxrnn.experiments import training as E


@pytest.mark.slow
def test_tiny_run_writes_everything_and_resumes(tmp_path):
  exp = experiments.get("training")
  cfg = exp.presets["tiny"]
  records, summary = experiments.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert len(records) == len(E.points(cfg))
  assert (tmp_path / "training.png").exists() and (tmp_path / "summary.md").exists()
  assert "## Verdicts" in summary and "token-wise floor" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  train = [r for r in records if r["point"]["kind"] == "train"]
  cell = train[0]["models"]["rnn"]["cells"][0]
  assert len(cell["excess"]) == cfg.num_seeds and cell["diverged"] in (0, 1, 2)
  # every run records its step against the measured kernel, inside the limit
  cells = [c for r in train for mod in r["models"].values() for c in mod["cells"] if "eta" in c]
  assert cells and all(len(c["step_ratio"]) == cfg.num_seeds for c in cells)
  assert all(0 < v < 2 for c in cells for v in c["step_ratio"])
  theory = [c for c in cells if c["lam"] == "theory"]
  assert theory and all(
    math.isclose(v, cfg.lr * c["lam_value"], rel_tol=1e-3) for c in theory for v in c["step_ratio"]
  )
  assert all(len(c["plateau"]) == cfg.num_seeds for c in cells)
  lines = (tmp_path / "results.jsonl").read_text().splitlines()

  def refuse(cfg, point):
    raise AssertionError(f"resume recomputed {point}")

  again = dataclasses.replace(exp, run_point=refuse)
  records2, _ = experiments.run_experiment(again, cfg, tmp_path, preset="tiny", progress=False)
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
              "step_ratio": [(5e-7 if lam == "theory" else 1.0) * (1 if holds else 3)] * len(ex),
              "eta": [0.01] * len(ex),
              "plateau": [holds] * len(ex),
              "loss_drop": [0.3 if holds else 1.3] * len(ex),
              "steps_scaled": 1e12 if lam == "theory" else None,
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
  pts = E.points(cfg)
  (l_axis,) = [i for i, p in enumerate(pts) if p.get("L", cfg.L) != cfg.L]
  recs = _records(cfg, True, drop=(l_axis,))  # the L-axis cell is gone
  for r in recs:
    if r["point"]["kind"] == "kernels" and r["point"]["target"] == "prod":
      r["floor"] = None  # a stat that came back non-finite
    elif r["point"]["kind"] == "kernels":
      r["floor_se"] = None  # a floor without its standard error
    for model in r.get("models", {}).values():
      for c in model["cells"]:
        c["excess"] = [None] + list(c["excess"][1:])  # one seed non-finite everywhere
  summary = E.report(cfg, recs, tmp_path)
  assert "n/a" in summary and " ± " not in summary.split("Token-wise floor")[0]
  assert "Left out of fits and figures" in summary
  vs = {v.rule: v for v in E.verdicts(cfg, recs)}
  length = [v for rule, v in vs.items() if "length" in rule]
  assert length and length[0].holds is None  # one L left: undecided, not a number
  prod_floor = [v for rule, v in vs.items() if "every token-wise" in rule and "prod" in rule]
  assert prod_floor[0].holds is None


# ---------------------------------------------------------------- the step rule


@pytest.mark.slow
def test_theory_cell_step_scales_as_one_over_lambda_and_others_as_lambda_squared():
  """Thm. 3.1's cell: eta = lr / (lambda kappa) ∝ 1/(lambda m), so
  eta*sharpness = lr*lambda (stable); not lr / (lambda^2 max Theta), which
  diverged. Other cells: eta*sharpness = lr. Read through ``per_seed``."""
  k = jax.random.split(jax.random.key(0), 2)
  seq = lambda kk: jaxrnn.random_normalized_sequence(kk, 4, 4, 0.1)
  xs = jax.vmap(seq)(jax.random.split(k[1], 8))
  ys = xs[:, 1, :1]
  lams = jnp.asarray([1e-2, 1e-4, 1e-2, 1e-4])
  theory = jnp.asarray([True, True, False, False])
  out = E.per_seed(
    k[0],
    xs,
    ys,
    xs,
    ys,
    xs,
    xs[:4],
    jnp.full(4, 8, jnp.int32),
    lams,
    theory,
    jnp.ones(4, bool),
    jnp.asarray(0.5),
    m=16,
    model="pseudo",
    steps=2,
    eval_every=1,
    batch_size=4,
  )
  eta, ratio = np.asarray(out["eta"]), np.asarray(out["step_ratio"])
  kappa = float(out["kappa"])
  np.testing.assert_allclose(eta[:2] * np.asarray(lams[:2]), 0.5 / kappa, rtol=1e-5)
  np.testing.assert_allclose(eta[2:] * np.asarray(lams[2:]) ** 2, 0.5 / kappa, rtol=1e-5)
  np.testing.assert_allclose(ratio, [0.5e-2, 0.5e-4, 0.5, 0.5], rtol=1e-4)
  assert np.all(ratio < 2) and eta[1] / eta[0] == pytest.approx(100, rel=1e-5)
  assert not bool(np.any(np.asarray(out["diverged"])))


# ---------------------------------------------------------------- labels and readings


def test_paper_claim_rows_carry_claim_and_regime_and_the_theta_inf_row_is_a_diagnostic():
  cfg = E.PRESETS["quick"]
  vs = E.verdicts(cfg, _records(cfg, True))
  paper = [v for v in vs if v.about_paper]
  assert {v.claim.location for v in paper} == {"Sec. 4.1", "Sec. 4.3", "Thm. 3.1"}
  for v in paper:
    assert v.regime is not None and v.regime.conditions
  kernel = [v for v in vs if "infinite-width NTK" in v.rule]
  assert kernel and all(v.source() == "jaxrnn diagnostic" for v in kernel)
  (th,) = [v for v in vs if v.claim == lab.claims.CLAIMS["thm3.1"]]
  # outside the theorem's regime whatever the number: never "no"
  assert th.holds is True and th.outcome == lab.NOT_TESTABLE and "m ≈" in th.regime.needed
  th_no = [v for v in E.verdicts(cfg, _records(cfg, False)) if v.claim == th.claim][0]
  assert th_no.holds is False and th_no.outcome == lab.NOT_TESTABLE
  (close,) = [v for v in vs if v.claim == lab.claims.CLAIMS["sec4.1-close"]]
  assert close.regime.met and close.outcome == "yes"


def _jitter(recs, model, field, *, kernel=False, stat=False):
  """Multiply ``field`` of ``model``'s cells (or a kernel baseline, or a
  target statistic) by a factor that differs from cell to cell and seed to
  seed, so that slopes, maxima and ratios all move."""
  rng = np.random.default_rng(1)
  out = json.loads(json.dumps(recs))
  for r in out:
    if r["point"]["kind"] == "kernels":
      if stat and r.get(field) is not None:
        r[field] *= 1 + rng.uniform(0.3, 0.9)
      if kernel:
        for row in r["by_N"].values():
          row[model][field] *= 1 + rng.uniform(0.3, 0.9)
      continue
    for c in (r["models"].get(model) or {}).get("cells", []):
      if kernel or stat or c.get(field) is None:
        continue
      if field == "plateau":
        c[field] = [not v for v in c[field]]
      elif isinstance(c[field], list):
        c[field] = [None if v is None else v * (1 + rng.uniform(0.3, 0.9)) for v in c[field]]
      else:
        c[field] = c[field] + 1
  return out


#: (what is perturbed, the rules whose measured value it must move)
READS = [
  (
    ("rnn", "excess", {}),
    (
      "falls with N",
      "complexity",
      "length L",
      "does not grow with m",
      "within 1.5x",
      "Thm. 3.1's λ",
    ),
  ),
  (("pseudo", "excess", {}), ("within 1.5x",)),
  (("rnn", "mse", {}), ("every token-wise", "fitted token-wise", "infinite-width NTK")),
  (("ntk_inf", "mse", {"kernel": True}), ("infinite-width NTK",)),
  (("tokenwise", "mse", {"kernel": True}), ("fitted token-wise",)),
  ((None, "floor", {"stat": True}), ("every token-wise",)),
  ((None, "log10_C_eps", {"stat": True}), ("complexity",)),
  (("rnn", "rel_dW", {}), ("‖W'‖_F",)),
  (("rnn", "rel_dA", {}), ("‖A'‖_F",)),
  (("rnn", "flips", {}), ("flipped",)),
  (("rnn", "lin_gap", {}), ("gap to its pseudo-network",)),
  (("rnn", "step_ratio", {}), ("stability limit",)),
  (("rnn", "unstable", {}), ("trains stably",)),
  (("rnn", "loss_drop", {}), ("objective decreases",)),
  (("rnn", "plateau", {}), ("their plateau",)),
]


def test_each_verdict_reads_the_quantity_it_names(monkeypatch):
  fit = lab.power_law
  monkeypatch.setattr(lab, "power_law", lambda xs, ys: fit(xs, ys, n_boot=100))
  cfg = E.PRESETS["quick"]
  base = _records(cfg, True)
  before = {v.rule: v.measured for v in E.verdicts(cfg, base)}
  for (model, field, kw), names in READS:
    after = {v.rule: v.measured for v in E.verdicts(cfg, _jitter(base, model, field, **kw))}
    moved = {rule for rule in before if before[rule] != after[rule]}
    expected = {rule for rule in before if any(n in rule for n in names)}
    assert expected, names
    assert moved == expected, (field, sorted(moved ^ expected))
