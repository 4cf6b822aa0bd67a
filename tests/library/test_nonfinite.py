"""Non-finite values never pass silently: the library propagates them and the
runner counts them.

- NaN/inf weights or inputs give NaN outputs and NaN derivatives, under
  ``jit`` or not (the ReLU of the old code mapped NaN to 0: NaN weights gave
  an output of exactly 0 and finite gradients, NaN inputs under ``jit`` a
  plausible number).
- A float32 state that overflows gives a non-finite output (the old code gave
  a finite number), and ``jaxrnn.checks.check_states`` names the step, which
  must be the step at which the NumPy float64 reference first exceeds the
  float32 range.
- The checked entry points raise outside ``jit`` and refuse tracers.
- The runner stores NaN/inf metrics as null, lists them, warns, and notes
  them in the summary; an all-diverged training goes through without a crash.
"""

import dataclasses
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxrnn
from jaxrnn import experiments
from tests import np_reference as npr


def _problem(m=12, d=3, L=6, d_out=2, dtype=jnp.float32):
  k = jax.random.split(jax.random.key(0), 3)
  p = jaxrnn.init_params(k[0], m, d, d_out, dtype)
  xs = jax.random.normal(k[1], (L, d), dtype) / np.sqrt(d)
  return p, xs


def _loss(W, A, B, xs):
  return jnp.sum(jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, B), xs) ** 2)


# --------------------------------------------------------------------------
# NaN and inf propagate.


_BAD = [(v, which) for v in (jnp.nan, jnp.inf, -jnp.inf) for which in ("W", "A")]

# One compiled function for every case below: outputs, states, gradients and
# a forward-mode derivative, all of one (params, xs).
_forward = jax.jit(
  lambda p, xs: (
    jaxrnn.rnn_output(p, xs),
    jaxrnn.final_hidden_state(p, xs),
    jaxrnn.hidden_states(p, xs),
  )
)
_derivatives = jax.jit(
  lambda p, xs: (
    jax.grad(_loss, argnums=(0, 1))(p.W, p.A, p.B, xs),
    jax.jvp(lambda W: jaxrnn.rnn_output(p._replace(W=W), xs), (p.W,), (p.W,))[1],
  )
)


def _with(p, bad, which):
  return p._replace(**{which: getattr(p, which).at[1, 2].set(bad)})


@pytest.mark.parametrize("bad,which", _BAD)
def test_bad_weights_give_nan_output_and_nan_gradients_under_jit(bad, which):
  p, xs = _problem()
  out, h_last, hs = _forward(_with(p, bad, which), xs)
  assert np.all(np.isnan(out)), out  # old code: exactly 0.0
  assert np.any(np.isnan(h_last)) and np.any(np.isnan(hs))
  (gW, gA), t = _derivatives(_with(p, bad, which), xs)
  assert np.any(np.isnan(gW)) and np.any(np.isnan(gA))  # old code: finite
  assert np.all(np.isnan(t))


@pytest.mark.parametrize("bad,which", _BAD[:2])
def test_bad_weights_give_nan_output_without_jit(bad, which):
  p, xs = _problem()
  q = _with(p, bad, which)
  assert np.all(np.isnan(jaxrnn.rnn_output(q, xs)))  # old code: exactly 0.0
  assert np.any(np.isnan(jaxrnn.hidden_states(q, xs)))
  gW, gA = jax.grad(_loss, argnums=(0, 1))(q.W, q.A, q.B, xs)
  assert np.any(np.isnan(gW)) and np.any(np.isnan(gA))


def test_nan_input_under_jit_gives_nan_and_leaves_other_sequences_alone():
  p, xs = _problem()
  batch = jnp.stack([xs, xs.at[2, 1].set(jnp.nan), 2 * xs])
  out = np.asarray(jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0)))(p, batch))
  assert np.all(np.isnan(out[1]))  # old code: a plausible finite number
  clean = np.asarray(jax.jit(jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0)))(p, batch[::2]))
  np.testing.assert_array_equal(out[::2], clean)
  # Eagerly the input is checked (a value check outside jit).
  with pytest.raises(jaxrnn.checks.NonFiniteError, match=r"xs has a non-finite entry"):
    jaxrnn.rnn_output(p, batch[1])


def test_nan_in_the_last_token_only_gives_nan_derivatives():
  # The NaN appears at the last step only: every earlier state is finite, so
  # only the derivative of the ReLU at a NaN pre-activation can make the
  # derivatives NaN. A 0/1 mask would give finite numbers in every mode.
  p, xs = _problem()
  xs = xs.at[-1, 0].set(jnp.nan)
  f = lambda W, A, xs: jnp.sum(jaxrnn.rnn_output(jaxrnn.RNNParams(W, A, p.B), xs))
  gW, gA, gx = jax.jit(jax.grad(f, argnums=(0, 1, 2)))(p.W, p.A, xs)
  assert np.isnan(jax.jit(f)(p.W, p.A, xs))
  assert np.all(np.isnan(gW)) and np.all(np.isnan(gA))
  assert np.all(np.isnan(gx[-1]))
  _, t = jax.jit(lambda x, dx: jax.jvp(lambda x: f(p.W, p.A, x), (x,), (dx,)))(
    xs, jnp.ones_like(xs)
  )
  assert np.isnan(t)
  pn = jax.jit(jaxrnn.pseudo_network)(p, p, xs)
  assert np.all(np.isnan(pn))


