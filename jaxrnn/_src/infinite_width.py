"""Infinite-width kernels of the paper's RNN (Def. 3.2): the NNGP and the NTK.

**Setting.** Def. 3.2 with d_out = 1: ``h^(0) = 0``,
``z^(l) = A x^(l) + W h^(l-1)``, ``h^(l) = relu(z^(l))``, ``F(x) = B h^(L)``,
with ``W_ij, A_ij ~ N(0, 2/m)`` and ``B_1j ~ N(0, 2)`` independent. In this
parametrization the hidden vectors have norm O(1) (entries O(m^-1/2)), so
the inner products ``<h^(l)(x), h^(l)(x')>`` have finite limits and are the
natural kernel variables. Write ``kappa_1, kappa_0`` for the arc-cosine
functions of a 2x2 covariance with diagonal (a, b) and off-diagonal c,
``theta = arccos(c / sqrt(a b))``:

    kappa_1(a, b, c) = sqrt(a b) / pi * (sin theta + (pi - theta) cos theta),
    kappa_0(a, b, c) = (pi - theta) / (2 pi).

For ``(u, v) ~ N(0, (2/m) [[a, c], [c, b]])``,
``m E[relu(u) relu(v)] = kappa_1`` and ``P(u >= 0, v >= 0) = kappa_0`` (the
arc-cosine kernels of order 1 and 0 of Cho & Saul 2009; the second is
Sheppard's formula). On the diagonal ``kappa_1(a, a, a) = a`` and
``kappa_0(a, a, a) = 1/2``.

**Forward recursion (NNGP).** For two fixed inputs x, x' of length L define,
for l = 1 ... L,

    S^(l)(x, x') = <x^(l), x'^(l)> + K^(l-1)(x, x'),             K^(0) = 0,
    K^(l)(x, x') = kappa_1(S^(l)(x, x), S^(l)(x', x'), S^(l)(x, x')).

Claim: ``<h^(l)(x), h^(l)(x')> -> K^(l)(x, x')`` almost surely as m -> inf.
Induction on l: if the inner products of the previous states converge, the
coordinates ``sqrt(m) (z_r^(l)(x), z_r^(l)(x'))`` become i.i.d. over r,
centred Gaussian with covariance ``2 [[S(x,x), S(x,x')], [S(x,x'), S(x',x')]]``
(the ``A x^(l)`` part contributes ``<x^(l), x'^(l)>``, the ``W h^(l-1)`` part
``K^(l-1)``, the two are independent), and the law of large numbers over the
m neurons gives ``sum_r relu(z_r) relu(z'_r) -> kappa_1``. W is the *same*
matrix at every step, so ``h^(l-1)`` is not independent of W; the Gaussian
conditioning argument of tensor programs (Yang, "Wide feedforward or
recurrent neural networks of any architecture are Gaussian processes",
NeurIPS 2019) shows that the limit is nevertheless the one computed as if W
were drawn afresh at every step, as far as same-step covariances are
concerned -- and the recursion only uses those. In particular
``S^(l)(x, x) = sum_{j <= l} |x^(j)|^2``: He initialization preserves the
norm of the state. Since ``F = B h^(L)`` with B independent of the rest,

    NNGP(x, x') = lim_m E[F(x) F(x')] = 2 K^(L)(x, x').

**Tangent kernel (over W and A, B frozen).** Let ``delta_l = dF / dz^(l)``
(m,): ``delta_L = D^(L) B^T`` and ``delta_i = D^(i) W^T delta_{i+1}``,
i.e. ``delta_i^T = Back_{i->L} D^(i)`` with ``Back_{i->L}`` and ``D^(i)`` of
Eq. (4)-(5). The gradient of F in W is ``sum_i delta_i h^(i-1)^T`` and in A
``sum_i delta_i x^(i)^T`` (the pseudo-network of Eq. (4) is the inner
product of this gradient with (W', A')), so the empirical NTK is

    Theta(x, x') = sum_{i, j = 1}^{L} <delta_i, delta'_j>
                     (<h^(i-1), h'^(j-1)> + <x^(i), x'^(j)>),

exactly what ``jaxrnn.kernels.empirical_ntk`` computes. The entries of
``delta_i`` are O(1) (B ~ N(0, 2)), so ``<delta_i, delta'_j>`` is O(m) and
Theta grows like m: the object with a limit is ``Theta / m`` (and this is why
the practical step size is ``eta = lr / m``).

- *Equal times.* ``<delta_L, delta'_L> / m = (1/m) sum_r B_r^2 d_r d'_r
  -> 2 kappa_0(S^(L))`` (E B_r^2 = 2, and the on/off pattern of neuron r on
  (x, x') is that of a Gaussian pair with covariance ``2 S^(L)``). One more
  factor ``D^(i) W^T``: ``(W^T g)_r`` has variance ``(2/m) |g|^2``, so
  ``<delta_i, delta'_i> / m -> P^(i)`` with

      P^(L) = 2 kappa_0(S^(L)),    P^(i) = 2 kappa_0(S^(i)) P^(i+1).

  Here the W^T of the backward pass is treated as independent of the W of
  the forward pass (and the masks D^(i) as independent of the backward
  vectors). This gradient-independence computation gives the correct limit
  because B is sampled independently of (W, A), has mean zero and is not
  used in the forward pass: the condition under which Yang ("Tensor
  Programs II: Neural tangent kernel for any architecture", 2020) proves the
  NTK limit of any architecture with tied weights, RNNs included.
- *Different times vanish.* For i < j, ``delta_i`` carries ``L - i`` factors
  ``W^T`` and ``delta'_j`` only ``L - j``. In the limit each
  ``W^T``-image is a centred Gaussian vector correlated only with other
  ``W^T``-images (covariance 2 E[ . ]), so the covariance of ``delta_i`` and
  ``delta'_j`` reduces, after ``L - j`` steps of
  ``E[Z^{D W^T u} Z^{D' W^T v}] = E[D D'] 2 E[Z^u Z^v]``, to that of a
  ``W^T``-image with ``D'^(L) B^T``, which is 0 because B is independent of
  W and centred. Hence ``<delta_i, delta'_j> / m -> 0`` (it is a sum of m
  centred terms of size O(1), i.e. O(m^1/2) against the O(m) of the equal-time
  terms -- the same computation that makes B nearly uncorrelated with
  ``Back_{i->L}`` for i < L, Lemma F.11).
- *Forward factor.* For i = j, ``<h^(i-1), h'^(i-1)> + <x^(i), x'^(i)> ->
  K^(i-1) + <x^(i), x'^(i)> = S^(i)``.

Therefore

    NTK(x, x') = lim_m Theta(x, x') / m = sum_{i=1}^{L} P^(i)(x, x') S^(i)(x, x'),

computed without storing the P's by the forward recursion
``T^(0) = 0``, ``T^(l) = 2 kappa_0(S^(l)) (S^(l) + T^(l-1))``,
``NTK = T^(L)``. On the diagonal every ``P^(i) = 1``, so
``NTK(x, x) = sum_l S^(l)(x, x) = sum_j (L - j + 1) |x^(j)|^2`` and
``NNGP(x, x) = 2 sum_j |x^(j)|^2``. The finite-m fluctuations of
``Theta / m`` around the limit are O(m^-1/2) (central limit theorem over the
m neurons), the rate the tests and the ``ntk_regime`` experiment measure.

(The recurrent NTK of Alemohammad et al., ICLR 2021, is the analogous kernel
for an RNN with biases in the NTK parametrization, all weights trained; here
there are no biases, the standard parametrization of Def. 3.2, and B is
frozen, so the read-out adds no term ``K^(L)`` to the NTK.)

**Zero-variance steps and sequences of different lengths.** A step at which
the input and the state are both 0 (e.g. left padding) has ``z = 0``
exactly; with the derivative convention ``1[z >= 0]`` of Eq. (5) the neuron
counts as on, so ``kappa_0`` is 1 when both variances are 0 and 1/2 when one
is (a Gaussian is >= 0 with probability 1/2), and ``kappa_1 = 0``. These
values never matter: such a step has ``S = 0`` and leaves the state at 0.
Consequently left zero padding is *exact* for this RNN -- the padded
sequence has the same hidden states after its padding, the same output and
the same (W, A)-gradient as the unpadded one -- and inputs of different
lengths are compared aligned at their last step, where the output is read:
the shorter batch is left-padded with zero tokens.

**Numerics.** The angle theta is a square-root function of the
covariance near theta = 0 and pi, so computing it as ``arccos(c /
sqrt(ab))`` would turn rounding of a few eps in c into an error of a few
``sqrt(eps)`` in theta (1e-3 in float32) -- also on the diagonal of a Gram
matrix and for every pair of Def. 3.1 sequences at step 1, which all share
x^(1). The recursion is therefore carried in distance form: with
``a = S^(l)(x, x)``, ``b = S^(l)(x', x')`` (the cumulative squared norms) and
the squared distance

    Delta^(l) = a + b - 2 S^(l)(x, x') = |x^(l) - x'^(l)|^2 + D^(l-1),

the angle comes from ``1 - cos theta = (Delta - (sqrt a - sqrt b)^2) /
(2 sqrt(ab))`` (clipped to [0, 2]) as ``theta = 2 arcsin(sqrt((1 - cos
theta) / 2))``, and the squared distance of the next states (the limit of
``|h^(l) - h'^(l)|^2``) is ``D^(l) = (sqrt a - sqrt b)^2 + 2 sqrt(ab) g``
with ``g = 1 - cos theta + (theta cos theta - sin theta) / pi >= 0`` (which
is ``a + b - 2 kappa_1``), ``K^(l) = (a + b - D^(l)) / 2``,
``S^(l) = (a + b - Delta^(l)) / 2``. Identical sequences and identical
prefixes then have ``Delta = 0`` and ``theta = 0`` exactly (so the diagonal
is the sum of squared norms of the docstring to rounding of sums), and
close pairs get their angle from the distance of their tokens instead of
from a cosine near 1 (float32 results agree with a float64 evaluation to
~1e-7 relative for Def. 3.1 sequences and for pairs 1e-3 apart). The other
end, theta near pi, has the same square-root sensitivity in ``1 + cos
theta``; the recursion also carries the squared sum ``|x^(l) + x'^(l)|^2 +
|h^(l-1) + h'^(l-1)|^2`` (no cancellation: ``|h + h'|^2 >= |h|^2 + |h'|^2``
since ``kappa_1 >= 0``) and reads the angle from ``1 + cos theta`` when
``theta > pi/2``, so exactly antiparallel tokens give ``kappa_0 = 0`` and ``kappa_1 =
0`` to rounding (the NTK of x and -x at L = 1 is 0, not -2e-9). What remains
at ``sqrt(eps)``: pairs that are parallel or antiparallel with *different*
norms (x' = c x, |c| != 1), whose angle is found to a few ``sqrt(eps)``
(2 kappa_0 off by up to ~3e-4 per step in float32, ~1e-8 in float64). No
value is NaN for any finite input.

The kernels are continuous in the inputs, but theta grows like the
distance to the nearest parallel or antiparallel configuration, so the NTK
has a kink there (e.g. on the diagonal of a Gram matrix) and is not
differentiable in the inputs at exactly such pairs. ``jax.grad`` returns a
finite value everywhere: at the kink the angle's term is taken as 0, the
midpoint of its one-sided derivatives (the convention of ``d|t|/dt = 0`` at
0); elsewhere it is the derivative.

Cost: O(N1 N2 L d) time and O(N1 N2) memory (a ``lax.scan`` over time
carrying three (N1, N2) arrays; the pairwise token distances are one fused
reduction per step, no loop over pairs). Pure, jit- and vmap-safe, float32
and float64 (the result has the inputs' dtype).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _check(name: str, xs) -> jax.Array:
  xs = jnp.asarray(xs)
  if xs.ndim != 3:
    raise ValueError(f"{name} must have shape (N, L, d), got {xs.shape}")
  if not jnp.issubdtype(xs.dtype, jnp.floating):
    raise TypeError(f"{name} must be floating point, got {xs.dtype}")
  if xs.shape[1] < 1:
    raise ValueError(f"{name} must hold sequences of length >= 1, got shape {xs.shape}")
  return xs


def _align(xs1: jax.Array, xs2: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Left zero padding to the longer length, one common dtype."""
  if xs1.shape[2] != xs2.shape[2]:
    raise ValueError(
      f"xs1 and xs2 must have the same token dimension d, got {xs1.shape[2]} and {xs2.shape[2]}"
    )
  L = max(xs1.shape[1], xs2.shape[1])
  dtype = jnp.result_type(xs1, xs2)

  def pad(xs):
    extra = L - xs.shape[1]
    return jnp.pad(xs.astype(dtype), ((0, 0), (extra, 0), (0, 0)))

  return pad(xs1), pad(xs2)


