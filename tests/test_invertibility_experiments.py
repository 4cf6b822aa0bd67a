"""Smoke tests of the Sec. 4.2-4.4 experiments on tiny configs, and the
backward-correlation measure against NumPy."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import experiments as runner
from jaxrnn.experiments import backward_correlation, random_features

TINY = {
  "random_features": (random_features, dict(ms=(16, 64), num_pairs=16, num_seeds=2)),
  "backward_correlation": (
    backward_correlation,
    dict(ms=(16, 32), d_outs=(1, 2), L=4, num_seeds=2, num_sequences=2),
  ),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_experiment_runs_and_reports(name, tmp_path):
  mod, over = TINY[name]
  exp = mod.EXPERIMENT
  assert exp.name == name
  for preset in ("quick", "paper"):
    runner.validate_config(exp.presets[preset])
  cfg = dataclasses.replace(exp.presets["quick"], **over)
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == len(mod.points(cfg))
  assert "## Reading" in summary and "Design choices" in summary
  assert list(tmp_path.glob("*.png"))
  # Resuming computes nothing new and gives the same summary.
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_backward_correlations_match_numpy():
  m, d, L, k = 12, 3, 4, 3
  rng = np.random.default_rng(0)
  W, A = rng.normal(size=(m, m)) * np.sqrt(2 / m), rng.normal(size=(m, d)) * np.sqrt(2 / m)
  B = rng.normal(size=(k, m))
  xs = rng.normal(size=(L, d))
  h, masks = np.zeros(m), []
  for x in xs:
    z = W @ h + A @ x
    masks.append(z >= 0)
    h = np.maximum(z, 0)
  _back, ref1, ref3 = B.copy(), [], []
  backs = [None] * L
  backs[-1] = B
  for i in range(L - 2, -1, -1):
    backs[i] = (backs[i + 1] * masks[i + 1]) @ W
  for bk in backs:
    ref1.append(abs(B[0] @ bk[0]) / (np.linalg.norm(B[0]) * np.linalg.norm(bk[0])))
    ref3.append(abs(np.sum(B * bk)) / (np.linalg.norm(B) * np.linalg.norm(bk)))
  with jax.enable_x64(True):
    p = jaxrnn.RNNParams(*map(jnp.asarray, (W, A, B)))
    out = jaxrnn.backward_correlations(p, jnp.asarray(xs), (1, 3))
  np.testing.assert_allclose(np.asarray(out["frob"][0]), ref1, rtol=1e-10)
  np.testing.assert_allclose(np.asarray(out["frob"][1]), ref3, rtol=1e-10)
  assert float(out["frob"][1][-1]) == pytest.approx(1.0)
