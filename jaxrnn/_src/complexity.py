"""Function complexity of Def. 2.1 (from Allen-Zhu, Li & Liang [15]).

For ``phi(z) = sum_i c_i z^i`` and R, eps > 0,

    C_eps(phi, R) = sum_i ((C* R)^i + (sqrt(log(1/eps)) / sqrt(i) * C* R)^i) |c_i|,
    C_s(phi, R)   = C* sum_i (i + 1)^1.75 R^i |c_i|,           C* = 10^4.

Convention for i = 0 (the paper is silent): both factors of the first sum are
taken as 1, so the i = 0 term of C_eps is ``2 |c_0|``. For the second factor
this is the limit ``(a / sqrt(i))^i = exp(i log a - (i/2) log i) -> 1`` as
i -> 0+, and ``x^0 = 1`` for the first. The concept class of Def. 3.3 has
``Phi(0) = c_0 = 0``, where the convention does not matter.

With C* = 10^4 these numbers overflow float64 already for sin at R = 1
(``C_eps(sin, 1) ~ sinh(10^4)``), so everything is computed in logs with a
log-sum-exp over the series. The public convention is **base 10**, named in
the function names (``log10_complexity_eps``, ``log10_complexity_s``);
``complexity_eps`` and ``complexity_s`` return the value itself, ``inf``
where it exceeds float64.

Host-side NumPy (these are scalars describing a function class, not traced
computations). A function phi is given by name (see ``PHI_NAMES``) or by a
finite sequence of polynomial coefficients c_0, c_1, ...; a ``Concept`` of
Def. 3.3 stands for the set of its Phi's, whose complexity is the max over
the set (Def. 3.3).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special

if TYPE_CHECKING:
  from jaxrnn._src.concept import Concept

C_STAR = 1.0e4

#: Named smooth functions with Phi(0) = 0 for the concept class. A name may
#: carry a positive frequency/scale k as ``"name:k"`` meaning ``phi(k z)``
#: (``"pow:k"`` is ``z^k`` with integer k >= 1).
PHI_NAMES = ("sin", "cos1", "exp1", "sinh", "cosh1", "pow")


def _parse(name: str) -> tuple[str, float]:
  if not isinstance(name, str):
    raise TypeError(f"phi must be a name string or a coefficient array, got {type(name).__name__}")
  base, _, arg = name.partition(":")
  if base not in PHI_NAMES:
    raise ValueError(
      f"unknown phi {name!r}; known: 'sin[:k]' sin(kz), 'cos1[:k]' 1-cos(kz), "
      "'exp1[:k]' exp(kz)-1, 'sinh[:k]', 'cosh1[:k]' cosh(kz)-1, 'pow:k' z^k"
    )
  if arg == "":
    k = 1.0
  else:
    try:
      k = float(arg)
    except ValueError:
      raise ValueError(f"phi {name!r}: the part after ':' must be a number") from None
  if not (k > 0 and math.isfinite(k)):
    raise ValueError(f"phi {name!r}: scale must be positive")
  if base == "pow" and (k != int(k) or k < 1):
    raise ValueError(f"phi {name!r}: pow needs an integer degree >= 1")
  return base, k


def phi_function(phi: str | Sequence[float]) -> Callable[[jax.Array], jax.Array]:
  """The jnp function ``z -> phi(z)`` for a name of ``PHI_NAMES`` or a
  sequence of polynomial coefficients ``(c_0, c_1, ...)``.

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.concept import phi_function
    >>> round(float(phi_function("sin:2")(jnp.array(0.25))), 6)
    0.479426
    >>> float(phi_function((0.0, 2.0, -1.0))(jnp.array(1.0)))   # 2z - z^2
    1.0
  """
  if not isinstance(phi, str):
    c = _coefficients(phi)
    return lambda z: jnp.polyval(jnp.asarray(c[::-1], jnp.result_type(z)), z)
  base, k = _parse(phi)
  if base == "sin":
    return lambda z: jnp.sin(k * z)
  if base == "cos1":
    return lambda z: 1 - jnp.cos(k * z)
  if base == "exp1":
    return lambda z: jnp.expm1(k * z)
  if base == "sinh":
    return lambda z: jnp.sinh(k * z)
  if base == "cosh1":
    return lambda z: jnp.cosh(k * z) - 1
  deg = int(k)
  return lambda z: z**deg


def _coefficients(phi) -> np.ndarray:
  """Polynomial coefficients as a checked float64 array."""
  try:
    c = np.asarray(phi, np.float64)
  except (TypeError, ValueError):
    raise TypeError(
      "phi must be a name string or a sequence of polynomial "
      f"coefficients, got {type(phi).__name__}"
    ) from None
  if c.ndim != 1 or c.size == 0:
    raise ValueError(f"coefficients must be a non-empty 1-D sequence, got shape {c.shape}")
  if not np.all(np.isfinite(c)):
    raise ValueError("coefficients must be finite")
  return c


def _log_abs_coeffs(phi, n_terms) -> np.ndarray:
  """log|c_i| for i < n_terms, or for the indices i of an integer array
  ``n_terms`` (-inf where c_i = 0)."""
  if not isinstance(phi, str):
    c = _coefficients(phi)
    with np.errstate(divide="ignore"):
      out = np.log(np.abs(c))
    return out if np.ndim(n_terms) == 0 else out[np.asarray(n_terms, int)]
  base, k = _parse(phi)
  i = (
    np.arange(n_terms, dtype=np.float64)
    if np.ndim(n_terms) == 0
    else np.asarray(n_terms, np.float64)
  )
  logk = math.log(k)
  with np.errstate(divide="ignore"):
    if base == "pow":
      return np.where(i == int(k), 0.0, -np.inf)
    base_log = i * logk - special.gammaln(i + 1)  # k^i / i!
    if base == "exp1":
      mask = i >= 1
    elif base in ("sin", "sinh"):
      mask = (i % 2) == 1
    else:  # cos1, cosh1: even i >= 2
      mask = ((i % 2) == 0) & (i >= 2)
    return np.where(mask, base_log, -np.inf)


def taylor_coefficients(phi: str | Sequence[float], n_terms: int = 20) -> np.ndarray:
  """Taylor coefficients ``c_0 ... c_{n_terms-1}`` of a named ``phi`` (or the
  given polynomial coefficients, padded/truncated to ``n_terms``).

  Example::

    >>> from jaxrnn.concept import taylor_coefficients
    >>> taylor_coefficients("sin", 6).round(4).tolist()
    [0.0, 1.0, 0.0, -0.1667, 0.0, 0.0083]
  """
  if n_terms < 1:
    raise ValueError(f"n_terms must be positive, got {n_terms}")
  if not isinstance(phi, str):
    c = _coefficients(phi)
    out = np.zeros(n_terms)
    out[: min(n_terms, c.size)] = c[:n_terms]
    return out
  base, k = _parse(phi)
  i = np.arange(n_terms)
  mag = np.exp(_log_abs_coeffs(phi, n_terms))
  if base == "sin":
    sign = np.where((i // 2) % 2 == 0, 1.0, -1.0)  # i = 1, 5, ... positive
  elif base == "cos1":
    sign = np.where((i // 2) % 2 == 1, 1.0, -1.0)  # 1 - cos: +z^2/2, -z^4/24
  else:
    sign = np.ones(n_terms)
  return sign * mag


def _window(center: float) -> np.ndarray:
  """Indices holding all but a negligible part of a Poisson-like series
  peaked at ``center`` (+-60 standard deviations, at least 0 ... 200)."""
  half = 60.0 * math.sqrt(center + 1.0) + 200.0
  lo, hi = max(0, int(center - half)), int(center + half) + 1
  return np.arange(lo, hi, dtype=np.float64)


def _indices(phi, peaks: Callable[[float], list]) -> np.ndarray:
  """Series indices to sum: all coefficients of a polynomial; for the named
  entire functions (|c_i| = k^i / i! or 0) windows around each peak
  ``peaks(k)``."""
  if not isinstance(phi, str):
    return np.arange(np.asarray(phi).size, dtype=np.float64)
  base, k = _parse(phi)
  if base == "pow":
    return np.array([0.0, float(int(k))])
  return np.unique(np.concatenate([_window(p) for p in peaks(k)]))


def _logsumexp(a: np.ndarray) -> float:
  a = a[np.isfinite(a)]
  if a.size == 0:
    return -math.inf
  mx = float(np.max(a))
  return mx + math.log(float(np.sum(np.exp(a - mx))))


def _check(R, eps, C_star):
  if not (R > 0 and math.isfinite(R)):
    raise ValueError(f"R must be positive and finite, got {R!r}")
  if eps is not None and not (0 < eps < 1):
    raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
  if not (C_star > 0):
    raise ValueError(f"C_star must be positive, got {C_star!r}")


def _phis_of(phi) -> list:
  """The functions whose max complexity is wanted: a ``Concept``'s Phi's
  (Def. 3.3) or ``[phi]``."""
  if hasattr(phi, "phis") and hasattr(phi, "w"):
    return sorted({p for row in phi.phis for p in row}, key=repr)
  return [phi]


def _ln_complexity_eps(phi, R: float, eps: float, C_star: float) -> float:
  a = C_star * R
  s = math.sqrt(math.log(1.0 / eps))
  # (k a)^i / i! peaks near i = k a; (s k a / sqrt(i))^i / i! near (s k a)^(2/3)
  i = _indices(phi, lambda k: [k * a, (s * k * a) ** (2.0 / 3.0)])
  lc = _log_abs_coeffs(phi, i)
  first = i * math.log(a) + lc
  # (s a / sqrt(i))^i in logs; the i = 0 factor is 1 (the i -> 0+ limit).
  second = i * math.log(s * a) - 0.5 * i * np.log(np.maximum(i, 1.0)) + lc
  return _logsumexp(np.concatenate([first, second]))


def _ln_complexity_s(phi, R: float, C_star: float) -> float:
  i = _indices(phi, lambda k: [k * R])
  lc = _log_abs_coeffs(phi, i)
  return math.log(C_star) + _logsumexp(1.75 * np.log(i + 1) + i * math.log(R) + lc)


_LN10 = math.log(10.0)


def log10_complexity_eps(
  phi: str | Sequence[float] | Concept, R: float, eps: float, *, C_star: float = C_STAR
) -> float:
  """``log10 C_eps(phi, R)`` of Def. 2.1 (i = 0 term ``2|c_0|``).

  **Arguments:**

  - ``phi``: a name (``"sin:3"``, ``"pow:2"``, ...), a sequence of polynomial
    coefficients c_0, c_1, ..., or a ``Concept`` (then the class complexity
    ``C_eps(Phi, R) = max over its Phi's``, Def. 3.3).
  - ``R > 0``; ``eps`` in (0, 1); ``C_star`` (default 10^4, the paper's C*).

  **Returns:** a float (``-inf`` for phi = 0). Cost: O(sqrt(k C* R)) series
  terms for the named entire functions (windows of +-60 standard deviations
  around the peaks of the two Poisson-like series; the rest is below float64
  resolution), O(degree) for polynomials.

  Example::

    >>> from jaxrnn.concept import log10_complexity_eps
    >>> round(log10_complexity_eps("sin", 1.0, 0.1))   # ~ log10 sinh(10^4)
    4343
  """
  _check(R, eps, C_star)
  return max(_ln_complexity_eps(p, R, eps, C_star) for p in _phis_of(phi)) / _LN10


def log10_complexity_s(
  phi: str | Sequence[float] | Concept, R: float, *, C_star: float = C_STAR
) -> float:
  """``log10 C_s(phi, R)``, ``C_s = C* sum_i (i+1)^1.75 R^i |c_i|`` (Def. 2.1).

  ``phi`` as in ``log10_complexity_eps`` (a name, coefficients or a
  ``Concept``). Example::

    >>> from jaxrnn.concept import log10_complexity_s
    >>> round(log10_complexity_s("pow:2", 1.0), 3)   # 10^4 * 3^1.75
    4.835
  """
  _check(R, None, C_star)
  return max(_ln_complexity_s(p, R, C_star) for p in _phis_of(phi)) / _LN10


def _exp10(x: float) -> float:
  return 10.0**x if x < 308.0 else math.inf


def complexity_eps(
  phi: str | Sequence[float] | Concept, R: float, eps: float, *, C_star: float = C_STAR
) -> float:
  """``C_eps(phi, R)`` of Def. 2.1; ``inf`` beyond float64 (use the log10)."""
  return _exp10(log10_complexity_eps(phi, R, eps, C_star=C_star))


def complexity_s(
  phi: str | Sequence[float] | Concept, R: float, *, C_star: float = C_STAR
) -> float:
  """``C_s(phi, R)`` of Def. 2.1; ``inf`` beyond float64 (use the log10)."""
  return _exp10(log10_complexity_s(phi, R, C_star=C_star))
