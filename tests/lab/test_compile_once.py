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


# For each experiment, an index into its tiny preset's points: the point run
# twice (another seed); then another point of the same shapes (an index, or
# changes to the first point), or None.
_POINTS = {
  "linearization": (2, 4),  # relative 0.01 and absolute 0.1 share a program
  "random_features": (0, None),  # one point per width
  "invertibility": (0, 1),  # another eps_x at the same width
  "backward_correlation": (0, None),
  "rerandomization": (0, None),
  "normalization": (0, None),  # training points of every L: tests/lab/test_exp_normalization.py
  "existence": (0, None),
  # another cell of the same width, length and model: padded to the same runs
  "training": (3, {"runs": [[16, 1.0]]}),
  "ntk_regime": (0, None),
  "languages": (1, None),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_POINTS))
def test_experiment_point_compiles_once_per_shape(name):
  exp = experiments.get(name)
  cfg = exp.presets["tiny"]
  points = exp.points(cfg)
  first, other = _POINTS[name]
  exp.run_point(cfg, points[first])
  # The same point with another seed has the same shapes: nothing compiles.
  with count_compiles() as c:
    exp.run_point(dataclasses.replace(cfg, seed=1), points[first])
  assert c["n"] == 0, f"{name}: {c['n']} compilations for a new seed"
  if other is not None:  # another grid point of the same shapes
    point = points[other] if isinstance(other, int) else {**points[first], **other}
    with count_compiles() as c:
      exp.run_point(cfg, point)
    assert c["n"] == 0, f"{name}: {c['n']} compilations for {point}"
