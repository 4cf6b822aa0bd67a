"""Kernel dynamics: gradient descent on the squared loss of a model that is
linear in its parameters, solved in closed form in function space.

**The model.** ``f(x; theta) = f_0(x) + <phi(x), theta - theta_0>`` with a
kernel ``K(x, x') = <phi(x), phi(x')>`` -- for the RNN, the linearization of
Eq. (4) (the pseudo-network added to the output at initialization) and its
empirical NTK ``jaxrnn.kernels.empirical_ntk``, or, in the limit m -> inf,
``m * jaxrnn.kernels.infinite_width_ntk``. It is trained on the n samples
``(x_i, y_i)`` (targets y of shape (n,) or (n, k)) by gradient descent on

    loss(theta) = (1 / (2 |y|)) sum_{i, s} (f_s(x_i; theta) - y_{i,s})^2,

``|y| = n k`` the number of targets (the mean over samples and output
coordinates of ``jaxrnn.training.squared_loss``), with step ``eta``:
``theta <- theta - eta grad loss``. Writing ``f = f(X_train)`` and
``K = K(X_train, X_train)``, a step moves the outputs by

    f <- f - (eta / |y|) K (f - y),     f_test <- f_test - (eta / |y|) K_test,train (f - y),

exactly (the model is linear). With ``K = V diag(lambda) V^T`` and the
residual ``r_0 = f_0 - y`` this gives, after t steps (``discrete=True``)
or at time t of the gradient flow ``d theta / dt = -eta grad loss`` (the
default; t counts steps of size eta),

    f(t)      = y + V diag(e_t(lambda)) V^T r_0,
    f_test(t) = f_0,test - K_test,train V diag((1 - e_t(lambda)) / lambda) V^T r_0,

    e_t(lambda) = exp(-eta lambda t / |y|)        (gradient flow),
    e_t(lambda) = (1 - eta lambda / |y|)^t        (gradient descent, integer t).

At ``t = inf`` (and eta lambda_max / |y| < 2 for gradient descent) ``e = 0``
and ``f_test = f_0,test + K_test,train K^+ (y - f_0)``: kernel regression
(ridgeless, started from f_0). The same formulas with the kernel of each
output coordinate hold column by column for (n, k) targets.

Conventions where the formulas are silent: eigenvalues of K at or below
``n * eps(dtype) * lambda_max`` (rounding; K is positive semi-definite) are
set to 0, and a zero eigenvalue has ``e = 1`` and ``(1 - e) / lambda =
eta t / |y|`` (its limit), 0 at t = inf (the pseudo-inverse; the test
kernel of a positive semi-definite joint kernel has no component along the
null space of K, so this is the limit whenever it exists). Gradient descent
with ``eta lambda / |y| > 2`` diverges: the formulas then grow without bound,
as the iteration does, and are non-finite at ``t = inf``.

Cost: one ``eigh`` of K, O(n^3), then O(n n_test k) per time. Pure, jit- and
vmap-safe; ``t`` may be a traced scalar or vector.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._src import arguments


def _as_2d(name: str, a: jax.Array, rows: int, cols: int | None) -> jax.Array:
  a = jnp.asarray(a)
  if a.ndim == 1:
    a = a[:, None]
  if a.ndim != 2 or a.shape[0] != rows or (cols is not None and a.shape[1] != cols):
    want = f"({rows},) or ({rows}, k)" if cols is None else f"({rows}, {cols})"
    raise ValueError(f"{name} must have shape {want}, got {tuple(jnp.shape(a))}")
  return a


def _factors(lam, t, lr, size, discrete: bool):
  """``e_t(lambda)`` and ``(1 - e_t(lambda)) / lambda`` for eigenvalues lam
  (lam == 0 exactly for the null space)."""
  zero = lam <= 0
  safe = jnp.where(zero, 1, lam)
  inf = jnp.isinf(t)
  tf = jnp.where(inf, 0, t)
  if discrete:
    x = lr * lam / size
    base = 1 - x
    # lam > 0: |base| < 1 converges to 0; |base| >= 1 diverges (NaN at t = inf).
    e_inf = jnp.where(jnp.abs(base) < 1, 0, jnp.nan)
    mag = jnp.abs(base) ** tf
    e_fin = jnp.where((base < 0) & (jnp.mod(tf, 2) == 1), -mag, mag)
    # For 0 < x < 1, 1 - base^t without cancellation: -expm1(t log1p(-x)).
    log_base = jnp.log1p(-jnp.where(base > 0, x, 0))
    g_fin = jnp.where(base > 0, -jnp.expm1(tf * log_base), 1 - e_fin) / safe
    e = jnp.where(inf, e_inf, e_fin)
    g_pos = jnp.where(inf, (1 - e_inf) / safe, g_fin)
  else:
    x = lr * lam / size
    e = jnp.where(inf, 0, jnp.exp(-x * tf))
    g_pos = jnp.where(inf, 1 / safe, -jnp.expm1(-x * tf) / safe)
  e = jnp.where(zero, 1, e)
  g = jnp.where(zero, jnp.where(inf, 0, lr * tf / size), g_pos)
  return e, g


def gradient_descent_mse(
  k_train_train: jax.Array,
  k_test_train: jax.Array,
  y_train: jax.Array,
  f0_train: jax.Array,
  f0_test: jax.Array,
  *,
  learning_rate: float | jax.Array,
  t: float | jax.Array,
  discrete: bool = False,
) -> tuple[jax.Array, jax.Array]:
  """Train and test outputs of a linearized model after gradient descent on
  the squared loss, in closed form (kernel dynamics; t = inf is kernel
  regression).

  ``f(t) = y + V diag(e_t) V^T (f_0 - y)`` and
  ``f_test(t) = f_0,test - K_test,train V diag((1 - e_t) / lambda) V^T (f_0 - y)``
  with ``K = V diag(lambda) V^T``, ``e_t = exp(-eta lambda t / |y|)`` (gradient
  flow) or ``(1 - eta lambda / |y|)^t`` (``discrete=True``: t steps of
  gradient descent), for the loss ``(1 / (2 |y|)) sum (f - y)^2`` (the mean of
  ``jaxrnn.training.squared_loss`` over the samples; |y| = n k). For the RNN
  in the kernel regime use the empirical NTK of ``empirical_ntk`` (or
  ``m * infinite_width_ntk``) with the step ``eta`` of ``training.optimizer(
  "sgd", learning_rate=eta)``. Derivation and conventions (zero eigenvalues,
  divergence) in the module docstring ``jaxrnn._src.kernel_dynamics``. The
  counterpart of neural-tangents' ``predict.gradient_descent_mse``, written
  here.

  **Arguments:**

  - ``k_train_train``: (n, n) kernel on the training inputs (symmetric PSD).
  - ``k_test_train``: (n_test, n) kernel between test and training inputs.
  - ``y_train``: (n,) or (n, k) targets.
  - ``f0_train``: outputs at initialization on the training inputs, shape of
    ``y_train``; ``f0_test``: (n_test,) or (n_test, k).
  - ``learning_rate``: the step eta > 0 (traced allowed).
  - ``t``: a time (number of steps) >= 0, or a (T,) vector of times; ``inf``
    allowed (kernel regression). With ``discrete=True`` t must be integer
    valued.
  - ``discrete``: exact gradient descent with t steps instead of gradient
    flow (static).

  **Returns:** ``(f_train, f_test)`` of shapes ``y_train.shape`` and
  ``f0_test.shape``, with a leading (T,) axis when ``t`` is a vector. Cost
  O(n^3) for one ``eigh`` plus O(n n_test k) per time.

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.kernels import gradient_descent_mse
    >>> K = jnp.array([[2.0, 1.0], [1.0, 2.0]])
    >>> Kt = jnp.array([[1.0, 0.0]])
    >>> y, f0, f0t = jnp.array([1.0, -1.0]), jnp.array([0.5, 0.5]), jnp.array([0.25])
    >>> ftr, fte = gradient_descent_mse(K, Kt, y, f0, f0t, learning_rate=0.5,
    ...                                 t=jnp.array([0.0, jnp.inf]))
    >>> ftr.round(4).tolist()          # t = 0: f0; t = inf: fits y
    [[0.5, 0.5], [1.0, -1.0]]
    >>> round(float(fte[1, 0]), 4)     # t = inf: f0t + Kt K^-1 (y - f0) = 0.25 + 2.5/3
    1.0833
  """
  K = jnp.asarray(k_train_train)
  if K.ndim != 2 or K.shape[0] != K.shape[1]:
    raise ValueError(f"k_train_train must be a square (n, n) matrix, got {K.shape}")
  n = K.shape[0]
  Kt = jnp.asarray(k_test_train)
  if Kt.ndim != 2 or Kt.shape[1] != n:
    raise ValueError(f"k_test_train must have shape (n_test, {n}), got {Kt.shape}")
  n_test = Kt.shape[0]
  y_shape, test_shape = jnp.shape(y_train), jnp.shape(f0_test)
  y = _as_2d("y_train", y_train, n, None)
  k = y.shape[1]
  f0 = _as_2d("f0_train", f0_train, n, k)
  if jnp.shape(f0_train) != y_shape:
    raise ValueError(f"f0_train has shape {jnp.shape(f0_train)}, y_train has {y_shape}")
  f0t = _as_2d("f0_test", f0_test, n_test, k)
  if len(test_shape) != len(y_shape):
    raise ValueError(f"f0_test has shape {test_shape}; it needs as many axes as y_train {y_shape}")
  for name, a in (("k_train_train", K), ("k_test_train", Kt), ("y_train", y)):
    arguments.check_float(name, a)
  if arguments.is_concrete(learning_rate) and not float(learning_rate) > 0:
    raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
  t = jnp.asarray(t)
  if t.ndim > 1:
    raise ValueError(f"t must be a scalar or a (T,) vector of times, got shape {t.shape}")
  if arguments.is_concrete(t):
    tn = jnp.asarray(t, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    if bool(jnp.any(jnp.isnan(tn) | (tn < 0))):
      raise ValueError(f"t must be >= 0 (inf allowed), got {t}")
    if discrete and bool(jnp.any(jnp.isfinite(tn) & (tn != jnp.round(tn)))):
      raise ValueError(f"discrete=True needs integer step counts t, got {t}")

  dtype = jnp.result_type(K, Kt, y, f0, f0t)
  K, Kt, y, f0, f0t = (a.astype(dtype) for a in (K, Kt, y, f0, f0t))
  lr = jnp.asarray(learning_rate, dtype)
  size = n * k
  lam, V = jnp.linalg.eigh((K + K.T) / 2)
  cutoff = n * jnp.finfo(dtype).eps * jnp.maximum(jnp.max(lam), 0)
  lam = jnp.where(lam > cutoff, lam, 0)
  r0 = V.T @ (f0 - y)  # (n, k) residual in the eigenbasis
  KtV = Kt @ V

  def at(time):
    e, g = _factors(lam, time.astype(dtype), lr, size, discrete)
    ftr = y + V @ (e[:, None] * r0)
    fte = f0t - KtV @ (g[:, None] * r0)
    return ftr.reshape(y_shape), fte.reshape(test_shape)

  if t.ndim == 0:
    return at(t)
  return jax.vmap(at)(t)