def _arccos_step(a, b, dist, plus):
  """One step of the recursion for variances ``a, b >= 0``, squared
  distance ``dist = a + b - 2 c`` and squared sum ``plus = a + b + 2 c``
  (broadcasting). Returns ``(kappa_1, kappa_0, D)`` with ``D = a + b - 2
  kappa_1``, the squared distance of the next states, computed without
  cancellation (0 exactly when a = b and dist = 0), and ``kappa_1 = (a + b -
  D) / 2`` (exactly a on such pairs); the zero-variance conventions of the
  module docstring.

  The angle comes from ``1 - cos theta`` (from ``dist``) when theta <= pi/2
  and from ``1 + cos theta`` (from ``plus``) otherwise, so that both ends,
  theta = 0 (parallel) and theta = pi (antiparallel), are exact. At exactly
  those ends theta has a kink (it grows like the distance to the end), and
  its gradient is taken as 0 there, the midpoint of the one-sided
  derivatives, so ``jax.grad`` stays finite."""
  pi = jnp.pi
  pos = (a > 0) & (b > 0)
  # square roots with a finite gradient at a zero variance (a zero-norm step)
  sa = jnp.where(a > 0, jnp.sqrt(jnp.where(a > 0, a, 1)), 0)
  sb = jnp.where(b > 0, jnp.sqrt(jnp.where(b > 0, b, 1)), 0)
  root = jnp.where(pos, sa * sb, 1)  # a safe value where a variance is 0
  # (sqrt a - sqrt b)^2, the squared distance of two parallel vectors
  gap2 = jnp.where(pos, (a - b) ** 2 / jnp.where(pos, sa + sb, 1) ** 2, 0)
  minus = jnp.clip((dist - gap2) / (2 * root), 0, 2)  # 1 - cos(theta)
  plus_c = jnp.clip((plus - gap2) / (2 * root), 0, 2)  # 1 + cos(theta)
  near0 = minus <= plus_c
  # the smaller one, in [0, 1]; 0 where a variance is 0 (the conventions below
  # then set kappa_0 and D, and no gradient flows through an unused angle)
  r = jnp.where(pos, jnp.where(near0, minus, plus_c), 0)
  nz = r > 0
  half = jnp.where(nz, 2 * jnp.arcsin(jnp.sqrt(jnp.where(nz, r, 1) / 2)), 0)
  theta = jnp.where(near0, half, pi - half)
  rho = jnp.where(near0, minus, 2 - plus_c)  # 1 - cos(theta)
  cos, sin = 1 - rho, jnp.sin(half)  # sin(pi - half) = sin(half)
  # kappa_1 = sqrt(ab) (sin + (pi - theta) cos) / pi = sqrt(ab) (1 - h) with
  # h = rho + (theta cos - sin) / pi >= 0, so D = (sqrt a - sqrt b)^2 + 2 sqrt(ab) h.
  # At theta = pi, kappa_1 = 0 exactly: h = 1.
  h = jnp.where(near0 | nz, jnp.maximum(rho + (theta * cos - sin) / pi, 0), 1)
  D = jnp.where(pos, gap2 + 2 * root * h, a + b)
  # (a + b - D) / 2 = sqrt(ab) (1 - h): the first form is exactly a on identical
  # pairs, the second exactly 0 on antiparallel ones.
  k1 = jnp.where(near0 | ~pos, (a + b - D) / 2, root * (1 - h))
  k0 = jnp.where(near0, pi - half, half) / (2 * pi)
  zero_a, zero_b = a <= 0, b <= 0
  k0 = jnp.where(zero_a & zero_b, 1, jnp.where(zero_a | zero_b, 0.5, k0))
  return k1, k0, D


