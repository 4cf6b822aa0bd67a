"""The ``ntk_regime`` experiment: a tiny run and resume; the pseudo-network's
descent is the Theta_0 kernel dynamics; the step from the measured kernel is
inside the stability limit; verdicts computed from the records (each flips
on records with the opposite outcome, each reads the fields it names); the
paper's claims carry their quote and regime, the kernel comparisons are
diagnostics."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import RNNParams, concept, kernels, lab, training
from jaxrnn import experiments as runner
from jaxrnn.experiments import ntk_regime as E


def test_presets_are_in_the_regime_and_reach_4096():
  for cfg in E.PRESETS.values():
    runner.validate_config(cfg)
    assert cfg.eps_x < 1 / cfg.L and cfg.lr < 2
  assert max(E.PRESETS["paper"].ms) >= 4096


@pytest.mark.slow
def test_tiny_run_resume_report_and_stable_steps(tmp_path):
  exp = E.EXPERIMENT
  assert exp.name == "ntk_regime"
  cfg = exp.presets["tiny"]
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert len(records) == len(cfg.ms)
  for r in records:
    assert len(r["ntk_distance"]) == cfg.num_seeds
    # the step is read from the measured kernel: eta*sharpness = lr < 2
    assert all(abs(v - cfg.lr) < 1e-4 for v in r["step_ratio"])
    assert all(v is None or v >= 0 for v in r["gap_net_pseudo"])
    for key in ("rmse_net", "rmse_pseudo", "rmse_emp_reg", "rmse_inf_T", "rmse_inf_reg"):
      assert len(r[key]) == cfg.num_seeds
  assert "## Verdicts" in summary and "## Reading" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "ntk_regime.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert summary2 == summary and len(records2) == len(records)


@pytest.mark.slow
def test_pseudo_network_descent_is_the_theta0_kernel_dynamics():
  """The design choice that replaces training the pseudo-network: explicit
  full-batch gradient descent on F_rnn(W) + F(W') equals the closed form."""
  jax.config.update("jax_enable_x64", True)
  try:
    k = jax.random.split(jax.random.key(3), 3)
    p = jaxrnn.init_params(k[0], 12, 4, 1, jnp.float64)
    target = concept.random_concept(k[1], 4, 4, phi="sin:2")
    xs, ys, _, _ = concept.concept_dataset(k[2], target, 6, 4, 4, 0.2)
    xs, ys = xs.astype(jnp.float64), ys[:, 0].astype(jnp.float64)
    xt = xs[:3] * 0.9
    eta = float(training.kernel_step_size(p, xs).eta)

    def loss(tr):
      d = RNNParams(tr["W"], tr["A"], p.B)
      f = jax.vmap(lambda x: training.model_output(p, d, x, model="pseudo"))(xs)[:, 0]
      return jnp.mean((f - ys) ** 2) / 2

    tr = {"W": jnp.zeros_like(p.W), "A": jnp.zeros_like(p.A)}
    grad = jax.jit(jax.grad(loss))
    for _ in range(7):
      tr = jax.tree.map(lambda w, g: w - eta * g, tr, grad(tr))
    d = RNNParams(tr["W"], tr["A"], p.B)
    f_gd = jax.vmap(lambda x: training.model_output(p, d, x, model="pseudo"))(xt)[:, 0]
    f0 = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, jnp.concatenate([xs, xt]))[:, 0]
    K = kernels.empirical_ntk(p, jnp.concatenate([xs, xt]), xs)
    _, f_k = kernels.gradient_descent_mse(
      K[:6], K[6:], ys, f0[:6], f0[6:], learning_rate=eta, t=7, discrete=True
    )
    np.testing.assert_allclose(np.asarray(f_gd), np.asarray(f_k), rtol=1e-8, atol=1e-10)
  finally:
    jax.config.update("jax_enable_x64", False)


def test_bad_config():
  with pytest.raises(runner.ConfigError, match="num_seeds"):
    runner.validate_config(dataclasses.replace(E.PRESETS["quick"], num_seeds=1))
  with pytest.raises(runner.ConfigError, match="phi"):
    runner.validate_config(dataclasses.replace(E.PRESETS["quick"], phi="nope"))
  with pytest.raises(runner.ConfigError, match="lr"):
    runner.validate_config(dataclasses.replace(E.PRESETS["quick"], lr=2.5))


# --------------------------------------------------------------------------
# Verdicts from synthetic records

_MS = (64, 128, 256, 512, 1024)
_FIELDS_PER_SEED = (
  "ntk_distance",
  "kernel_drift",
  "rel_dW",
  "rel_dA",
  "eta",
  "lambda_max",
  "sharpness",
  "step_ratio",
  "train_loss0",
  "train_loss",
  "loss_drop",
  "steps_needed",
  "rmse_net",
  "rmse_pseudo",
  "rmse_emp_reg",
  "rmse_inf_T",
  "rmse_inf_reg",
  "gap_net_pseudo",
  "gap_pseudo_inf",
  "gap_reg",
  "gap_net_reg",
)