def test_relu_keeps_nan_and_the_eq5_convention():
  z = jnp.array([-2.0, -0.0, 0.0, 3.0, jnp.nan, jnp.inf, -jnp.inf])
  np.testing.assert_array_equal(jaxrnn.relu(z), [0, 0, 0, 3, np.nan, np.inf, 0])
  g = jax.vmap(jax.grad(jaxrnn.relu))(jnp.array([-1.0, 0.0, 2.0]))
  np.testing.assert_array_equal(g, [0.0, 1.0, 1.0])  # 1[z >= 0], Eq. (5)


# --------------------------------------------------------------------------
# A float32 state that overflows.


def test_float32_overflow_is_not_a_finite_number_and_is_named_with_its_step():
  # W x4: each step multiplies |h| by ~4, so float32 overflows near step 66
  # of L = 100 (the natural init overflows near L = 2300 at m = 512; this is
  # the same event, sooner). The step must be the one at which the NumPy
  # float64 reference first leaves the float32 range; the data are chosen so
  # that this step is clear-cut (checked below: the reference is below 0.7x
  # the limit one step before and above 1.3x at it), so float32 rounding
  # cannot move it.
  L = 100
  p = jaxrnn.init_params(jax.random.key(1), 64, 4, 1)
  p = p._replace(W=4.0 * p.W)
  xs = jax.random.normal(jax.random.key(101), (L, 4), jnp.float32) / 2.0
  W, A, B = (np.asarray(a, np.float64) for a in p)
  hs = npr.hidden_states(W, A, np.asarray(xs, np.float64))
  prev = np.vstack([np.zeros((1, 64)), hs[:-1]])
  zmax = np.abs(np.asarray(xs, np.float64) @ A.T + prev @ W.T).max(axis=1)
  limit = float(np.finfo(np.float32).max)
  l_star = int(np.argmax(zmax > limit)) + 1
  assert zmax[l_star - 1] > 1.3 * limit and zmax[l_star - 2] < 0.7 * limit
  ref = float((B @ hs[-1])[0])
  assert np.isfinite(ref) and abs(ref) > limit  # float64 is fine, float32 cannot hold it

  out = np.asarray(jax.jit(jaxrnn.rnn_output)(p, xs))
  assert not np.any(np.isfinite(out)), out  # old code: a finite number
  with jax.enable_x64(True):
    p64 = jaxrnn.RNNParams(*(jnp.asarray(a, jnp.float64) for a in (W, A, B)))
    out64 = float(jaxrnn.rnn_output(p64, jnp.asarray(xs, jnp.float64))[0])
  assert out64 == pytest.approx(ref, rel=1e-9)
  with pytest.raises(jaxrnn.checks.NonFiniteError) as e:
    jaxrnn.checks.check_states(p, xs)
  assert f"overflow: |h| exceeded the float32 range (max 3.4e+38) at step l={l_star} of L=100" in (
    str(e.value)
  )
  # The same sequence cut before the overflow passes and returns the states
  # (float32 rounding flips a few near-zero activations over 65 steps, so
  # the states follow the float64 reference to ~1%, not to float32 precision).
  hs32 = np.asarray(jaxrnn.checks.check_states(p, xs[: l_star - 1]))
  np.testing.assert_allclose(
    np.abs(hs32).max(axis=1), np.abs(hs[: l_star - 1]).max(axis=1), rtol=0.05
  )


# --------------------------------------------------------------------------
# The checked entry points.


def test_check_params_names_the_bad_weight_and_refuses_tracers():
  p, xs = _problem()
  assert jaxrnn.checks.check_params(p) == (12, 3, 2)
  bad = p._replace(A=p.A.at[4, 1].set(jnp.inf))
  with pytest.raises(jaxrnn.checks.NonFiniteError, match=r"params\.A .* index \(4, 1\): \+inf"):
    jaxrnn.checks.check_params(bad)
  with pytest.raises(TypeError, match="needs concrete arrays"):
    jax.jit(jaxrnn.checks.check_params)(p)
  # Shapes and dtypes do run under jit.
  shapes = jax.jit(lambda p: jnp.asarray(jaxrnn.checks.check_params(p, values=False)))(p)
  assert shapes.tolist() == [12, 3, 2]
  with pytest.raises(ValueError, match="params.W must be square"):
    jax.jit(lambda p: jaxrnn.checks.check_params(p, values=False))(p._replace(W=p.W[:, :5]))


