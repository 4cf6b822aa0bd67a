"""The ``normalization`` experiment: a tiny run, its inversion numbers against
NumPy, one compilation of the training program for every L and encoding, the
kernel step and the plateau criterion, its verdicts on synthetic records of
both outcomes (each reading the quantity it names, each with its source), and
missing values."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import normalization as nz
from tests import np_reference as ref
from tests.lab.test_compile_once import count_compiles


def test_registered_after_rerandomization():
  order = list(runner.registry())
  assert order.index("normalization") == order.index("rerandomization") + 1


@pytest.mark.slow
def test_runs_reports_and_resumes(tmp_path):
  exp = nz.EXPERIMENT
  assert exp.name == "normalization"
  for cfg in exp.presets.values():
    runner.validate_config(cfg)
    assert all(cfg.eps_x < 1 / L for L in cfg.Ls)  # Thm. 4.5's regime at every L
  assert exp.presets["paper"].num_seeds >= 5
  cfg = exp.presets["tiny"]
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert len(records) == len(nz.points(cfg)) == 1 + 2 * len(cfg.Ls)
  inv = next(r for r in records if r["point"]["part"] == "inversion")
  assert np.asarray(inv["raw/pattern/token"]).shape == (cfg.num_seeds, len(cfg.Ls))
  assert "## Verdicts" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "normalization.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert summary2 == summary and len(records2) == len(records)
  no_train = dataclasses.replace(cfg, train=False)
  assert [p["part"] for p in nz.points(no_train)] == ["inversion"]


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="Ls"):
    runner.apply_overrides(nz.PRESETS["quick"], ["Ls=2"])
  with pytest.raises(runner.ConfigError, match="phi"):
    runner.apply_overrides(nz.PRESETS["quick"], ["phi=nonsense"])


@pytest.mark.slow
def test_invert_seed_matches_numpy():
  # Both encodings, pattern and centred decoders, against NumPy loops (Def. 3.1, Sec. 4.4)
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
    ne, re_, nc, rc = [], [], [], []
    for s in range(n):
      xs = ref.normalize(tb[s, : L - 2], eps)
      h = ref.hidden_states(W, A, xs)[-1]
      ne.append(np.abs((nw.T @ h).reshape(L, d) - xs)[1:-1, :-1].max() / eps)
      nc.append(np.abs(ref.centred_decoder(W, A, nbase, xs) - xs)[1:-1, :-1].max() / eps)
      xr = np.hstack([tb[s, :L], np.zeros((L, 1))])
      h = ref.hidden_states(W, A, xr)[-1]
      re_.append(np.abs((rw.T @ h).reshape(L, d) - xr)[:, :-1].max())
      rc.append(np.abs(ref.centred_decoder(W, A, rbase, xr) - xr)[:, :-1].max())
    np.testing.assert_allclose(float(out["normalized/pattern/token"][i]), np.mean(ne), rtol=1e-8)
    np.testing.assert_allclose(float(out["raw/pattern/token"][i]), np.mean(re_), rtol=1e-8)
    np.testing.assert_allclose(float(out["normalized/centred/token"][i]), np.mean(nc), rtol=1e-8)
    np.testing.assert_allclose(float(out["raw/centred/token"][i]), np.mean(rc), rtol=1e-8)


@pytest.mark.slow
def test_training_compiles_once_for_every_length_and_encoding():
  cfg = nz.PRESETS["tiny"]
  L_max = max(cfg.Ls)
  keys = jaxrnn.seed_keys(0, 2)
  extra = (jax.random.key_data(keys), jnp.full((2,), 1e-3))

  def data(e, L):
    xs, ys, xt, yt = nz.training_data(cfg, e, L)
    return (nz.pad_front(xs, L_max), ys, nz.pad_front(xt, L_max), yt) + extra

  args = [data(e, L) for e in nz.ENCODINGS for L in cfg.Ls]
  jaxrnn.sweep(lab.bind(nz.train_seed, cfg, steps=20), keys, *args[0])
  with count_compiles() as c:
    for a in args[1:]:
      jaxrnn.sweep(lab.bind(nz.train_seed, cfg, steps=20), keys, *a)
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
          if missing and meth == "pattern":  # the token error and the l∞ error
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
          "ratio": [1.0 if outcome == "paper" else 3.0] * S,
          "plateau": [outcome == "paper"] * S,
          "theta0_loss": noisy(curve)[:, i].tolist(),
          "linearized_loss": noisy(curve)[:, i].tolist(),
          "theta_inf_loss": 0.5,
          "steps": 100,
          "steps_needed": [100] * S,
          "plateau_predicted": [True] * S,
        }
      )
  return cfg, recs


def test_verdicts_flip_on_opposite_records(tmp_path):
  cfg, good = _records("paper")
  _, bad = _records("opposite")
  vg, vb = nz.verdicts(cfg, good), nz.verdicts(cfg, bad)
  assert len(vg) == len(vb) == 2 * 4 + 4 + 2
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
  assert "Left out of fits and figures: 8 non-finite inversion values" in text
  assert "1 diverged training runs" in text
  assert (tmp_path / "normalization.png").exists()
  assert "No completed points" in nz.report(cfg, [], tmp_path)


def test_rate_difference():
  Ls = [3, 5, 8, 12]
  d = nz.rate_difference(Ls, [np.exp(0.4 * L) for L in Ls], [np.exp(0.1 * L) for L in Ls])
  assert d.value == pytest.approx(0.3, abs=1e-9)
  assert math.isnan(nz.rate_difference([3], [1.0], [1.0]).value)


# --------------------------------------------------------------------------
# The step, the plateau, the sources


@pytest.mark.slow
def test_every_run_takes_its_own_kernel_step_inside_the_stability_limit(tmp_path):
  # Each (encoding, L, seed) gets eta = lr / sharpness of its own measured
  # kernel: the recorded eta*sharpness is lr (< 2), the normalized and raw
  # runs of the same networks get different steps, and seed 0's step is
  # kernel_step_size on its training set.
  cfg = dataclasses.replace(nz.PRESETS["tiny"], ms=(8,), lr=0.9)
  records, summary = runner.run_experiment(
    nz.EXPERIMENT, cfg, tmp_path, preset="tiny", progress=False
  )
  trn = {(r["point"]["encoding"], r["point"]["L"]): r for r in records if "encoding" in r["point"]}
  for r in trn.values():
    np.testing.assert_allclose(r["ratio"], 0.9, rtol=1e-5)
    assert all(x < 2 for x in r["ratio"])
    assert r["plateau_tol"] == cfg.plateau_tol and len(r["plateau"]) == cfg.num_seeds
    assert r["steps"] >= max(r["steps_needed"]) and r["steps"] <= cfg.max_steps + 9
  L = cfg.Ls[-1]
  assert not np.allclose(trn[("raw", L)]["eta"], trn[("normalized", L)]["eta"])
  xs, _, _, _ = nz.training_data(cfg, "raw", L)
  key = jaxrnn.seed_keys(cfg.seed * 100_003 + 50_021 + L, cfg.num_seeds)[0]
  params, _ = nz._init(key, cfg.train_m, cfg.d, xs.dtype)
  st = jaxrnn.training.kernel_step_size(params, xs, batch_size=cfg.batch_size, lr=cfg.lr)
  np.testing.assert_allclose(trn[("raw", L)]["eta"][0], float(st.eta), rtol=1e-4)
  assert "η·sharpness" in summary and "plateau" in summary


def test_linearized_matches_gradient_descent_on_the_kernel():
  # The spectral prediction equals n steps of r <- r - eta K r / N on a
  # random PSD kernel; its test prediction is the kernel predictor.
  rng = np.random.default_rng(0)
  G = rng.standard_normal((7, 5))
  K = G @ G.T
  Kx = rng.standard_normal((3, 5)) @ G.T
  y, yt = rng.standard_normal(7), rng.standard_normal(3)
  eta, t = 0.3, 17
  mu, U = np.linalg.eigh(K)
  f, ft = np.zeros(7), np.zeros(3)
  for _ in range(t):
    r = f - y
    f, ft = f - eta * K @ r / 7, ft - eta * Kx @ r / 7
  tr, te = nz.linearized(mu, U.T @ y, Kx @ U, yt, eta, 7, t)
  assert tr == pytest.approx(0.5 * np.mean((f - y) ** 2), rel=1e-9)
  assert te == pytest.approx(0.5 * np.mean((ft - yt) ** 2), rel=1e-9)


def test_steps_follow_the_slow_mode_of_the_kernel():
  # A bias mode and a token mode eps^2 times smaller carrying the target:
  # the plateau needs about 1/eps^2 more steps (capped and flagged past the
  # cap), not a fixed T.
  n, eta = 10, 10.0
  for eps, cap in ((0.3, 10**6), (0.1, 10**6)):
    mu, proj = np.array([eps**2, 1.0]), np.array([1.0, 1.0])
    T, ok = nz.choose_steps(mu, proj, eta, n, min_steps=10, max_steps=cap, tol=0.01)
    assert ok and T * eps**2 >= 2 and T * eps**2 <= 16 * 2, (eps, T)
  T, ok = nz.choose_steps(mu, proj, eta, n, min_steps=10, max_steps=40, tol=0.01)
  assert (T, ok) == (40, False)
  assert nz.plateau_reached([5, 4, 1.00, 1.0, 0.995], 1.0, 0.01)
  assert not nz.plateau_reached([5, 4, 1.2, 1.1, 1.0], 1.0, 0.01)
  assert not nz.plateau_reached([5, 4, 1.0, float("nan"), 1.0], 1.0, 0.01)


def _measured(vs):
  return {v.rule: v.measured for v in vs}


def test_each_verdict_reads_the_quantity_it_names():
  cfg, recs = _records("paper")
  base = _measured(nz.verdicts(cfg, recs))

  def moved(field, fn, where=lambda r: True):
    new = []
    for r in recs:
      r = dict(r)
      if field in r and where(r):
        r[field] = fn(r[field], r)
      new.append(r)
    after = _measured(nz.verdicts(cfg, new))
    return {rule for rule in base if after[rule] != base[rule]}

  grow = lambda v, r: (np.asarray(v) * np.exp(0.05 * np.asarray(cfg.Ls))).tolist()
  ch = moved("raw/centred/token", grow)
  assert ch and all(r.startswith("centred pattern-decoder") and "raw" in r for r in ch), ch
  assert not any("normalized: grows" in r for r in ch)
  ch = moved("normalized/centred/token", grow)
  assert ch and all(r.startswith("centred pattern-decoder") for r in ch)
  assert not any("raw tokens" in r for r in ch)
  for other in ("pattern", "oracle", "lstsq"):  # diagnostics in the tables: no verdict moves
    assert moved(f"raw/{other}/token", grow) == set(), other
    assert moved(f"normalized/{other}/token", grow) == set(), other
  ch = moved(
    "test_loss",
    lambda v, r: (np.asarray(v) * r["point"]["L"]).tolist(),
    where=lambda r: r["point"].get("encoding") == "normalized",
  )
  assert ch and all("training" in r or "train" in r for r in ch)
  assert not any("raw tokens" in r for r in ch)
  assert moved("ratio", lambda v, r: [1.5] * len(v)) == {
    "every SGD run's step is inside gradient descent's stability limit"
  }
  ch = moved("plateau", lambda v, r: [False] * len(v))
  assert len(ch) == 1 and next(iter(ch)).startswith("SGD reaches the plateau")
  assert moved("theta0_loss", lambda v, r: [x * 9 for x in v]) == set()


def test_verdicts_name_their_source_and_regime():
  cfg, recs = _records("paper")
  vs = {v.rule: v for v in nz.verdicts(cfg, recs)}
  raw_rate = next(
    v for r, v in vs.items() if r.startswith("centred pattern-decoder") and "exponentially" in r
  )
  assert raw_rate.claim == lab.claims.claim("def3.1-normalization") and raw_rate.regime.met
  nrm = next(
    v for r, v in vs.items() if r.startswith("centred pattern-decoder") and "normalized:" in r
  )
  assert nrm.claim == lab.claims.claim("thm4.5") and nrm.regime.met
  for r, v in vs.items():
    if "training" in r or "SGD" in r or "rate difference" in r or "faster than any" in r:
      assert v.claim is None, r  # ours
  # outside Thm. 4.5's regime (eps_x >= 1/L) the normalized row is not testable
  big = dataclasses.replace(cfg, eps_x=0.2)
  nrm = next(v for v in nz.verdicts(big, recs) if v.rule == nrm.rule)
  assert nrm.outcome == lab.report.NOT_TESTABLE and not nrm.regime.met
