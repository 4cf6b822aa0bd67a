"""The Elman ReLU RNN of Def. 3.2 and its random initialization.

The recurrence (Eq. 1) is

    h^(0) = 0,    h^(l) = relu(A x^(l) + W h^(l-1)),    l = 1 ... L,
    F_rnn^(L)(x; W, A) = B h^(L).

Every function here takes **one** sequence ``xs`` of shape (L, d) and is
batched with ``jax.vmap``. Time is unrolled with ``lax.scan``. Under ``vmap``
each step is one (batch, m) @ (m, m) product in the row-vector layout
``h @ W.T``.

Fast paths (same values up to float rounding; ``tests/library/test_fast_paths.py``
checks them against NumPy float64 loops):

- ``final_hidden_state`` / ``rnn_output`` keep only the (m,) carry, stack
  nothing, and compute ``A x^(l)`` inside the step: under ``vmap`` a hoisted
  (L, m) projection would be laid out batch-major and XLA would transpose the
  whole (batch, L, m) array to scan over time; the per-step (batch, d) @ (d, m)
  product is cheaper than that copy.
- Their derivative is a ``jax.custom_jvp`` (``_final_state``). Its tangent
  recursion ``dh^(l) = D^(l) (W' h^(l-1) + A' x^(l) + W dh^(l-1))`` (the
  derivative of Eq. 1, with the ReLU mask of Eq. 5) runs in a second scan
  after the primal one; both peel step 1 (h^(0) = dh^(0) = 0), so each runs
  L - 1 products with W. From m = 256 on, ``W' h^(l-1) + A' x^(l)`` is
  computed inside the tangent step; below it, for all l at once before the
  scan (fewer, larger products for small m). Because the primal and tangent
  scans are separate and the tangent is linear, ``jax.grad`` linearizes and
  transposes the rule: reverse mode stores the int8 masks D^(l) and the
  h^(l-1) (not the pre-activations), and runs one backward scan whose step
  multiplies ``g * D^(l)`` by W and adds its products with h^(l-1) and
  x^(l) to the W and A gradients: 3 (L - 1) products with an (m, m) matrix
  in all, forward included, with no cotangent stacked and no second loop
  over the masks (the tangent step is rematerialized, so the masks are
  applied inside the backward step). Forward mode (``jax.jvp``), higher
  derivatives and ``vmap`` all work through the same rule, since it is
  written in ordinary differentiable JAX.

ReLU is written ``where(z < 0, 0, z)``, with the derivative ``1[z >= 0]`` of
Eq. (5) including at ``z == 0``; ``jnp.maximum`` would give 1/2 there and the
pseudo-network would then disagree with Eq. (4) on the measure-zero set of
exact ties.

Non-finite values: NaN propagates; it is never turned into a number.
``relu`` keeps NaN (``NaN < 0`` is false, so NaN passes through; the form
``where(z >= 0, z, 0)`` would map NaN to 0) and keeps ``+inf``. Its mask D
has three states, 0 (z < 0), 1 (z >= 0) and 2 (z is NaN), stored as one int8
per unit (``relu_mask``), and every derivative multiplies by 0, 1 or NaN
(``apply_relu_mask``): ``relu``'s own custom JVP, the custom JVP of the fast
paths, and the NTK factors, backward matrices and inversion patterns built
on ``relu_derivative``; a boolean mask would give 0 or pass a finite number
through. So a NaN in W (used from step 2 on, since h^(0) = 0), in A or in an
input token gives a NaN output and NaN gradients, under ``jit`` or not.
Infinities follow IEEE arithmetic: ``relu(-inf) = 0``, so an infinite
pre-activation that the ReLU switches off is a finite 0, and an infinite
weight or token can give a finite output (one that stays on gives inf and
then NaN, inf - inf, in the next ``W h``). A float32 state that overflows
becomes inf and then NaN the same way; ``jaxrnn.checks.check_states`` names
the step. Values are not checked under ``jit`` (they are data, not shapes);
outside ``jit`` the functions that take sequences refuse non-finite tokens
(weights are not checked), and ``jaxrnn.checks`` has the checked entry points
(``check_params`` for weights) and ``all_finite`` for use inside ``jit``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

from jaxrnn._src import arguments


class RNNParams(NamedTuple):
  """Weights of the RNN of Def. 3.2; a pytree.

  **Fields:**

  - ``W``: (m, m) recurrent weights.
  - ``A``: (m, d) input weights.
  - ``B``: (d_out, m) output weights (kept at initialization in Thm. 3.1).
  """

  W: jax.Array
  A: jax.Array
  B: jax.Array


def init_params(
  key: jax.Array, m: int, d: int, d_out: int, dtype: jax.typing.DTypeLike = jnp.float32
) -> RNNParams:
  """Random initialization of Def. 3.2.

  ``W_ij, A_ij ~ N(0, 2/m)`` and ``B_ij ~ N(0, 2/d_out)``, all independent.

  **Arguments:**

  - ``key``: a PRNG key.
  - ``m``: hidden width; ``d``: input dimension; ``d_out``: output dimension
    (Python or NumPy integers).
  - ``dtype``: floating dtype of the weights (``jnp.float64`` needs
    ``jax_enable_x64``).

  **Returns:** ``RNNParams`` with shapes (m, m), (m, d), (d_out, m).

  Example::

    >>> import jax, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), m=64, d=5, d_out=1)
    >>> p.W.shape, p.A.shape, p.B.shape
    ((64, 64), (64, 5), (1, 64))
  """
  m, d, d_out = (
    arguments.positive_int(name, v) for name, v in (("m", m), ("d", d), ("d_out", d_out))
  )
  dtype = jnp.dtype(dtype)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"dtype must be a floating dtype, got {dtype}")
  if dtype == jnp.float64 and not jax.config.jax_enable_x64:
    raise TypeError("dtype float64 needs jax.config.update('jax_enable_x64', True)")
  kw, ka, kb = jax.random.split(key, 3)
  scale_wa = jnp.sqrt(jnp.asarray(2.0 / m, dtype))
  scale_b = jnp.sqrt(jnp.asarray(2.0 / d_out, dtype))
  return RNNParams(
    W=scale_wa * jax.random.normal(kw, (m, m), dtype),
    A=scale_wa * jax.random.normal(ka, (m, d), dtype),
    B=scale_b * jax.random.normal(kb, (d_out, m), dtype),
  )


def relu(z: jax.Array) -> jax.Array:
  """ReLU with derivative ``1[z >= 0]`` (the convention of Eq. 5) that keeps NaN.

  ``relu(z) = 0`` for ``z < 0`` and ``z`` otherwise, so NaN stays NaN and
  ``+inf`` stays ``+inf`` (a diverged or overflowed value is never turned into
  0). Its derivative is ``relu_derivative(z)``: 1 for ``z >= 0``, 0 for
  ``z < 0`` and NaN where ``z`` is NaN (a custom JVP; differentiating the
  ``where`` would give 1 at NaN).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> jaxrnn.relu(jnp.array([-1.0, 0.0, 2.0, jnp.nan]))
    Array([ 0.,  0.,  2., nan], dtype=float32)
    >>> jax.grad(lambda z: jaxrnn.relu(z))(0.0)
    Array(1., dtype=float32...)
    >>> jax.grad(lambda z: jaxrnn.relu(z))(jnp.nan)
    Array(nan, dtype=float32...)
  """
  return _relu(jnp.asarray(z))


@jax.custom_jvp
def _relu(z):
  return jnp.where(z < 0, jnp.zeros((), z.dtype), z)


@_relu.defjvp
def _relu_jvp(primals, tangents):
  (z,), (dz,) = primals, tangents
  return _relu(z), apply_relu_mask(relu_mask(z), dz)


# The ReLU's mask D of Eq. (5), with a third state for NaN pre-activations:
# one int8 per unit (as small as a bool). Every path that multiplies by D (the
# custom JVPs here, the NTK factors of ``jaxrnn.kernels``, the patterns of the
# pseudo-network and of the inversion) goes through ``relu_mask`` and
# ``apply_relu_mask`` (or ``relu_derivative``, both at once), so that a NaN
# pre-activation gives NaN, never 0 or a number passed through.
_OFF, _ON, _NAN = 0, 1, 2


def relu_mask(z: jax.Array) -> jax.Array:
  """int8 mask of ``z``: 0 where z < 0, 1 where z >= 0 (Eq. 5), 2 where NaN."""
  return jnp.where(z < 0, _OFF, jnp.where(z >= 0, _ON, _NAN)).astype(jnp.int8)


def apply_relu_mask(mask: jax.Array, dz: jax.Array) -> jax.Array:
  """``D dz`` with D = 0, 1 or NaN by the state of ``mask`` (``relu_mask``),
  broadcasting. A product, not a select, so that reverse mode, which
  transposes it, gets the NaN too."""
  d = jnp.where(mask == _NAN, jnp.asarray(jnp.nan, dz.dtype), mask.astype(dz.dtype))
  return dz * d


def relu_derivative(z: jax.Array) -> jax.Array:
  """``D = 1[z >= 0]`` of Eq. (5) in the dtype of ``z``, NaN where ``z`` is
  NaN (``jnp.where(z >= 0, 1, 0)`` would read a NaN pre-activation as an
  inactive unit and hide it). Elementwise; jit/vmap-safe: ``[-1, 0, 2,
  nan]`` gives ``[0, 1, 1, nan]`` (``tests/library/test_nan_masks.py``).
  """
  z = jnp.asarray(z)
  return apply_relu_mask(relu_mask(z), jnp.ones((), z.dtype))


def cell(params: RNNParams, h: jax.Array, x: jax.Array) -> jax.Array:
  """One RNN step (Eq. 1): ``relu(A x + W h)``.

  **Arguments:** ``h`` (m,) previous hidden state, ``x`` (d,) token.

  **Returns:** (m,) next hidden state. Cost O(m^2 + m d).
  """
  arguments.check_hidden(params, h)
  arguments.check_token(params, x)
  return relu(params.A @ x + params.W @ h)


def input_projections(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``A x^(l)`` for all l at once: (L, d) -> (L, m). Cost O(L m d)."""
  return xs @ params.A.T