def _records(approach: bool, seeds: int = 4, none_every: int = 0):
  """Records of a world where everything approaches its limit as m grows
  (or moves away): gaps, distances and |log ratios| scale like m^-1/2
  (m^+1/2), with +-10% seed-to-seed spread."""
  rng = np.random.default_rng(0)
  k = -0.5 if approach else 0.5
  out, count = [], 0
  for m in _MS:
    rec = {"key": str(m), "point": {"m": m}, "diverged": 0, "target_rms": 0.7}
    for key in _FIELDS_PER_SEED:
      vals = []
      for _ in range(seeds):
        count += 1
        u = 1 + 0.1 * rng.uniform(-1, 1)
        g = (m / 64) ** k * u
        v = {
          "step_ratio": 1.0 if approach else 2.5,
          "train_loss0": 0.5,
          "train_loss": 0.5 * (0.001 if approach else 0.5) * u,
          "loss_drop": (0.001 if approach else 1.5) * u,
          "rmse_net": 0.3 * math.exp(0.2 * g),
          "rmse_pseudo": 0.3,
          "rmse_emp_reg": 0.3 * math.exp(0.2 * g),
          "rmse_inf_T": 0.3 * math.exp(-0.2 * g),
          "rmse_inf_reg": 0.3 * math.exp(-0.2 * g),
        }.get(key, 0.2 * g)
        vals.append(None if none_every and count % none_every == 0 else float(v))
      rec[key] = vals
    out.append(rec)
  return out


def _cfg():
  return dataclasses.replace(E.PRESETS["quick"], ms=_MS)


def test_verdicts_hold_for_records_that_approach_the_limit():
  vs = E.verdicts(_cfg(), _records(True))
  assert len(vs) == len(E.VERDICT_KEYS)
  assert [v.holds for v in vs] == [True] * len(vs), [(v.rule, v.measured, v.holds) for v in vs]
  assert all(v.outcome == "yes" for v in vs)


def test_verdicts_flip_for_records_that_move_away():
  vs = E.verdicts(_cfg(), _records(False))
  assert [v.holds for v in vs] == [False] * len(vs), [(v.rule, v.measured, v.holds) for v in vs]


def test_paper_claims_carry_a_quote_and_a_regime_and_kernel_comparisons_are_diagnostics():
  vs = dict(zip(E.VERDICT_KEYS, E.verdicts(_cfg(), _records(True))))
  assert vs["gap_net_pseudo"].claim == lab.claims.CLAIMS["sec4.1-close"]
  assert vs["loss_drop"].claim == lab.claims.CLAIMS["sec4.3-descent"]
  for key, v in vs.items():
    if v.claim is not None:
      assert v.regime is not None and v.regime.conditions
    if key not in ("gap_net_pseudo", "loss_drop"):
      assert v.claim is None and v.source() == "jaxrnn diagnostic", key
  # the pseudo-network claim is outside its regime when eps_x >= 1/L
  bad = dataclasses.replace(_cfg(), eps_x=0.5)
  v = dict(zip(E.VERDICT_KEYS, E.verdicts(bad, _records(True))))["gap_net_pseudo"]
  assert v.holds is True and v.outcome == lab.NOT_TESTABLE and "eps_x <" in v.regime.needed


def test_each_verdict_reads_the_fields_it_names(monkeypatch):
  """Perturbing one record field moves the measured value of exactly the
  verdicts that name it (``FIELDS``), and no other."""
  fit = lab.power_law
  monkeypatch.setattr(lab, "power_law", lambda xs, ys: fit(xs, ys, n_boot=200))
  cfg, base = _cfg(), _records(True)
  before = [v.measured for v in E.verdicts(cfg, base)]
  fields = sorted({f for fs in E.FIELDS.values() for f in fs})
  for field in fields:
    recs = [dict(r) for r in base]
    for i, r in enumerate(recs):
      factor = 50.0 if field in ("train_loss", "train_loss0") else 1.5 * (1 + i) ** 0.7
      if field == "train_loss0":
        factor = 1 / 50.0
      r[field] = [v * factor for v in r[field]]
    after = [v.measured for v in E.verdicts(cfg, recs)]
    moved = {k for k, a, b in zip(E.VERDICT_KEYS, before, after) if a != b}
    expected = {k for k in E.VERDICT_KEYS if field in E.FIELDS[k]}
    assert moved == expected, (field, moved, expected)


def test_report_survives_missing_metrics(tmp_path):
  cfg = _cfg()
  recs = _records(True, none_every=3)
  for key in ("gap_net_pseudo", "ntk_distance"):
    recs[0][key] = [None] * 4
  for key in ("gap_reg", "kernel_drift", "rel_dW"):
    del recs[1][key]
  recs[2]["diverged"] = None
  summary = E.report(cfg, recs, tmp_path)
  assert "n/a" in summary and "Left out of fits and figures" in summary
  assert (tmp_path / "ntk_regime.png").exists()
  empty = E.report(cfg, [], tmp_path)
  assert "undecided" in empty
