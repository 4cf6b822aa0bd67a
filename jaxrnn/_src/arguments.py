"""Argument checks every library function runs, and the error types.

Shape and dtype checks are decided from the array types alone, so they run
under ``jax.jit``, ``jax.vmap`` and ``jax.grad`` too; every public function
runs them. Value checks (finite entries, unit rows, bit values) need the
numbers: library functions run them only on concrete (eager) arguments and
take traced ones as given, since inside a transformation a value is unknown
without a host round trip per call. The math never hides a bad value instead
(NaN and inf propagate to the outputs). The checked entry points that raise
on bad values are in ``jaxrnn._src.checks`` (public as ``jaxrnn.checks``).
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np


class NonFiniteError(ValueError):
  """An array that must be finite holds NaN or inf; the message names the
  array, the first bad index (and step, for sequences) and the counts."""


class ResourceError(MemoryError):
  """A computation would need more memory than the machine has (raised before
  any work is done; the message names the size and the available memory)."""


# Shown (in tracebacks, reprs, pickles) under their public home.
NonFiniteError.__module__ = ResourceError.__module__ = "jaxrnn.checks"


def is_concrete(x) -> bool:
  """True when ``x`` holds concrete values (not a tracer inside jit/vmap/grad)."""
  return not isinstance(x, jax.core.Tracer)


def positive_int(name: str, v) -> int:
  """``int(v)`` for a Python or NumPy integer ``v >= 1`` (not a bool);
  ``ValueError`` naming ``name`` otherwise."""
  if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
    raise ValueError(f"{name} must be a positive int, got {v!r}")
  return int(v)


def check_float(name: str, x) -> None:
  dtype = jnp.result_type(x)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be a floating-point array, got dtype {dtype}")


def check_ndim(name: str, x, ndim: int, shape_doc: str) -> None:
  if jnp.ndim(x) != ndim:
    raise ValueError(f"{name} must have shape {shape_doc}, got shape {tuple(jnp.shape(x))}")


def nonfinite_message(name: str, arr: np.ndarray, step_axis: int | None = None) -> str | None:
  """The description of the first non-finite entry of ``arr``, or None."""
  if not np.issubdtype(arr.dtype, np.inexact):
    return None
  bad = ~np.isfinite(arr)
  if not bad.any():
    return None
  idx = tuple(int(i) for i in np.argwhere(bad)[0])
  v = arr[idx] if idx else arr[()]
  kind = "NaN" if np.isnan(v) else ("+inf" if v > 0 else "-inf")
  where = f"index {idx}"
  if step_axis is not None and idx:
    where = f"step l={idx[step_axis] + 1} (index {idx})"
  n_nan = int(np.isnan(arr).sum())
  n_inf = int(bad.sum()) - n_nan
  msg = (
    f"{name} has a non-finite entry at {where}: {kind} "
    f"({n_nan} NaN and {n_inf} inf of {arr.size} entries)"
  )
  if kind != "NaN":
    msg += f"; inf is a value beyond the {arr.dtype} range (max {np.finfo(arr.dtype).max:.3g})"
  return msg


def check_finite(name: str, x) -> None:
  """Raises ``NonFiniteError`` if concrete ``x`` has a NaN or inf entry;
  traced ``x`` is taken as given (see the module docstring)."""
  if is_concrete(x):
    msg = nonfinite_message(name, np.asarray(x))
    if msg:
      raise NonFiniteError(msg)


def check_params(params) -> tuple[int, int, int]:
  """Validates the shapes and dtypes of an ``RNNParams`` and returns
  ``(m, d, d_out)``; runs under jit. (``jaxrnn.checks.check_params`` adds
  the value check.)"""
  W, A, B = params.W, params.A, params.B
  for name, x in (("params.W", W), ("params.A", A), ("params.B", B)):
    check_ndim(name, x, 2, "(rows, columns)")
    check_float(name, x)
  m = W.shape[0]
  if W.shape != (m, m):
    raise ValueError(f"params.W must be square (m, m), got shape {W.shape}")
  if A.shape[0] != m:
    raise ValueError(f"params.A must have m={m} rows to match W, got shape {A.shape}")
  if B.shape[1] != m:
    raise ValueError(f"params.B must have m={m} columns to match W, got shape {B.shape}")
  dtypes = {jnp.result_type(W), jnp.result_type(A), jnp.result_type(B)}
  if len(dtypes) != 1:
    raise TypeError(
      "params.W, params.A and params.B must share one dtype, got "
      f"{jnp.result_type(W)}, {jnp.result_type(A)}, {jnp.result_type(B)}"
    )
  return m, A.shape[1], B.shape[0]


def check_sequence_shape(params, xs, name: str = "xs") -> None:
  """Validates the shape and dtype of one sequence ``xs`` (L, d) against
  ``params``; runs under jit."""
  m, d, _ = check_params(params)
  check_ndim(name, xs, 2, f"(L, d) with d={d} (one sequence; batch with jax.vmap)")
  check_float(name, xs)
  if xs.shape[1] != d:
    raise ValueError(f"{name} has d={xs.shape[1]} features per token but params.A expects d={d}")
  if xs.shape[0] < 1:
    raise ValueError(f"{name} must hold at least one token, got L=0")
  if jnp.result_type(xs) != jnp.result_type(params.W):
    raise TypeError(
      f"{name} has dtype {jnp.result_type(xs)} but params have dtype "
      f"{jnp.result_type(params.W)}; cast one of them explicitly"
    )


def check_sequence(params, xs, name: str = "xs") -> None:
  """Validates one input sequence ``xs`` (L, d) against ``params``: shapes and
  dtypes always, finite values when ``xs`` is concrete."""
  check_sequence_shape(params, xs, name)
  check_finite(name, xs)


def _check_vector(params, v, name: str, symbol: str, n: int, owner: str) -> None:
  """``v`` is a float vector (``symbol``,) with ``symbol`` = ``n`` in the dtype
  of ``params``; ``owner`` says who fixes that length ("params have")."""
  check_ndim(name, v, 1, f"({symbol},) with {symbol}={n}")
  check_float(name, v)
  if v.shape[0] != n:
    raise ValueError(f"{name} has length {v.shape[0]} but {owner} {symbol}={n}")
  if jnp.result_type(v) != jnp.result_type(params.W):
    raise TypeError(
      f"{name} has dtype {jnp.result_type(v)} but params have dtype {jnp.result_type(params.W)}"
    )


def check_hidden(params, h, name: str = "h") -> None:
  m, _, _ = check_params(params)
  _check_vector(params, h, name, "m", m, "params have")


def check_token(params, x, name: str = "x") -> None:
  _, d, _ = check_params(params)
  _check_vector(params, x, name, "d", d, "params.A expects")
