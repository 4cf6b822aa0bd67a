"""Training the RNN with SGD on W' and A' only, B frozen (Sec. 3.3, Thm. 3.1).

The objective of Sec. 3.3 is, for one sample (xbar, y*) with normalized form x,

    Obj(xbar, y*; W', A') = G(lambda * F_rnn^(L)(x; W + W', A + A'), y*),

with W, A, B the random initialization, B never trained, lambda > 0 a scale,
and G(., y*) convex and 1-Lipschitz in its first argument. SGD moves only the
perturbations W', A' (started at 0):

    W'_t = W'_{t-1} - eta grad_{W'} Obj,     A'_t = A'_{t-1} - eta grad_{A'} Obj.

``train`` runs this with any optax ``GradientTransformation`` (plain
``optax.sgd(eta)`` for the theorem; RMSprop or Adam work the same way). Only
the pytree ``(W', A')`` is differentiated and handed to the optimizer, so B is
returned bit for bit unchanged. The whole run is one jitted program: an outer
``lax.scan`` over evaluation chunks and an inner ``lax.scan`` over the SGD
steps of a chunk; run many seeds at once with ``jaxrnn.sweep`` over
``init_and_train``.

Two models share the loop (``model=``):

- ``"rnn"``: ``lambda * F_rnn(x; W + W', A + A')``, the network of Thm. 3.1.
- ``"pseudo"``: the linearized model ``lambda * (F_rnn(x; W, A) + F(x; W', A'))``
  with F the pseudo-network of Eq. (4) (``jaxrnn.pseudo_network``); its
  output is affine in (W', A'), so the objective is convex (Sec. 4.3).

Divergence. A step whose loss or new weights are not finite, or whose loss
exceeds ``max_loss``, marks the run as diverged: that update is discarded,
no further update is applied (the weights stay at the last finite iterate),
every later recorded loss is NaN, and ``TrainResult.diverged`` is True with
``diverged_step`` the first bad step. Reports must show such runs as
"diverged", never as a number.

Design choices where the paper is silent (also in ``train``'s docstring):
minibatches are drawn uniformly *with replacement* from the N training samples
(Sec. 3.3's "random sample from Z"); for ``d_out > 1`` the losses average over
output coordinates (this keeps G 1-Lipschitz); the clipped squared loss is the
Huber loss with threshold 1 (equal to the squared loss 1/2 (z - y)^2 for
|z - y| <= 1 and continued linearly with slope 1, the unique convex 1-Lipschitz
continuation).
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src.infinite_width import infinite_width_ntk
from jaxrnn._src.kernels import empirical_ntk
from jaxrnn._src.pseudo import pseudo_network
from jaxrnn._src.rnn import RNNParams, init_params, rnn_output

# --------------------------------------------------------------------------
# Losses G(z, y): z (d_out,) model output, y (d_out,) label. Convex,
# 1-Lipschitz in z (Sec. 3.1).


def logistic_loss(z: jax.Array, y: jax.Array) -> jax.Array:
  """Logistic loss ``mean_s log(1 + exp(-y_s z_s))`` for labels ``y_s = +-1``.

  Convex and 1-Lipschitz in ``z`` (each coordinate's derivative lies in
  (-1, 1); the mean over the d_out coordinates keeps the l2 Lipschitz constant
  <= 1). ``G(0, y) = log 2``. Labels in {0, 1} must be mapped to ``2 y - 1``.

  **Arguments:** ``z`` (d_out,) output, ``y`` (d_out,) labels in {-1, +1}.

  **Returns:** scalar. Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.training import logistic_loss
    >>> round(float(logistic_loss(jnp.zeros(1), jnp.ones(1))), 6)  # log 2
    0.693147
  """
  return jnp.mean(jnp.logaddexp(jnp.zeros((), z.dtype), -y * z))


def clipped_squared_loss(z: jax.Array, y: jax.Array) -> jax.Array:
  """Squared loss clipped to be 1-Lipschitz (Huber loss with threshold 1).

  ``G(z, y) = mean_s g(z_s - y_s)`` with ``g(r) = r^2 / 2`` for ``|r| <= 1``
  and ``|r| - 1/2`` otherwise: the l2 regression loss on bounded arguments
  (Sec. 3.1 "l2-regression loss (for bounded arguments)"), continued with
  slope 1 so that it stays convex and 1-Lipschitz everywhere.

  **Arguments:** ``z`` (d_out,) output, ``y`` (d_out,) real targets.

  **Returns:** scalar. Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.training import clipped_squared_loss
    >>> float(clipped_squared_loss(jnp.array([3.0]), jnp.array([0.5])))
    2.0
  """
  return jnp.mean(optax.huber_loss(z, y, delta=1.0))


def squared_loss(z: jax.Array, y: jax.Array) -> jax.Array:
  """Half the squared error, ``mean_s (z_s - y_s)^2 / 2`` (not Lipschitz; for
  practical runs only). A ``TrainResult.eval_loss`` under ``loss="squared"``
  is therefore half the mean squared error; ``TrainResult.eval_mse`` is the
  mean squared error itself, whatever the loss."""
  return 0.5 * jnp.mean((z - y) ** 2)


LOSSES: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
  "logistic": logistic_loss,
  "clipped_squared": clipped_squared_loss,
  "squared": squared_loss,  # half the squared error (see squared_loss)
}


def get_loss(
  loss: str | Callable[[jax.Array, jax.Array], jax.Array],
) -> Callable[[jax.Array, jax.Array], jax.Array]:
  """``loss`` as a function ``G(z, y) -> scalar``: a name from ``LOSSES``
  ("logistic", "clipped_squared", "squared") or a callable returned as is."""
  if callable(loss):
    return loss
  if isinstance(loss, str) and loss in LOSSES:
    return LOSSES[loss]
  raise ValueError(f"loss must be one of {sorted(LOSSES)} or a callable G(z, y), got {loss!r}")


def sign_accuracy(z: jax.Array, y: jax.Array) -> jax.Array:
  """Fraction of output coordinates with ``sign(z) == sign(y)`` (z = 0 counts
  as +1); the classification accuracy for labels in {-1, +1}."""
  return jnp.mean((jnp.where(z >= 0, 1, -1) == jnp.where(y >= 0, 1, -1)).astype(z.dtype))


# --------------------------------------------------------------------------
# Models


MODELS = ("rnn", "pseudo")


def model_output(
  params: RNNParams,
  delta: RNNParams,
  xs: jax.Array,
  *,
  model: str = "rnn",
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  """The scaled output trained by ``train`` for one sequence ``xs`` (L, d).

  - ``model="rnn"``: ``scale * F_rnn(x; W + W', A + A')`` (Sec. 3.3).
  - ``model="pseudo"``: ``scale * (F_rnn(x; W, A) + F(x; W', A'))``, the
    first-order expansion of the former (Eq. 4).

  ``delta.B`` is ignored. **Returns:** (d_out,).
  """
  if model == "rnn":
    return scale * rnn_output(RNNParams(params.W + delta.W, params.A + delta.A, params.B), xs)
  if model == "pseudo":
    return scale * (rnn_output(params, xs) + pseudo_network(params, delta, xs))
  raise ValueError(f"model must be one of {MODELS}, got {model!r}")


# --------------------------------------------------------------------------
# Optimizers: optax.inject_hyperparams, one compilation per kind


def optimizer(name: str, **hyperparams) -> optax.GradientTransformationExtraArgs:
  """``optax.inject_hyperparams(getattr(optax, name))(**hyperparams)``, made
  so that ``train`` compiles once per optimizer *kind*.

  ``inject_hyperparams`` keeps the numeric hyperparameters given here
  (learning rate, decay, eps, ...) in the optimizer *state*, as arrays of the
  weights' dtype (the factory's defaults stay constants, so the arithmetic
  is that of calling ``optax.<name>`` directly); ``train`` builds that state
  outside its jitted program and passes it in, so they are traced. The
  transformation's ``update`` reads them from the state only, so every
  optimizer of one kind (the same ``name``, the same names of numeric
  hyperparameters, the same non-numeric ones: bools, None, strings,
  schedules) gets the same ``update`` function, and ``train`` reuses its
  compilation; runs that differ only in a learning rate share one
  program. Equal concrete hyperparameters give the same object.

  **Arguments:** ``name``: an optax function returning a
  ``GradientTransformation`` (``"sgd"``, ``"rmsprop"``, ``"adam"``, ...);
  ``hyperparams``: its keyword arguments; numbers must be finite (they may
  be traced scalars). Unknown names or arguments raise ``ValueError``.

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn import training
    >>> opt = training.optimizer("sgd", learning_rate=0.1)
    >>> opt.update is training.optimizer("sgd", learning_rate=0.2).update
    True
    >>> float(opt.init({"w": jnp.zeros(2)}).hyperparams["learning_rate"])
    0.1
  """
  fn = getattr(optax, name, None) if isinstance(name, str) else None
  if not callable(fn):
    raise ValueError(
      f"optimizer name must name an optax optimizer (e.g. 'sgd', 'rmsprop', 'adam'), got {name!r}"
    )
  numeric, static = [], []
  for key, value in sorted(hyperparams.items()):
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
      v = float(value)
      if not math.isfinite(v):
        raise ValueError(f"optimizer hyperparameter {key} must be finite, got {value!r}")
      numeric.append((key, v))
    elif isinstance(value, (jax.Array, np.ndarray)) and jnp.ndim(value) == 0:
      numeric.append((key, value))  # an array, possibly traced: kept as is
    else:
      static.append((key, value))
  numeric, static = tuple(numeric), tuple(static)
  if all(arguments.is_concrete(v) for _, v in numeric):
    try:
      tx = fn(**dict(numeric), **dict(static))
    except TypeError as e:
      raise ValueError(f"optax.{name}: {e}") from None
    if not isinstance(tx, optax.GradientTransformation):
      raise ValueError(f"optax.{name} does not return a GradientTransformation")
  names = tuple(k for k, _ in numeric)
  try:
    if all(isinstance(v, float) for _, v in numeric):
      return _injected(name, numeric, static)
    update = _injected(name, tuple((k, 0.0) for k in names), static).update
  except TypeError:  # an unhashable non-numeric hyperparameter: no shared compilation
    return _inject(name, names)(**dict(numeric), **dict(static))
  init = _inject(name, names)(**dict(numeric), **dict(static)).init
  return optax.GradientTransformationExtraArgs(init, update)


def _inject(name: str, numeric: tuple) -> Callable[..., optax.GradientTransformationExtraArgs]:
  """``optax.inject_hyperparams(optax.<name>)`` with only the hyperparameters
  named in ``numeric`` in the state: the factory's defaults stay constants of
  the program, as when it is called directly."""
  fn = getattr(optax, name)
  static = [p for p in inspect.signature(fn).parameters if p not in numeric]
  return optax.inject_hyperparams(fn, static_args=static)


@functools.lru_cache(maxsize=256)
def _injected(name: str, numeric: tuple, static: tuple) -> optax.GradientTransformationExtraArgs:
  """The optimizer of ``optimizer`` for concrete numbers, its ``update``
  shared by every optimizer of the kind (the same numbers at 0)."""
  tx = _inject(name, tuple(k for k, _ in numeric))(**dict(numeric), **dict(static))
  if all(v == 0.0 for _, v in numeric):
    return tx
  kind = _injected(name, tuple((k, 0.0) for k, _ in numeric), static)
  return optax.GradientTransformationExtraArgs(tx.init, kind.update)


_optimizer_spec = optimizer  # ``train``'s argument of the same name shadows it


# --------------------------------------------------------------------------
# Training loop


class TrainResult(NamedTuple):
  """What ``train`` returns (a pytree; under ``sweep`` every leaf gains a
  leading seed axis).

  - ``params``: ``RNNParams(W + W'_T, A + A'_T, B)``, the trained network (B is
    the input B, bit for bit). After divergence: the last finite iterate.
  - ``delta``: ``RNNParams(W'_T, A'_T, zeros_like(B))``.
  - ``train_loss``: (num_evals,) mean minibatch objective over each chunk of
    ``eval_every`` steps (NaN for chunks at or after divergence).
  - ``eval_loss``, ``eval_accuracy``: (num_evals + 1,) mean loss G and sign
    accuracy on the evaluation set before training (entry 0) and after each
    chunk (NaN after divergence). Under ``loss="squared"`` G is half the
    squared error.
  - ``eval_mse``: (num_evals + 1,) mean squared error ``mean |z - y|^2 /
    d_out`` on the evaluation set, whatever the loss (NaN after divergence).
  - ``monitor``: the ``monitor`` pytree stacked over the num_evals + 1
    evaluation times (None when no monitor is given).
  - ``diverged``: bool; ``diverged_step``: first bad step (0-based), -1 if none.
  - ``init``: the ``params`` given to ``train`` (the initialization), so that
    ``predict(result, xs)`` needs nothing else.
  - ``scale``: the lambda the run used; ``eta``: the SGD step when
    ``train`` chose it (``optimizer=None``), else NaN.
  """

  params: RNNParams
  delta: RNNParams
  train_loss: jax.Array
  eval_loss: jax.Array
  eval_accuracy: jax.Array
  monitor: Any
  diverged: jax.Array
  diverged_step: jax.Array
  eval_mse: jax.Array = None
  init: RNNParams | None = None
  scale: jax.Array | None = None
  eta: jax.Array | None = None


def predict(result: TrainResult, xs: jax.Array, *, model: str = "rnn") -> jax.Array:
  """What the trained model outputs on one sequence ``xs`` (L, d): the
  ``model_output`` of ``train`` with the run's initialization, update and
  lambda, ``scale * F_rnn(x; W + W', A + A')`` (``model="rnn"``) or its
  pseudo-network ``scale * (F_rnn(x; W, A) + F(x; W', A'))``
  (``model="pseudo"``, Eq. 4). Batch with ``jax.vmap``.

  **Returns:** (d_out,). Cost: one forward pass (a jvp for the pseudo-network).

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn import training
    >>> k = jax.random.split(jax.random.key(0), 3)
    >>> p = jaxrnn.init_params(k[0], 32, 4, 1)
    >>> seq = lambda kk: jaxrnn.random_normalized_sequence(kk, 5, 4, 0.5)
    >>> xs = jax.vmap(seq)(jax.random.split(k[1], 16))
    >>> res = training.train(k[2], p, xs, xs[:, 2, 0], steps=20, loss="squared")
    >>> z = jax.vmap(lambda x: training.predict(res, x))(xs)
    >>> z.shape, bool(jax.numpy.allclose(jax.numpy.mean((z[:, 0] - xs[:, 2, 0]) ** 2),
    ...                                   res.eval_mse[-1], rtol=1e-4))
    ((16, 1), True)
  """
  if result.init is None or result.scale is None:
    raise ValueError("predict needs a TrainResult from train (with its init and scale)")
  if jnp.ndim(result.scale) != 0:
    raise ValueError(
      "predict takes the TrainResult of one run; index a sweep's result first "
      "(jax.tree.map(lambda a: a[i], result))"
    )
  return model_output(result.init, result.delta, xs, model=model, scale=result.scale)


def _as_labels(ys: jax.Array, n: int, d_out: int, name: str) -> jax.Array:
  if jnp.ndim(ys) == 1 and d_out == 1:
    ys = ys[:, None]
  if jnp.ndim(ys) != 2 or ys.shape != (n, d_out):
    raise ValueError(
      f"{name} must have shape ({n}, {d_out}) (or ({n},) when d_out = 1), "
      f"got {tuple(jnp.shape(ys))}"
    )
  return ys


def _check_data(params: RNNParams, xs, ys, name: str):
  m, d, d_out = arguments.check_params(params)
  xs, ys = jnp.asarray(xs), jnp.asarray(ys)
  if jnp.ndim(xs) != 3:
    raise ValueError(f"{name}_xs must have shape (N, L, d), got {tuple(jnp.shape(xs))}")
  arguments.check_float(f"{name}_xs", xs)
  if xs.shape[2] != d:
    raise ValueError(f"{name}_xs has d={xs.shape[2]} but params.A expects d={d}")
  if xs.shape[0] < 1 or xs.shape[1] < 1:
    raise ValueError(f"{name}_xs must hold at least one sequence of length >= 1")
  if jnp.result_type(xs) != jnp.result_type(params.W):
    raise TypeError(
      f"{name}_xs has dtype {jnp.result_type(xs)} but params have dtype {jnp.result_type(params.W)}"
    )
  ys = _as_labels(ys, xs.shape[0], d_out, f"{name}_ys")
  return xs, ys.astype(jnp.result_type(params.W))


def _positive_int(name, v):
  if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
    raise ValueError(f"{name} must be a positive int, got {v!r}")


def _all_finite(tree) -> jax.Array:
  leaves = jax.tree.leaves(tree)
  return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def train(
  key: jax.Array,
  params: RNNParams,
  xs: jax.Array,
  ys: jax.Array,
  eval_xs: jax.Array | None = None,
  eval_ys: jax.Array | None = None,
  *,
  optimizer: optax.GradientTransformation | None = None,
  steps: int,
  loss: str | Callable[[jax.Array, jax.Array], jax.Array] = "logistic",
  batch_size: int = 1,
  scale: float | jax.Array = 1.0,
  model: str = "rnn",
  eval_every: int | None = None,
  max_loss: float = 1e6,
  monitor: Callable | None = None,
  num_train: int | jax.Array | None = None,
) -> TrainResult:
  """SGD (or any optax optimizer) on W', A' with B frozen (Sec. 3.3).

  Minimizes ``mean_{(x,y) in batch} G(model_output(params, delta, x), y)``
  over ``delta = (W', A')``, started at 0; see ``model_output`` for the two
  models. Each step draws ``batch_size`` indices uniformly with replacement
  from the N training sequences (``batch_size=1`` is the single-sample SGD of
  Sec. 3.3), takes the gradient with respect to (W', A') only and applies
  ``optimizer``. The loop is ``lax.scan`` over ``steps // eval_every`` chunks
  of ``eval_every`` steps; after each chunk the model is evaluated on
  ``(eval_xs, eval_ys)`` (default: the training set).

  Compiles once per shape and kind of run: ``steps``, ``loss``,
  ``batch_size``, ``model``, ``eval_every``, ``monitor`` and the optimizer's
  ``update`` function are static; ``scale``, ``max_loss`` and the optimizer
  state (with ``optimizer(...)``, i.e. ``optax.inject_hyperparams``, the
  hyperparameters) are traced, so a new learning rate does not recompile. (A
  raw ``optax.sgd(0.1)`` has its numbers inside ``update``: each new
  instance, even ``optax.sgd(0.1)`` again, compiles anew; prefer
  ``optimizer("sgd", learning_rate=0.1)``.)

  **Arguments:**

  - ``key``: PRNG key for the minibatch draws.
  - ``params``: ``RNNParams`` at initialization (W, A, B).
  - ``xs``: (N, L, d) training sequences (e.g. Def. 3.1 normalized);
    ``ys``: (N, d_out) labels, or (N,) when d_out = 1. For the logistic loss
    labels are +-1.
  - ``eval_xs``, ``eval_ys``: held-out data of the same kind (population loss
    estimate); ``None`` uses the training data.
  - ``optimizer``: an ``optax.GradientTransformation``, best built with
    ``optimizer``, e.g. ``optimizer("sgd", learning_rate=eta)`` (Thm. 3.1)
    or ``optimizer("rmsprop", learning_rate=1e-3)``. None
    (default): SGD with the step read from the measured kernel,
    ``kernel_step_size(params, xs, scale=scale, batch_size=batch_size).eta``
    (stable by construction; recorded in ``TrainResult.eta``).
  - ``steps``: number of optimizer steps T.
  - ``loss``: "logistic", "clipped_squared", "squared", or a callable
    ``G(z (d_out,), y (d_out,)) -> scalar``.
  - ``batch_size``: samples per step.
  - ``scale``: the lambda of Sec. 3.3 (Thm. 3.1: ``eps / (10 L rho)``).
  - ``model``: "rnn" or "pseudo".
  - ``eval_every``: steps per chunk (must divide ``steps``; default ``steps``).
  - ``max_loss``: a minibatch loss above it counts as divergence (the losses
    above grow like |output|, so 1e6 means the output blew up).
  - ``monitor``: optional ``monitor(params, delta, eval_xs) -> pytree`` of
    arrays evaluated with the evaluation (e.g. weight movement).
  - ``num_train``: optional (possibly traced) int n <= N: draw minibatches
    from the first n sequences only, so runs with several training-set
    sizes share one compilation (pad ``xs`` to the largest N).

  **Returns:** a ``TrainResult``.

  Cost: ``steps * batch_size`` forward+backward passes, O(L m^2) each, plus
  ``(steps / eval_every + 1) * N_eval`` forward passes.

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn import training
    >>> k = jax.random.split(jax.random.key(0), 3)
    >>> p = jaxrnn.init_params(k[0], 32, 4, 1)
    >>> seq = lambda kk: jaxrnn.random_normalized_sequence(kk, 5, 4, 0.5)
    >>> xs = jax.vmap(seq)(jax.random.split(k[1], 16))
    >>> ys = jax.numpy.sign(xs[:, 2, 0])
    >>> for lr in (0.1, 0.05):   # one compilation for both
    ...   opt = training.optimizer("sgd", learning_rate=lr)
    ...   res = training.train(k[2], p, xs, ys, optimizer=opt, steps=50, eval_every=10)
    >>> res.eval_loss.shape, bool(res.diverged)
    ((6,), False)
  """
  _positive_int("steps", steps)
  _positive_int("batch_size", batch_size)
  eval_every = steps if eval_every is None else eval_every
  _positive_int("eval_every", eval_every)
  if steps % eval_every:
    raise ValueError(f"eval_every={eval_every} must divide steps={steps}")
  if model not in MODELS:
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")
  eta = jnp.asarray(jnp.nan, params.W.dtype)
  if optimizer is None:
    if params.B.shape[0] != 1:
      raise ValueError("optimizer=None reads the step from the NTK, which needs d_out = 1")
    rows = jnp.asarray(xs)
    if num_train is not None:
      if not arguments.is_concrete(num_train):
        raise ValueError("with a traced num_train, give the optimizer (its step) explicitly")
      rows = rows[: int(num_train)]
    eta = kernel_step_size(params, rows, scale=scale, batch_size=batch_size).eta
    optimizer = _optimizer_spec("sgd", learning_rate=eta)
  if not isinstance(optimizer, optax.GradientTransformation):
    raise TypeError(
      "optimizer must be an optax.GradientTransformation (e.g. training.optimizer(...)), "
      f"got {type(optimizer).__name__}"
    )
  if not (isinstance(max_loss, (int, float)) and max_loss > 0):
    raise ValueError(f"max_loss must be a positive number, got {max_loss!r}")
  if arguments.is_concrete(scale):
    s = float(np.asarray(scale))
    if not math.isfinite(s) or s <= 0:
      raise ValueError(f"scale (lambda) must be a positive finite number, got {s!r}")
  G = get_loss(loss)
  xs, ys = _check_data(params, xs, ys, "train")
  if (eval_xs is None) != (eval_ys is None):
    raise ValueError("give both eval_xs and eval_ys, or neither")
  if eval_xs is None:
    eval_xs, eval_ys = xs, ys
  else:
    eval_xs, eval_ys = _check_data(params, eval_xs, eval_ys, "eval")
  if eval_xs.shape[1:] != xs.shape[1:]:
    raise ValueError(
      f"eval_xs sequences have shape {eval_xs.shape[1:]}, training sequences {xs.shape[1:]}"
    )

  n_valid = xs.shape[0] if num_train is None else num_train
  if arguments.is_concrete(n_valid) and not 1 <= int(n_valid) <= xs.shape[0]:
    raise ValueError(f"num_train must lie in [1, N={xs.shape[0]}], got {n_valid}")
  max_loss = jnp.asarray(max_loss, params.W.dtype)
  trainable0 = {"W": jnp.zeros_like(params.W), "A": jnp.zeros_like(params.A)}
  opt_state = optimizer.init(trainable0)  # inject_hyperparams: the numbers, traced below
  statics = dict(update=optimizer.update, steps=steps, G=G, batch_size=batch_size, model=model)
  statics.update(eval_every=eval_every, monitor=monitor)
  res = _train_jit(
    key, params, xs, ys, eval_xs, eval_ys, scale, n_valid, opt_state, max_loss, **statics
  )
  return res._replace(init=params, scale=jnp.asarray(scale, params.W.dtype), eta=eta)


@functools.partial(
  jax.jit, static_argnames=("update", "steps", "G", "batch_size", "model", "eval_every", "monitor")
)
def _train_jit(
  key,
  params,
  xs,
  ys,
  eval_xs,
  eval_ys,
  scale,
  n_valid,
  opt_state0,
  max_loss,
  *,
  update,
  steps,
  G,
  batch_size,
  model,
  eval_every,
  monitor,
):
  dtype = params.W.dtype
  num_chunks = steps // eval_every
  nan = jnp.asarray(jnp.nan, dtype)
  out = jax.vmap(
    lambda dl, x: model_output(params, dl, x, model=model, scale=scale), in_axes=(None, 0)
  )

  def batch_loss(trainable, bx, by):
    delta = RNNParams(trainable["W"], trainable["A"], params.B)
    return jnp.mean(jax.vmap(G)(out(delta, bx), by))

  grad_fn = jax.value_and_grad(batch_loss)

  def evaluate(trainable):
    delta = RNNParams(trainable["W"], trainable["A"], params.B)
    z = out(delta, eval_xs)
    el = jnp.mean(jax.vmap(G)(z, eval_ys))
    acc = jnp.mean(jax.vmap(sign_accuracy)(z, eval_ys))
    mse = jnp.mean((z - eval_ys) ** 2)
    mon = None
    if monitor is not None:
      mon = monitor(
        params, RNNParams(trainable["W"], trainable["A"], jnp.zeros_like(params.B)), eval_xs
      )
    return el, (acc, mse), mon

  def step(carry, inputs):
    trainable, opt_state, diverged, div_step = carry
    t, k = inputs
    idx = jax.random.randint(k, (batch_size,), 0, n_valid)
    value, grads = grad_fn(trainable, xs[idx], ys[idx])
    updates, new_state = update(grads, opt_state, trainable)
    new_trainable = optax.apply_updates(trainable, updates)
    bad = (~jnp.isfinite(value)) | (value > max_loss) | (~_all_finite(new_trainable))
    now = diverged | bad
    keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(now, b, a), new, old)
    trainable = keep(new_trainable, trainable)
    opt_state = keep(new_state, opt_state)
    div_step = jnp.where(bad & ~diverged, t, div_step)
    return (trainable, opt_state, now, div_step), jnp.where(now, nan, value)

  def chunk(carry, inputs):
    ts, ks = inputs
    carry, values = lax.scan(step, carry, (ts, ks))
    el, acc, mon = evaluate(carry[0])
    div = carry[2]
    acc = jax.tree.map(lambda a: jnp.where(div, nan, a), acc)
    return carry, (jnp.mean(values), jnp.where(div, nan, el), acc, mon)

  trainable0 = {"W": jnp.zeros_like(params.W), "A": jnp.zeros_like(params.A)}
  carry0 = (trainable0, opt_state0, jnp.asarray(False), jnp.asarray(-1, jnp.int32))
  ts = jnp.arange(steps, dtype=jnp.int32).reshape(num_chunks, eval_every)
  ks = jax.random.split(key, steps).reshape(num_chunks, eval_every)
  el0, acc0, mon0 = evaluate(trainable0)
  (trainable, _, diverged, div_step), (tl, el, acc, mon) = lax.scan(chunk, carry0, (ts, ks))
  cat = lambda a, b: jnp.concatenate([a[None], b], axis=0)
  mon = None if monitor is None else jax.tree.map(cat, mon0, mon)
  return TrainResult(
    params=RNNParams(params.W + trainable["W"], params.A + trainable["A"], params.B),
    delta=RNNParams(trainable["W"], trainable["A"], jnp.zeros_like(params.B)),
    train_loss=tl,
    eval_loss=cat(el0, el),
    eval_accuracy=cat(acc0[0], acc[0]),
    monitor=mon,
    diverged=diverged,
    diverged_step=div_step,
    eval_mse=cat(acc0[1], acc[1]),
  )


def init_and_train(
  key: jax.Array,
  xs: jax.Array,
  ys: jax.Array,
  eval_xs: jax.Array | None = None,
  eval_ys: jax.Array | None = None,
  *,
  m: int,
  d_out: int = 1,
  **train_kwargs,
) -> TrainResult:
  """``init_params`` then ``train``, from one key: the per-seed function for
  ``jaxrnn.sweep``.

  The key is split into an initialization key and a minibatch key. ``d`` is
  read from ``xs`` (N, L, d); the dtype of the weights is that of ``xs``.
  ``train_kwargs`` are ``train``'s keyword arguments (``optimizer``,
  ``steps``, ``loss``, ...).

  Example (8 seeds at once)::

    >>> import functools, jax, jaxrnn
    >>> from jaxrnn import training
    >>> seq = lambda k: jaxrnn.random_normalized_sequence(k, 5, 4, 0.5)
    >>> xs = jax.vmap(seq)(jaxrnn.seed_keys(1, 16))
    >>> ys = jax.numpy.sign(xs[:, 2, 0])
    >>> fn = functools.partial(training.init_and_train, m=32,
    ...                        optimizer=training.optimizer("sgd", learning_rate=0.1), steps=20)
    >>> res = jaxrnn.sweep(fn, jaxrnn.seed_keys(0, 8), xs, ys)
    >>> res.eval_loss.shape, res.diverged.shape
    ((8, 2), (8,))
  """
  k_init, k_train = jax.random.split(key)
  if jnp.ndim(xs) != 3:
    raise ValueError(f"xs must have shape (N, L, d), got {tuple(jnp.shape(xs))}")
  params = init_params(k_init, m, xs.shape[2], d_out, dtype=jnp.result_type(xs))
  return train(k_train, params, xs, ys, eval_xs, eval_ys, **train_kwargs)


# --------------------------------------------------------------------------
# Schedules


class Schedule(NamedTuple):
  """Hyperparameters of one training run (see ``theory_schedule``)."""

  rho: float  # 100 L d_out log m
  eps_x: float  # scale of the middle tokens (Def. 3.1)
  scale: float  # lambda of Sec. 3.3
  eta: float  # step size
  steps: int  # T (possibly capped)
  steps_uncapped: float  # T as the formula gives it
  note: str


def theory_schedule(
  m: int,
  L: int,
  d_out: int = 1,
  *,
  eps: float = 0.1,
  p: int = 1,
  complexity: float = 1.0,
  rho_power: float = 1.0,
  max_steps: int | None = None,
) -> Schedule:
  """rho, eps_x, lambda, eta and T of Thm. 3.1 with every Theta/poly made
  explicit.

  The theorem sets ``rho = 100 L d_out log m``, ``eps_x = 1 / poly(rho)``,
  ``lambda = eps / (10 L rho)``, ``eta = Theta(1 / (eps rho^2 m))`` and
  ``T = Theta(p^2 C^2 poly(rho) eps^-2)`` with ``C = C_eps(Phi, O(1/eps_x))``.
  The paper leaves the constants and the polynomials open; this function
  takes every Theta constant as 1 and ``poly(rho) = rho ** rho_power``
  (default rho^1; the theorem needs some fixed power, the appendix is not
  available). ``complexity`` is C (compute it with
  ``jaxrnn.complexity_eps`` at R = O(1/eps_x); it is astronomically large for
  C* = 1e4). ``max_steps`` caps T so that a run is possible; the uncapped T
  is kept in ``steps_uncapped``.

  Example::

    >>> from jaxrnn.training import theory_schedule
    >>> s = theory_schedule(256, 6, eps=0.1)
    >>> round(s.rho), f"{s.scale:.1e}", f"{s.eta:.1e}"
    (3327, '5.0e-07', '3.5e-09')
  """
  _positive_int("m", m)
  _positive_int("L", L)
  _positive_int("d_out", d_out)
  _positive_int("p", p)
  if not (eps > 0 and math.isfinite(eps)):
    raise ValueError(f"eps must be positive, got {eps!r}")
  if m < 2:
    raise ValueError("m must be at least 2 (rho uses log m)")
  rho = 100.0 * L * d_out * math.log(m)
  poly = rho**rho_power
  eps_x = 1.0 / poly
  lam = eps / (10.0 * L * rho)
  eta = 1.0 / (eps * rho**2 * m)
  t_raw = p**2 * complexity**2 * poly / eps**2
  t = t_raw if max_steps is None else min(t_raw, max_steps)
  t = int(max(1, min(t, 2**62)))
  note = (
    f"Thm 3.1 with Theta constants 1, poly(rho)=rho^{rho_power:g}: "
    f"rho={rho:.4g}, eps_x={eps_x:.3g}, lambda={lam:.3g}, eta={eta:.3g}, "
    f"T={t_raw:.3g}" + ("" if max_steps is None or t_raw <= max_steps else f" (capped to {t})")
  )
  return Schedule(rho, eps_x, lam, eta, t, t_raw, note)


def practical_schedule(
  m: int,
  L: int,
  *,
  d_out: int = 1,
  steps: int = 2000,
  lr: float = 0.5,
  eps_x: float = 0.5,
  scale: float = 1.0,
) -> Schedule:
  """A schedule that trains at CPU sizes (m ~ 64-512, T ~ 10^3).

  lambda = ``scale`` (default 1), eps_x = ``eps_x`` (default 0.5), and a step
  size ``eta = lr / m`` so that the change of the output per step stays of
  order ``lr`` as m grows (the 1/m of Thm. 3.1's eta; the gradient of B h^(L)
  with respect to W' and A' has squared norm ~ m, as B ~ N(0, 2)). These are
  choices, not the theorem's values; ``rho`` is reported for reference.
  """
  _positive_int("m", m)
  _positive_int("L", L)
  _positive_int("steps", steps)
  rho = 100.0 * L * d_out * math.log(max(m, 2))
  eta = lr / m
  note = f"practical: lambda={scale:g}, eps_x={eps_x:g}, eta=lr/m={eta:.3g}, T={steps}"
  return Schedule(rho, eps_x, scale, eta, steps, float(steps), note)


def stable_step_size(
  xs: jax.Array,
  m: int | None = None,
  *,
  params: RNNParams | None = None,
  lr: float | jax.Array = 1.0,
  scale: float | jax.Array = 1.0,
) -> jax.Array:
  """The SGD step ``eta = lr / (lambda^2 max_x Theta(x, x))``: the same
  effective step for the RNN and its pseudo-network, stable for ``lr < 2``.

  Why. In (W', A') the pseudo-network's output ``lambda (F_rnn(x; W, A) +
  F(x; W', A'))`` is affine with gradient ``lambda g(x)``, ``|g(x)|^2 =
  Theta(x, x)`` (the empirical NTK, ``jaxrnn.kernels.empirical_ntk``). With
  the squared or clipped squared loss (second derivative G'' in [0, 1]) the
  Hessian of a minibatch objective is ``lambda^2 / B sum_b G''_b g_b g_b^T``,
  whose top eigenvalue is at most ``lambda^2 max_b Theta(x_b, x_b)`` (the
  largest eigenvalue of an average of rank-one PSD matrices is at most their
  largest trace). Gradient descent on a quadratic is stable iff ``eta``
  times the top eigenvalue is below 2, so with this eta and ``lr < 2`` the
  pseudo-network's SGD is stable at every width and every lambda (on the
  sequences the max is taken over). The RNN gets the same eta, so both
  models take the same step in function space. ``Theta`` grows like m (the
  1/m of Thm. 3.1's ``eta = Theta(1 / (eps rho^2 m))``); the lambda^-2 keeps
  the step in function space fixed when lambda changes.

  Two ways to get ``Theta(x, x)``:

  - ``params`` given: the empirical NTK of this network (exact for it; the
    diagonal fluctuates from seed to seed, at m = 64, L = 6 by a factor of
    up to 4 around the limit).
  - ``params`` None: ``m Theta_inf(x, x)``, the infinite-width limit
    (``jaxrnn.kernels.infinite_width_ntk``). For normalized inputs (Def.
    3.1) ``Theta_inf(x, x) = sum_{i=1}^{L} S^(i)``, ``S^(i) = sum_{j <= i}
    |x^(j)|^2``, the same for every sequence: ``(L + 1) + eps_x^2 (L - 2)
    (L + 1) / 2`` (10.5 at L = 6, eps_x = 0.5). ``practical_schedule``'s
    ``eta = 0.25 / m`` at L = 5, eps_x = 0.5 has ``eta m Theta_inf = 0.25 x
    8.25 = 2.06``: past the limit, which is why a pseudo-network trained with
    it could oscillate.

  **Arguments:** ``xs`` (N, L, d) sequences (the max is over them); ``m``
  the width (needed when ``params`` is None); ``params`` an ``RNNParams``
  (d_out = 1); ``lr`` the step in units of the stability scale; ``scale``
  the lambda of Sec. 3.3. Jit-safe (``lr``, ``scale`` and ``params`` may be
  traced).

  **Returns:** eta, a scalar array. Cost O(N L) without ``params``,
  O(N L^2 m) with.

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn.training import stable_step_size
    >>> xs = jaxrnn.random_normalized_sequence(jax.random.key(0), 6, 4, 0.5)[None]
    >>> round(float(stable_step_size(xs, 100, lr=1.0)) * 100 * 10.5, 3)
    1.0
  """
  xs = jnp.asarray(xs)
  if xs.ndim != 3:
    raise ValueError(f"xs must have shape (N, L, d), got {tuple(xs.shape)}")
  for name, v in (("lr", lr), ("scale", scale)):
    if arguments.is_concrete(v) and not (math.isfinite(float(v)) and float(v) > 0):
      raise ValueError(f"{name} must be a positive finite number, got {v!r}")
  if params is None:
    if m is None:
      raise ValueError("give the width m (or params, for the empirical NTK)")
    _positive_int("m", m)
    diag = m * jax.vmap(lambda x: infinite_width_ntk(x[None], x[None])[0, 0])(xs)
  else:
    arguments.check_params(params)
    diag = jax.vmap(lambda x: empirical_ntk(params, x[None], x[None])[0, 0])(xs)
  return lr / (scale**2 * jnp.max(diag))


class StepSize(NamedTuple):
  """A step chosen from the measured kernel (``kernel_step_size``).

  - ``eta``: the step.
  - ``lambda_max``: the top eigenvalue of ``Theta_0`` on the training set
    (the empirical NTK at initialization, B frozen).
  - ``sharpness``: the curvature bound the step was set against,
    ``lambda^2 min(lambda_max / B, max_x Theta_0(x, x))``; gradient descent on
    the linearized objective is stable iff ``eta * sharpness < 2``.
  - ``ratio``: ``eta * sharpness`` (= ``lr``), the number to record.
  """

  eta: jax.Array
  lambda_max: jax.Array
  sharpness: jax.Array
  ratio: jax.Array


def kernel_step_size(
  params: RNNParams,
  xs: jax.Array,
  *,
  scale: float | jax.Array = 1.0,
  batch_size: int | None = None,
  lr: float | jax.Array = 1.0,
) -> StepSize:
  """The SGD step that is stable by construction for this network on these
  sequences, read from the top eigenvalue of its measured kernel.

  The math. Near initialization the model ``lambda F_rnn(x; W + W', A + A')``
  is its linearization ``lambda (F_rnn(x; W, A) + F(x; W', A'))`` (Eq. 4),
  affine in (W', A') with gradient ``lambda g(x)``, ``g(x) . g(x') =
  Theta_0(x, x')``. For a loss G with ``G'' <= 1`` (the squared and clipped
  squared losses; the logistic loss has ``G'' <= 1/4``) the Hessian of the
  objective on a minibatch S of size B is at most ``lambda^2 / B sum_{b in S}
  g_b g_b^T``, whose top eigenvalue equals ``lambda^2 lambda_max(K_S) / B``
  for the Gram matrix ``K_S`` of the batch. Two bounds hold for every batch:
  ``lambda_max(K_S) <= lambda_max(K)`` (a principal submatrix, when the batch
  has distinct members) and ``lambda_max(K_S) <= B max_x Theta_0(x, x)`` (its
  trace; this one also covers repeated draws). The step

      eta = lr / sharpness,   sharpness = lambda^2 min(lambda_max(K) / B, max_x Theta_0(x, x))

  keeps ``eta`` times the top curvature of gradient descent on the
  linearized objective at ``lr`` (stable iff < 2; ``lr = 1`` leaves a factor
  of two, default). With ``batch_size`` None, B = N: full-batch gradient
  descent, ``eta = lr N / (lambda^2 lambda_max(K))``. ``Theta_0`` grows like
  m, so ``eta`` falls like 1/m (Thm. 3.1's ``eta = Theta(1 / (eps rho^2 m))``
  up to its lambda and rho factors); the lambda^-2 keeps the step in function
  space fixed when lambda changes.

  Compared with ``stable_step_size`` (which bounds by ``max_x Theta(x, x)``
  alone), this step uses the spectrum: for full-batch descent it is about
  ``N max_diag / lambda_max`` times larger when the kernel's mass is spread
  over many directions, so the slow directions converge in fewer steps.

  **Arguments:** ``params`` an ``RNNParams`` at initialization (d_out = 1);
  ``xs`` (N, L, d) the training sequences; ``scale`` the lambda of Sec. 3.3;
  ``batch_size`` B (None: N); ``lr`` the step in units of the stability
  scale. Jit-safe in ``scale``, ``lr`` and ``params``.

  **Returns:** ``StepSize``. Cost: the N x N empirical NTK, O(N^2 L^2 m + N L
  m^2), and one symmetric eigenvalue problem, O(N^3).

  Example::

    >>> import jax, jaxrnn
    >>> from jaxrnn.training import kernel_step_size
    >>> k1, k2 = jax.random.split(jax.random.key(0))
    >>> p = jaxrnn.init_params(k1, 64, 4, 1)
    >>> seq = lambda k: jaxrnn.random_normalized_sequence(k, 5, 4, 0.5)
    >>> xs = jax.vmap(seq)(jax.random.split(k2, 16))
    >>> s = kernel_step_size(p, xs)
    >>> round(float(s.ratio), 6), bool(s.eta * s.lambda_max / 16 <= 1.0001)
    (1.0, True)
  """
  xs = jnp.asarray(xs)
  if xs.ndim != 3:
    raise ValueError(f"xs must have shape (N, L, d), got {tuple(xs.shape)}")
  arguments.check_params(params)
  if params.B.shape[0] != 1:
    raise ValueError(f"kernel_step_size needs d_out = 1, got d_out = {params.B.shape[0]}")
  n = xs.shape[0]
  b = n if batch_size is None else batch_size
  _positive_int("batch_size", b)
  for name, v in (("lr", lr), ("scale", scale)):
    if arguments.is_concrete(v) and not (math.isfinite(float(v)) and float(v) > 0):
      raise ValueError(f"{name} must be a positive finite number, got {v!r}")
  K = empirical_ntk(params, xs, xs)
  K = 0.5 * (K + K.T)
  top = jnp.linalg.eigvalsh(K)[-1]
  diag_max = jnp.max(jnp.diagonal(K))
  sharp = jnp.asarray(scale, K.dtype) ** 2 * jnp.minimum(top / b, diag_max)
  eta = lr / sharp
  return StepSize(eta, top, sharp, eta * sharp)