def _step(W_T):
  def step(h, u):
    h = relu(u + h @ W_T)
    return h, h

  return step


def hidden_states(params: RNNParams, xs: jax.Array) -> jax.Array:
  """All hidden states ``h^(1) ... h^(L)`` of Eq. (1), with ``h^(0) = 0``.

  **Arguments:** ``xs`` (L, d), one sequence.

  **Returns:** (L, m). Cost O(L (m^2 + m d)) time, O(L m) memory.
  """
  arguments.check_sequence(params, xs)
  us = input_projections(params, xs)
  h0 = jnp.zeros((params.W.shape[0],), us.dtype)
  _, hs = lax.scan(_step(params.W.T), h0, us)
  return hs


def final_hidden_state(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``h^(L)`` only; the scan keeps one (m,) carry and stacks nothing.

  **Returns:** (m,). Cost O(L (m^2 + m d)) time, O(m) memory besides the
  input. Reverse-mode derivatives store the masks D^(2) ... D^(L) (int8) and
  the states h^(1) ... h^(L-1), O(L m); see the module docstring for the
  custom JVP.
  """
  arguments.check_sequence(params, xs)
  return _final_state(params.W, params.A, xs)


# Scan unroll of the fast paths (measured in benchmarks/peers.py; 1 = no
# unrolling).
_UNROLL = 1
# From this width on, the tangent step multiplies h^(l-1) by W' and x^(l) by
# A' inside the tangent scan (so reverse mode accumulates the W and A
# gradients step by step and stacks no cotangent), and ``pseudo_network``
# takes its value from one scan over (h, dh); below it, W' h^(l-1) + A' x^(l)
# is one product before the scan (fewer, larger products: better for small m
# and seed sweeps).
_INLOOP_MIN_M = 256


@jax.custom_jvp
def _final_state(W, A, xs):
  """h^(L) of Eq. (1); one (m,) carry, the input projection inside the step.

  Step 1 is peeled: h^(0) = 0, so h^(1) = relu(A x^(1)) needs no product
  with W (the value is the same: W 0 = 0 exactly).
  """
  W_T, A_T = W.T, A.T

  def step(h, x):
    return relu(x @ A_T + h @ W_T), None

  h, _ = lax.scan(step, relu(xs[0] @ A_T), xs[1:], unroll=_UNROLL)
  return h


def _final_state_jvp(primals, tangents):
  """Tangent of h^(L) along (W', A', xs'): a primal scan, then a tangent scan.

  dh^(1) = D^(1) (A' x^(1) + A x'^(1))  (h^(0) = 0, so W' h^(0) = 0),
  dh^(l) = D^(l) (p^(l) + W dh^(l-1)),  l = 2 ... L,
  p^(l) = W' h^(l-1) + A' x^(l) + A x'^(l),
  D^(l) = diag(1[A x^(l) + W h^(l-1) >= 0]) (Eq. 5), NaN where the
  pre-activation is NaN (see ``relu_mask``).

  Step 1 is peeled in both scans, which then run over l = 2 ... L and stack
  exactly the L - 1 states h^(1) ... h^(L-1) and masks D^(2) ... D^(L) that
  the tangent needs (no slicing of stacked arrays): (L - 1) products with W
  in each scan. For m >= _INLOOP_MIN_M the terms W' h^(l-1) and A' x^(l)
  are computed inside the tangent step, so reverse mode accumulates the W
  and A gradients step by step and stacks no cotangent; below it they are
  computed for all steps before the tangent scan (fewer, larger products).
  The tangent step is rematerialized (``jax.checkpoint``): reverse mode then
  reads the int8 masks and applies them inside its step instead of first
  converting all of them into a stacked float array in a separate loop.
  Zero tangents are symbolic; their terms are skipped.
  """
  W, A, xs = primals
  dW, dA, dxs = tangents
  W_T, A_T = W.T, A.T
  zero = lambda t: isinstance(t, SymbolicZero)
  inloop = W.shape[0] >= _INLOOP_MIN_M

  z1 = xs[0] @ A_T
  rest = xs[1:]

  def fwd(h, x):
    z = x @ A_T + h @ W_T
    return relu(z), (h, relu_mask(z))

  h, (h_prev, masks) = lax.scan(fwd, relu(z1), rest, unroll=_UNROLL)

  def total(*terms):
    terms = [t for t in terms if t is not None]
    return sum(terms[1:], terms[0]) if terms else None

  p = total(
    None if zero(dxs) else dxs[1:] @ A_T,
    None if zero(dA) or inloop else rest @ dA.T,
    None if zero(dW) or inloop else h_prev @ dW.T,
  )
  dW_T = None if zero(dW) or not inloop else dW.T
  dA_T = None if zero(dA) or not inloop else dA.T

  def tangent(dh, inputs):
    p_l, mask, h_l, x_l = inputs
    dz = total(
      dh @ W_T, p_l, None if dW_T is None else h_l @ dW_T, None if dA_T is None else x_l @ dA_T
    )
    return apply_relu_mask(mask, dz), None

  p1 = total(None if zero(dA) else xs[0] @ dA.T, None if zero(dxs) else dxs[0] @ A_T)
  dh1 = jnp.zeros_like(z1) if p1 is None else apply_relu_mask(relu_mask(z1), p1)
  dh, _ = lax.scan(
    jax.checkpoint(tangent, prevent_cse=False),
    dh1,
    (p, masks, None if dW_T is None else h_prev, None if dA_T is None else rest),
    unroll=_UNROLL,
  )
  return h, dh


_final_state.defjvp(_final_state_jvp, symbolic_zeros=True)


def rnn_output(params: RNNParams, xs: jax.Array) -> jax.Array:
  """The RNN's output ``F_rnn^(L)(x; W, A) = B h^(L)`` (Def. 3.2).

  **Arguments:** ``xs`` (L, d), one sequence.

  **Returns:** (d_out,). Cost O(L (m^2 + m d) + m d_out).

  Example::

    >>> import jax, jax.numpy as jnp, jaxrnn
    >>> p = jaxrnn.init_params(jax.random.key(0), m=32, d=4, d_out=2)
    >>> xs = jnp.ones((7, 4))
    >>> jaxrnn.rnn_output(p, xs).shape
    (2,)
    >>> jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, jnp.ones((3, 7, 4))).shape
    (3, 2)
  """
  return params.B @ final_hidden_state(params, xs)


def preactivations(params: RNNParams, xs: jax.Array) -> jax.Array:
  """``A x^(l) + W h^(l-1)`` for l = 1 ... L: (L, m)."""
  hs = hidden_states(params, xs)
  h_prev = jnp.concatenate([jnp.zeros_like(hs[:1]), hs[:-1]], axis=0)
  return input_projections(params, xs) + h_prev @ params.W.T


def activation_patterns(params: RNNParams, xs: jax.Array) -> jax.Array:
  """Diagonals of the activation matrices ``D^(l)`` of Eq. (5).

  ``D^(l)_rr = 1[w_r . h^(l-1) + a_r . x^(l) >= 0]`` at the given weights.

  **Returns:** (L, m) bool; row ``l-1`` is the diagonal of ``D^(l)``. A NaN
  pre-activation reads False here (a bool has no third state); code that
  multiplies by D uses ``relu_derivative(preactivations(params, xs))``, which
  is NaN there.
  """
  return preactivations(params, xs) >= 0
