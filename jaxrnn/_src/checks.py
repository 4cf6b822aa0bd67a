"""Input validation shared by the public functions.

Shape and dtype checks are static, so they run under ``jax.jit`` and
``jax.vmap`` too. Value checks (finiteness, unit rows) need concrete numbers:
they run on concrete arrays and are skipped for tracers, where they cannot be
decided without a host round trip.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def is_concrete(x) -> bool:
  """True when ``x`` holds concrete values (not a tracer inside jit/vmap/grad)."""
  return not isinstance(x, jax.core.Tracer)


def check_float(name: str, x) -> None:
  dtype = jnp.result_type(x)
  if not jnp.issubdtype(dtype, jnp.floating):
    raise TypeError(f"{name} must be a floating-point array, got dtype {dtype}")


def check_ndim(name: str, x, ndim: int, shape_doc: str) -> None:
  if jnp.ndim(x) != ndim:
    raise ValueError(f"{name} must have shape {shape_doc}, got shape {tuple(jnp.shape(x))}")


def check_finite(name: str, x) -> None:
  if is_concrete(x):
    arr = np.asarray(x)
    if not np.all(np.isfinite(arr)):
      bad = np.argwhere(~np.isfinite(arr))[0]
      raise ValueError(f"{name} has a non-finite entry at index {tuple(int(i) for i in bad)}")


def check_params(params) -> tuple[int, int, int]:
  """Validates an ``RNNParams`` and returns ``(m, d, d_out)``."""
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


def check_sequence(params, xs, name: str = "xs") -> None:
  """Validates one input sequence ``xs`` of shape (L, d) against ``params``."""
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
  check_finite(name, xs)


def check_hidden(params, h, name: str = "h") -> None:
  m, _, _ = check_params(params)
  check_ndim(name, h, 1, f"(m,) with m={m}")
  check_float(name, h)
  if h.shape[0] != m:
    raise ValueError(f"{name} has length {h.shape[0]} but params have m={m}")
  if jnp.result_type(h) != jnp.result_type(params.W):
    raise TypeError(
      f"{name} has dtype {jnp.result_type(h)} but params have dtype {jnp.result_type(params.W)}"
    )


def check_token(params, x, name: str = "x") -> None:
  _, d, _ = check_params(params)
  check_ndim(name, x, 1, f"(d,) with d={d}")
  check_float(name, x)
  if x.shape[0] != d:
    raise ValueError(f"{name} has length {x.shape[0]} but params.A expects d={d}")
  if jnp.result_type(x) != jnp.result_type(params.W):
    raise TypeError(
      f"{name} has dtype {jnp.result_type(x)} but params have dtype {jnp.result_type(params.W)}"
    )


class ResourceError(MemoryError):
  """A computation would need more memory than the machine has (raised before
  any work is done; the message names the size and the available memory)."""