def _kernels(xs1: jax.Array, xs2: jax.Array) -> tuple[jax.Array, jax.Array]:
  """``(K^(L), T^(L))``, each (N1, N2), by one scan over time."""
  xs1, xs2 = _align(_check("xs1", xs1), _check("xs2", xs2))
  dtype = xs1.dtype
  norms1 = jnp.cumsum(jnp.sum(xs1**2, axis=-1), axis=1)  # (N1, L): S^(l)(x, x)
  norms2 = jnp.cumsum(jnp.sum(xs2**2, axis=-1), axis=1)

  def step(carry, inputs):
    K, D, T = carry  # K, D: <h, h'> and |h^(l-1) - h'^(l-1)|^2 in the limit
    x1, x2, a, b, a0, b0 = inputs
    a, b = a[:, None], b[None, :]
    dist = jnp.sum((x1[:, None, :] - x2[None, :, :]) ** 2, axis=-1) + D
    # |h + h'|^2 = |h|^2 + |h'|^2 + 2 K >= |h|^2 + |h'|^2: no cancellation
    plus = jnp.sum((x1[:, None, :] + x2[None, :, :]) ** 2, axis=-1) + (a0[:, None] + b0[None, :])
    plus = plus + 2 * K
    S = (a + b - dist) / 2  # S^(l)(x, x')
    k1, k0, D = _arccos_step(a, b, dist, plus)
    return (k1.astype(dtype), D.astype(dtype), (2 * k0 * (S + T)).astype(dtype)), None

  zero = jnp.zeros((xs1.shape[0], xs2.shape[0]), dtype)
  # S^(l-1)(x, x), the squared norm of h^(l-1) in the limit (0 before step 1)
  prev1 = jnp.pad(norms1, ((0, 0), (1, 0)))[:, :-1]
  prev2 = jnp.pad(norms2, ((0, 0), (1, 0)))[:, :-1]
  inputs = (jnp.swapaxes(xs1, 0, 1), jnp.swapaxes(xs2, 0, 1), norms1.T, norms2.T, prev1.T, prev2.T)
  (K, _, T), _ = lax.scan(step, (zero, zero, zero), inputs)
  return K, T


