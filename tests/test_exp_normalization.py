"""The ``normalization`` experiment: a tiny run, its inversion numbers against
NumPy, one compilation of the training program for every L and encoding, its
verdicts on synthetic records of both outcomes, and missing values."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import np_reference as ref
import numpy as np
import pytest
from test_compile_once import count_compiles

import jaxrnn
from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import normalization as nz

TINY = dict(
  ms=(16,),
  Ls=(3, 4, 6),
  num_seeds=2,
  num_sequences=3,
  num_train=8,
  train_m=8,
  train_steps=4,
  batch_size=2,
  num_samples=8,
  num_test=8,
)


def test_registered_after_rerandomization():
  order = list(runner.registry())
  assert order.index("normalization") == order.index("rerandomization") + 1


def test_runs_reports_and_resumes(tmp_path):
  exp = nz.EXPERIMENT
  assert exp.name == "normalization"
  for preset in ("quick", "paper"):
    cfg = exp.presets[preset]
    runner.validate_config(cfg)
    assert all(cfg.eps_x < 1 / L for L in cfg.Ls)  # Thm. 4.5's regime at every L
  assert exp.presets["paper"].num_seeds >= 5
  cfg = dataclasses.replace(exp.presets["quick"], **TINY)
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == len(nz.points(cfg)) == 1 + 2 * 3
  inv = next(r for r in records if r["point"]["part"] == "inversion")
  assert np.asarray(inv["raw/pattern/token"]).shape == (2, 3)  # (seeds, L)
  assert "## Verdicts" in summary and "Design choices" in summary
  assert (tmp_path / "normalization.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert summary2 == summary and len(records2) == len(records)
  no_train = dataclasses.replace(cfg, train=False)
  assert [p["part"] for p in nz.points(no_train)] == ["inversion"]


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="Ls"):
    runner.apply_overrides(nz.PRESETS["quick"], ["Ls=2"])
  with pytest.raises(runner.ConfigError, match="phi"):
    runner.apply_overrides(nz.PRESETS["quick"], ["phi=nonsense"])


def test_invert_seed_matches_numpy():
  # Both encodings, pattern decoder, against NumPy loops (Def. 3.1, Sec. 4.4)
  # in float64: normalized error / eps_x on the middle tokens; raw error on
  # every token, with the mean-token base.
  m, d, Ls, n, eps = 20, 4, (3, 5), 3, 0.05
  key = jax.random.key(5)
  with jax.enable_x64(True):
    out = nz.invert_seed(
      key, m=m, Ls=Ls, d=d, eps_x=eps, num_sequences=n, num_train=6, ridge=1e-4, dtype="float64"
    )
    k_init, k_test, _ = jax.random.split(key, 3)
    p = jaxrnn.init_params(k_init, m, d, 1, jnp.float64)
    tb = jax.vmap(lambda k: jaxrnn.random_true_sequence(k, max(Ls), d, jnp.float64))(
      jax.random.split(k_test, n)
    )
  W, A, tb = np.asarray(p.W), np.asarray(p.A), np.asarray(tb)
  for i, L in enumerate(Ls):
    nbase = np.zeros((L, d))
    nbase[0, -1] = nbase[-1, -1] = 1.0
    rbase = np.zeros((L, d))
    rbase[:, d - 2] = 0.5
    nw, rw = ref.inversion_matrix(W, A, nbase), ref.inversion_matrix(W, A, rbase)
    ne, re_ = [], []
    for s in range(n):
      xs = ref.normalize(tb[s, : L - 2], eps)
      h = ref.hidden_states(W, A, xs)[-1]
      ne.append(np.abs((nw.T @ h).reshape(L, d) - xs)[1:-1, :-1].max() / eps)
      xr = np.hstack([tb[s, :L], np.zeros((L, 1))])
      h = ref.hidden_states(W, A, xr)[-1]
      re_.append(np.abs((rw.T @ h).reshape(L, d) - xr)[:, :-1].max())
    np.testing.assert_allclose(float(out["normalized/pattern/token"][i]), np.mean(ne), rtol=1e-8)
    np.testing.assert_allclose(float(out["raw/pattern/token"][i]), np.mean(re_), rtol=1e-8)


@pytest.mark.slow
def test_training_compiles_once_for_every_length_and_encoding():
  cfg = dataclasses.replace(nz.PRESETS["quick"], **TINY)
  data = [nz.training_data(cfg, e, L) for e in nz.ENCODINGS for L in cfg.Ls]
  fn = lab.bind(nz.train_seed, cfg)
  keys = jaxrnn.seed_keys(0, 2)
  jaxrnn.sweep(fn, keys, *data[0])
  with count_compiles() as c:
    for args in data[1:]:
      jaxrnn.sweep(lab.bind(nz.train_seed, cfg), keys, *args)
  assert c["n"] == 0


def test_front_padding_leaves_the_output_unchanged():
  # Zero tokens in front keep h exactly 0 (for any weights), so the padded
  # training data mean the same sequences.
  p = jaxrnn.init_params(jax.random.key(0), 12, 4, 1)
  p = p._replace(W=p.W + 0.3, A=p.A - 0.2)  # weights away from initialization
  xs = jax.random.normal(jax.random.key(1), (2, 3, 4))
  padded = nz.pad_front(xs, 7)
  for a, b in zip(xs, padded):
    np.testing.assert_array_equal(jaxrnn.rnn_output(p, a), jaxrnn.rnn_output(p, b))


# --------------------------------------------------------------------------
# Verdicts on synthetic records

GRID = dict(ms=(256, 1024), Ls=(3, 5, 8, 12, 16, 20), num_seeds=5)


def _records(outcome: str, missing: bool = False):
  """Raw errors and losses exponential in L, normalized ones a power of L and
  lower at the largest L -- or the opposite on every count."""
  cfg = dataclasses.replace(nz.PRESETS["quick"], **GRID)
  rng = np.random.default_rng(0)
  Ls = np.asarray(cfg.Ls, float)
  S = cfg.num_seeds

  def noisy(curve):
    return curve[None, :] * np.exp(0.02 * rng.standard_normal((S, len(curve))))

  def concave(L):  # decreasing, concave in log-log: neither growing nor exponential
    return np.exp(-((np.log(L) - np.log(3.0)) ** 2))

  if outcome == "paper":
    raw, nrm = 0.1 * np.exp(0.3 * Ls), 0.5 * Ls
    raw_loss, nrm_loss = 0.01 * np.exp(0.2 * Ls), 0.05 * Ls**0.5
  else:
    raw, nrm = concave(Ls), 0.01 * np.exp(0.5 * Ls)
    raw_loss, nrm_loss = concave(Ls), 0.01 * np.exp(0.5 * Ls)
  recs = []
  for m in cfg.ms:
    rec = {"point": {"part": "inversion", "m": m}}
    for enc, curve in (("raw", raw), ("normalized", nrm)):
      for meth in nz.METHODS:
        for metric in nz.METRICS:
          vals = noisy(curve)
          if missing and meth == "pattern" and metric == "token":
            vals = vals.astype(object)
            vals[0, 1] = None
          rec[f"{enc}/{meth}/{metric}"] = vals.tolist()
    recs.append(rec)
  for enc, curve in (("raw", raw_loss), ("normalized", nrm_loss)):
    for i, L in enumerate(cfg.Ls):
      div = [False] * S
      if missing and enc == "raw" and i == 0:
        div[0] = True
      recs.append(
        {
          "point": {"part": "training", "encoding": enc, "L": L},
          "test_loss": noisy(curve)[:, i].tolist(),
          "init_loss": [2.0] * S,
          "diverged": div,
          "zero_loss": 1.0,
        }
      )
  return cfg, recs


def test_verdicts_flip_on_opposite_records(tmp_path):
  cfg, good = _records("paper")
  _, bad = _records("opposite")
  vg, vb = nz.verdicts(cfg, good), nz.verdicts(cfg, bad)
  assert len(vg) == len(vb) == 2 * 4 + 4
  for a, b in zip(vg, vb):
    assert a.rule == b.rule
    assert a.holds is True, a
    assert b.holds is False, b
  text = nz.report(cfg, bad, tmp_path)
  assert "**yes**" not in text.split("## Verdicts")[1].split("## Reading")[0]


def test_report_survives_missing_values(tmp_path):
  cfg, recs = _records("paper", missing=True)
  text = nz.report(cfg, recs, tmp_path)
  assert "n=4, 1 missing" in text
  assert "Left out of fits and figures: 4 non-finite inversion values" in text
  assert "1 diverged training runs" in text
  assert (tmp_path / "normalization.png").exists()
  assert "No completed points" in nz.report(cfg, [], tmp_path)


def test_rate_difference():
  Ls = [3, 5, 8, 12]
  d = nz.rate_difference(Ls, [np.exp(0.4 * L) for L in Ls], [np.exp(0.1 * L) for L in Ls])
  assert d.value == pytest.approx(0.3, abs=1e-9)
  assert math.isnan(nz.rate_difference([3], [1.0], [1.0]).value)