def test_check_finite_on_trees_and_all_finite_under_jit():
  tree = {"loss": jnp.ones(3), "grads": {"W": jnp.zeros((2, 2)).at[1, 0].set(jnp.nan)}}
  with pytest.raises(jaxrnn.checks.NonFiniteError, match=r"g\['grads'\]\['W'\] .* \(1, 0\): NaN"):
    jaxrnn.checks.check_finite(tree, "g")
  assert jaxrnn.checks.check_finite(tree["loss"]) is tree["loss"]
  assert not bool(jax.jit(jaxrnn.checks.all_finite)(tree))
  assert bool(jax.jit(jaxrnn.checks.all_finite)(tree["loss"]))
  with pytest.raises(TypeError, match="all_finite"):
    jax.jit(jaxrnn.checks.check_finite)(tree["loss"])
  p, xs = _problem()
  with pytest.raises(jaxrnn.checks.NonFiniteError, match="xs has a non-finite entry at step l=3"):
    jaxrnn.checks.check_sequence(p, xs.at[2, 0].set(jnp.nan))
  assert issubclass(jaxrnn.checks.NonFiniteError, ValueError)
  assert issubclass(jaxrnn.checks.ResourceError, MemoryError)


# --------------------------------------------------------------------------
# The runner: NaN/inf metrics are stored as null, listed, warned about.


def test_runner_marks_nonfinite_metrics_and_keeps_going(tmp_path, capsys, monkeypatch):
  from jaxrnn import cli
  from tests import _fake_experiment as F

  F.install(monkeypatch)
  args = ["run", F.NAME, "--out", str(tmp_path), "--no-progress", "--set", "nan_every=3"]
  assert cli.main(args) == 0
  err = capsys.readouterr().err
  recs = F.records(tmp_path, sets=["nan_every=3"])
  assert len(recs) == 30
  for r in recs:
    i = r["point"]["i"]
    if i % 3 == 0:
      assert r["v"] is None and r["per_seed"] == [1.0, None, None]
      assert r["nonfinite"] == {"v": "NaN", "per_seed": "1 NaN, 1 +inf of 3"}
    else:
      assert "nonfinite" not in r and r["v"] == float(i)
  warned = [line for line in err.splitlines() if line.startswith("jaxrnn: warning: fake point")]
  assert len(warned) == 10, err
  summary = (F.run_dir(tmp_path, sets=["nan_every=3"]) / "summary.md").read_text()
  assert "Non-finite metrics:** 10 of 30 points" in summary
  # A resume reads the records back (nulls and all) and reports the same.
  assert cli.main(args) == 0
  assert "Non-finite metrics:** 10 of 30 points" in capsys.readouterr().out


def test_non_finite_sweep_points_are_refused_before_any_work(tmp_path):
  from tests import _fake_experiment as F

  calls = []
  exp = dataclasses.replace(
    F.EXPERIMENT,
    points=lambda cfg: [{"omega": 0.1}, {"omega": float("inf")}],
    run_point=lambda cfg, pt: calls.append(pt) or {"v": 1.0},
  )
  with pytest.raises(experiments.ConfigError, match="non-finite"):
    experiments.run_experiment(exp, F.Config(), tmp_path, preset="quick", progress=False)
  assert calls == [] and not (tmp_path / "results.jsonl").exists()


def _diverging_point(cfg, point):
  # Training with lr = 1000: every seed diverges.
  k = jax.random.split(jax.random.key(cfg.seed), 2)
  xs = jax.random.normal(k[0], (4, 3, 3)) / 2
  ys = jnp.sign(xs[:, 1, 0])
  fn = functools.partial(
    jaxrnn.training.init_and_train,
    m=4,
    optimizer=optax.sgd(1000.0),
    steps=2,
    eval_every=1,
    loss="squared",
  )
  res = jaxrnn.sweep(fn, jaxrnn.seed_keys(cfg.seed, 2), xs, ys)
  return {
    "diverged": np.asarray(res.diverged).tolist(),
    "final_loss": np.asarray(res.eval_loss[:, -1]),
    "final_loss_mean": float(np.mean(res.eval_loss[:, -1])),
  }


def test_an_all_diverged_training_is_stored_and_marked(tmp_path):
  from tests import _fake_experiment as F

  exp = dataclasses.replace(
    F.EXPERIMENT,
    points=lambda cfg: [{"i": 0}],
    run_point=_diverging_point,
    report=lambda cfg, records, out_dir: "# all diverged\n",
  )
  from jaxrnn.lab.runner import NonFiniteMetrics

  with pytest.warns(NonFiniteMetrics, match="final_loss"):
    recs, summary = experiments.run_experiment(
      exp, F.Config(n=1), tmp_path, preset="quick", progress=False
    )
  (rec,) = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
  assert rec == recs[0]
  assert rec["diverged"] == [True, True]
  assert rec["final_loss"] == [None, None] and rec["final_loss_mean"] is None
  assert rec["nonfinite"] == {"final_loss": "2 NaN of 2", "final_loss_mean": "NaN"}
  assert "Non-finite metrics:** 1 of 1 points" in summary
