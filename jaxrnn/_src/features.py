"""Linear functions from random ReLU features (Lemma 4.4).

Lemma 4.4 says that for T in R^{m x d} with i.i.d. entries and a readout p
built from T and v,

    |v^T x - p^T relu(T x)| <= ||v|| ||x|| / sqrt(m).                   (8)

**Normalization.** The paper writes ``p = 2 T v`` with ``T_ij ~ N(0, 1)``. For
one row t ~ N(0, I_d), symmetry t -> -t gives

    E[(t.v) relu(t.x)] = E[(t.v)(t.x) 1[t.x >= 0]] = (1/2) v^T x,

so ``sum_r 2 (t_r.v) relu(t_r.x) ~= m v^T x``: the paper's p is off by a factor
m. The correct readout is ``p = 2 T v / m``; for entries of variance s^2 it is
``p = 2 T v / (m s^2)``. With the RNN's scale ``s^2 = 2/m`` (Def. 3.2) the
factor 2 cancels and ``p = T v`` -- which is why ``A^T D A ~= I`` in Sec. 4.4.
Measured (d = 16, unit v and x, 500 pairs, one T per m, key 0, float32;
least-squares slope of ``p^T relu(T x)`` on ``v^T x`` over the pairs):

    m       p = 2 T v (paper)     p = 2 T v / m (here)
    256     255.9                 0.9998
    4096    4076.1                0.9951

``tests/library/test_features.py`` asserts the factor m again in float64.

**Size of the error.** Write c = cos(v, x) and take unit v, x. With
``X = (t.v) relu(t.x)``: ``E X = c/2`` and ``E X^2 = (1 + 2c^2)/2``, so
``Var X = (2 + 3c^2)/4`` and the error ``(2/m) sum_r X_r - c`` has standard
deviation

    sqrt((2 + 3 c^2) / m) ||v|| ||x||,                 (our derivation)

between sqrt(2/m) and sqrt(5/m). The error is asymptotically Gaussian, so
(8) holds with probability only about P(|Z| <= 1/sqrt(2)) ~= 0.52 when v is
orthogonal to x; as a high-probability statement it needs a constant and a
log factor, e.g. ``|err| <= sqrt(2 (2 + 3c^2) log(2/delta) / m)`` w.p.
1 - delta. The rate 1/sqrt(m) is right.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxrnn._src.rnn import relu


def _check_2d(name, x):
  if jnp.ndim(x) != 2:
    raise ValueError(f"{name} must have shape (m, d), got shape {tuple(jnp.shape(x))}")
  if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
    raise TypeError(f"{name} must be floating point, got {jnp.result_type(x)}")


def _check_vec(name, x, d):
  if jnp.ndim(x) != 1 or jnp.shape(x)[0] != d:
    raise ValueError(f"{name} must have shape ({d},), got shape {tuple(jnp.shape(x))}")


def random_relu_features(
  key: jax.Array, m: int, d: int, variance: float = 1.0, dtype: jax.typing.DTypeLike = jnp.float32
) -> jax.Array:
  """The random matrix T of Lemma 4.4: (m, d), entries i.i.d. N(0, variance).

  ``variance=1`` is the lemma's scale; ``variance=2/m`` is the RNN's (Def. 3.2).
  """
  if not isinstance(m, int) or m < 1 or not isinstance(d, int) or d < 1:
    raise ValueError(f"m and d must be positive ints, got m={m!r}, d={d!r}")
  if not float(variance) > 0:
    raise ValueError(f"variance must be positive, got {variance!r}")
  return jnp.sqrt(jnp.asarray(variance, dtype)) * jax.random.normal(key, (m, d), dtype)


def relu_readout(T: jax.Array, v: jax.Array, variance: float | jax.Array = 1.0) -> jax.Array:
  """Readout p of Lemma 4.4 with the correct normalization: ``2 T v / (m s^2)``.

  ``s^2 = variance`` is the variance of T's entries. With ``variance=1`` this
  is ``2 T v / m`` (the paper's ``2 T v`` is m times too large, see the module
  docstring); with ``variance=2/m`` (the RNN scale) it is ``T v``.

  **Arguments:** ``T`` (m, d); ``v`` (d,); ``variance`` a positive scalar.

  **Returns:** p (m,). Cost O(m d).

  Example::

    >>> import jax, jax.numpy as jnp
    >>> from jaxrnn.features import random_relu_features, relu_readout, relu_features_apply
    >>> T = random_relu_features(jax.random.key(0), 4096, 8)
    >>> v = jnp.ones(8) / jnp.sqrt(8.0); x = v
    >>> p = relu_readout(T, v)
    >>> bool(abs(relu_features_apply(T, p, x) - v @ x) < 0.15)
    True
  """
  _check_2d("T", T)
  m, d = T.shape
  _check_vec("v", v, d)
  return (2.0 / (m * jnp.asarray(variance, T.dtype))) * (T @ v)


def relu_features_apply(T: jax.Array, p: jax.Array, x: jax.Array) -> jax.Array:
  """``p^T relu(T x)``: the one-hidden-layer ReLU network of Lemma 4.4.

  **Arguments:** ``T`` (m, d), ``p`` (m,), ``x`` (d,). **Returns:** a scalar.
  Cost O(m d).
  """
  _check_2d("T", T)
  m, d = T.shape
  _check_vec("p", p, m)
  _check_vec("x", x, d)
  return p @ relu(T @ x)


def relu_features_error(
  T: jax.Array, v: jax.Array, x: jax.Array, variance: float | jax.Array = 1.0
) -> jax.Array:
  """``v^T x - p^T relu(T x)`` with ``p = relu_readout(T, v, variance)``.

  Signed error of Lemma 4.4 for one pair (v, x); vmap over pairs. Its
  standard deviation over T is ``sqrt((2 + 3 cos^2) / m) ||v|| ||x||``.
  """
  p = relu_readout(T, v, variance)
  return v @ x - relu_features_apply(T, p, x)


def relu_features_error_std(v: jax.Array, x: jax.Array, m: int | jax.Array) -> jax.Array:
  """Predicted standard deviation ``sqrt((2 + 3 c^2) / m) ||v|| ||x||`` of the
  Lemma 4.4 error over Gaussian T, ``c = cos(v, x)`` (module docstring)."""
  nv, nx = jnp.linalg.norm(v), jnp.linalg.norm(x)
  c = (v @ x) / (nv * nx)
  return jnp.sqrt((2.0 + 3.0 * c**2) / m) * nv * nx
