"""Every function compiles once per shape: ``train`` with a new learning rate,
``sweep`` over grid points, and each experiment's per-point function.

Compilations are counted with ``jax.monitoring`` (one
``backend_compile_duration`` event per XLA compilation), so the tests see
every compile in the process, including ones a wrapper would hide.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import optax
import pytest

import jaxrnn
from jaxrnn import experiments, training
from tests._compiles import count_compiles


def _data():
  k = jax.random.split(jax.random.key(0), 3)
  p = jaxrnn.init_params(k[0], 16, 4, 1)
  xs = jax.vmap(lambda kk: jaxrnn.random_normalized_sequence(kk, 5, 4, 0.5))(
    jax.random.split(k[1], 8)
  )
  return k[2], p, xs, jnp.sign(xs[:, 2, 0])


def test_counter_sees_a_compile():
  f = jax.jit(lambda x: x * 3 + 1)
  with count_compiles() as c:
    f(jnp.ones(7))
  assert c["n"] >= 1


def test_train_new_learning_rate_does_not_recompile():
  key, p, xs, ys = _data()
  run = functools.partial(training.train, key, p, xs, ys, steps=6, eval_every=3)
  run(optimizer=training.optimizer("sgd", learning_rate=0.1)).eval_loss.block_until_ready()
  with count_compiles() as c:
    res = run(optimizer=training.optimizer("sgd", learning_rate=0.2))
    res.eval_loss.block_until_ready()
  assert c["n"] == 0
  # The other numbers of a spec are traced as well.
  run(optimizer=training.optimizer("rmsprop", learning_rate=1e-3, decay=0.9))
  with count_compiles() as c:
    run(optimizer=training.optimizer("rmsprop", learning_rate=3e-3, decay=0.8))
  assert c["n"] == 0


def test_train_with_raw_optax_instances_recompiles():
  # The documented reason for the spec: a raw GradientTransformation is a
  # static argument, so a new instance compiles again.
  key, p, xs, ys = _data()
  run = functools.partial(training.train, key, p, xs, ys, steps=6, eval_every=3)
  run(optimizer=optax.sgd(0.1))
  with count_compiles() as c:
    run(optimizer=optax.sgd(0.1))
  assert c["n"] >= 1


@pytest.mark.slow
def test_sweep_grid_points_of_one_shape_compile_once():
  def per_seed(key, scale, *, m):
    p = jaxrnn.init_params(key, m, 3, 1)
    return scale * jaxrnn.rnn_output(p, jnp.ones((4, 3)))

  keys = jaxrnn.seed_keys(0, 4)
  jaxrnn.sweep(functools.partial(per_seed, m=8), keys, jnp.asarray(1.0))
  with count_compiles() as c:
    for s in (2.0, 3.0, 4.0):  # a new partial object every time
      jaxrnn.sweep(functools.partial(per_seed, m=8), keys, jnp.asarray(s))
  assert c["n"] == 0
  with count_compiles() as c:
    jaxrnn.sweep(functools.partial(per_seed, m=12), keys, jnp.asarray(1.0))
  assert c["n"] >= 1  # another width is another program


# Tiny configs, and for each a point; (name, overrides, second point or None).
_TINY = {
  "linearization": (
    dict(ms=(8,), omegas=(0.01, 0.1), radii=(0.1,), num_seeds=2, num_sequences=2, L=4),
    {"m": 8, "scaling": "relative", "size": 0.01},
    {"m": 8, "scaling": "absolute", "size": 0.1},  # relative and absolute share a program
  ),
  "random_features": (dict(ms=(16,), num_pairs=4, num_seeds=2), {"m": 16}, None),
  "invertibility": (
    dict(ms=(16,), Ls=(3, 4), eps_xs=(0.01, 0.05), num_seeds=2, num_sequences=2, num_train=8),
    {"m": 16, "eps_x": 0.01},
    {"m": 16, "eps_x": 0.05},
  ),
  "backward_correlation": (
    dict(ms=(16,), d_outs=(1, 2), L=4, num_seeds=2, num_sequences=2),
    {"m": 16},
    None,
  ),
  "rerandomization": (
    dict(ms=(16,), num_blocks=(2, 4), L=4, num_seeds=2, num_sequences=2),
    {"m": 16},
    None,
  ),
  "normalization": (
    dict(
      ms=(16,),
      Ls=(3, 4),
      num_seeds=2,
      num_sequences=2,
      num_train=8,
      train_m=8,
      min_steps=10,
      max_steps=10,
      batch_size=2,
      num_samples=4,
      num_test=4,
    ),
    {"part": "inversion", "m": 16},
    None,
  ),  # training points of every L share one program: tests/lab/test_exp_normalization.py
  "existence": (
    dict(phis=("pow:1", "pow:2"), ms=(16,), L=4, num_seeds=2, num_test=8, nodes=5, fit_width=16),
    {"m": 16},
    None,
  ),  # one point per width; another width is another program
  "training": (
    dict(
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
    ),
    {
      "kind": "train",
      "target": "pow:1",
      "m": 16,
      "L": 4,
      "runs": [[8, 0.1], [16, 0.1]],
      "pseudo": False,
    },
    # another cell of the same width, length and model: padded to the same runs
    {"kind": "train", "target": "pow:1", "m": 16, "L": 4, "runs": [[16, 1.0]], "pseudo": False},
  ),
  "ntk_regime": (
    dict(ms=(8,), num_train=4, num_test=4, steps=5, num_seeds=2, L=4),
    {"m": 8},
    None,
  ),  # another m is another program
  "languages": (
    dict(
      languages=("tomita1", "parity"),
      optimizers=("rmsprop",),
      train_max_len=4,
      test_bin_edges=(6,),
      n_test=8,
      m=8,
      steps=4,
      batch_size=4,
      num_seeds=2,
      complexity_lengths=(4,),
      additive_lengths=(2,),
      additive_n=2,
    ),
    {"kind": "train", "language": "tomita1", "optimizer": "rmsprop"},
    None,
  ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_TINY))
def test_experiment_point_compiles_once_per_shape(name):
  exp = experiments.get(name)
  overrides, point, other = _TINY[name]
  cfg = dataclasses.replace(exp.presets["quick"], **overrides)
  experiments.validate_config(cfg)
  exp.run_point(cfg, point)
  # The same point with another seed has the same shapes: nothing compiles.
  with count_compiles() as c:
    exp.run_point(dataclasses.replace(cfg, seed=1), point)
  assert c["n"] == 0, f"{name}: {c['n']} compilations for a new seed"
  if other is not None:  # another grid point of the same shapes
    with count_compiles() as c:
      exp.run_point(cfg, other)
    assert c["n"] == 0, f"{name}: {c['n']} compilations for {other}"