def infinite_width_nngp(xs1: jax.Array, xs2: jax.Array) -> jax.Array:
  """The NNGP kernel ``lim_m E[F(x) F(x')]`` at the initialization of Def. 3.2.

  ``2 K^(L)(x, x')`` with ``S^(l) = <x^(l), x'^(l)> + K^(l-1)``,
  ``K^(l) = kappa_1(S^(l))`` (arc-cosine kernel of order 1; derivation in
  the module docstring ``jaxrnn._src.infinite_width``). d_out = 1: the
  output weights are ``B ~ N(0, 2)``.

  **Arguments:**

  - ``xs1``: (N1, L1, d) and ``xs2``: (N2, L2, d) input sequences (any
    norms, e.g. Def. 3.1 normalized). Different lengths are aligned at the
    last step by left zero padding, which is exact for this RNN.

  **Returns:** (N1, N2) in the inputs' dtype. Cost O(N1 N2 L d),
  memory O(N1 N2).

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.kernels import infinite_width_nngp
    >>> x = jnp.array([[[1.0, 0.0], [0.0, 1.0]]])      # one sequence, L = 2
    >>> float(infinite_width_nngp(x, x)[0, 0])          # 2 (|x1|^2 + |x2|^2)
    4.0
  """
  K, _ = _kernels(xs1, xs2)
  return 2 * K


def infinite_width_ntk(xs1: jax.Array, xs2: jax.Array) -> jax.Array:
  """The infinite-width NTK ``lim_m Theta(x, x') / m`` over (W, A), B frozen.

  ``sum_{i=1}^{L} P^(i) S^(i)`` with ``P^(i) = prod_{j >= i} 2 kappa_0(S^(j))``,
  computed forward as ``T^(l) = 2 kappa_0(S^(l)) (S^(l) + T^(l-1))``. Theta is
  the empirical NTK that ``jaxrnn.kernels.empirical_ntk`` computes at finite
  m (d_out = 1); the terms of its double sum over steps i != j vanish in the
  limit (module docstring ``jaxrnn._src.infinite_width``). On the diagonal
  ``NTK(x, x) = sum_j (L - j + 1) |x^(j)|^2``.

  **Arguments:**

  - ``xs1``: (N1, L1, d) and ``xs2``: (N2, L2, d) input sequences (any
    norms). Different lengths are aligned at the last step by left zero
    padding, which is exact for this RNN.

  **Returns:** (N1, N2) in the inputs' dtype. Cost O(N1 N2 L d),
  memory O(N1 N2).

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.kernels import infinite_width_ntk
    >>> x = jnp.array([[[3.0, 4.0]]])                  # L = 1: 2 kappa_0 |x|^2
    >>> float(infinite_width_ntk(x, x)[0, 0])
    25.0
    >>> y = jnp.array([[[0.0, 1.0], [3.0, 4.0]]])      # L = 2: 2 * 1 + 1 * 25
    >>> float(infinite_width_ntk(y, y)[0, 0])
    27.0
  """
  _, T = _kernels(xs1, xs2)
  return T
