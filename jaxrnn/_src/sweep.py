"""Sweeps over seeds: ``jax.vmap`` over PRNG keys, sharded over devices.

``sweep(fn, keys, *args)`` evaluates ``fn(key, *args)`` for every key at once:
the per-seed function is vmapped over the key axis and jitted, and the key
axis is laid out over a one-axis ``Mesh`` of all devices (``NamedSharding``
with ``PartitionSpec("seeds")``), so XLA runs each device's slice of seeds
locally. The same call fills one CPU, every GPU of a host, or a TPU slice.
The number of seeds need not divide the number of devices: keys are padded by
repeating the last one and the padding is dropped from the result.

On a CPU, XLA runs one device's batch of small matmuls on one core; to
spread the seeds over all cores, give XLA one simulated device per core:
``XLA_FLAGS=--xla_force_host_platform_device_count=$(nproc)`` (set before
JAX starts; ``benchmarks/sweeps.py`` measured 2.2-2.5x on 2 cores).

On several hosts, call ``jax.distributed.initialize()`` first (the CLI does it
with ``--distributed``); the mesh then spans every process's devices, each
process supplies the shards it can address, and results are gathered to every
process with ``multihost_utils.process_allgather``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

SEED_AXIS = "seeds"


def seed_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A one-axis mesh named ``"seeds"`` over ``devices`` (default: all)."""
  devs = np.asarray(list(devices) if devices is not None else jax.devices())
  return Mesh(devs, (SEED_AXIS,))


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
  """``num_seeds`` independent typed keys derived from one integer seed."""
  if num_seeds < 1:
    raise ValueError(f"num_seeds must be positive, got {num_seeds}")
  return jax.random.split(jax.random.key(seed), num_seeds)


def _static_key(value):
  """A hashable key that compares settings by value: ``functools.partial``
  objects by their function and arguments (recursively), other hashables by
  type and value; anything unhashable by identity."""
  if isinstance(value, functools.partial):
    return (
      "partial",
      _static_key(value.func),
      tuple(_static_key(a) for a in value.args),
      tuple(sorted((k, _static_key(v)) for k, v in value.keywords.items())),
    )
  if isinstance(value, tuple):
    return (type(value), tuple(_static_key(v) for v in value))
  try:
    hash(value)
  except TypeError:
    return ("id", id(value))
  return (type(value), value)


class _Compiled:
  """A jitted, vmapped, sharded per-seed function and the callable it wraps
  (kept alive so that identity-keyed entries stay valid)."""

  def __init__(self, fn, n_args: int, mesh: Mesh, impl):
    self.fn = fn
    key_sharding = NamedSharding(mesh, PartitionSpec(SEED_AXIS))
    rep = NamedSharding(mesh, PartitionSpec())

    def per_seed(raw_key, *args):
      return fn(jax.random.wrap_key_data(raw_key, impl=impl), *args)

    batched = jax.vmap(per_seed, in_axes=(0,) + (None,) * n_args)
    self.call = jax.jit(
      batched, in_shardings=(key_sharding,) + (rep,) * n_args, out_shardings=key_sharding
    )


_CACHE: dict = {}
_CACHE_SIZE = 256


def _compiled(fn, n_args: int, mesh: Mesh, impl) -> _Compiled:
  key = (_static_key(fn), n_args, mesh, str(impl))
  entry = _CACHE.pop(key, None)
  if entry is None:
    entry = _Compiled(fn, n_args, mesh, impl)
    while len(_CACHE) >= _CACHE_SIZE:
      _CACHE.pop(next(iter(_CACHE)))
  _CACHE[key] = entry  # most recently used last
  return entry


def sweep(
  fn: Callable[..., Any], keys: jax.Array, *args, devices: Sequence[jax.Device] | None = None
) -> Any:
  """Runs ``fn(key, *args)`` for every key in ``keys``, vmapped and sharded.

  **Arguments:**

  - ``fn``: a jit-able per-seed function ``fn(key, *args) -> pytree``.
    Python-level settings (widths, lengths, dtypes: anything that changes a
    shape or the program) go in with ``functools.partial`` as keywords.
    Compilations are cached by *value*: ``partial(f, m=64)`` built twice
    reuses one compilation, and grid points that differ only in ``args``
    (same shapes) compile once, so callers never need their own cache.
    ``args`` are arrays (or pytrees of arrays) shared by all seeds.
  - ``keys``: (K,) typed PRNG keys, e.g. from ``seed_keys``.
  - ``devices``: devices for the seed axis (default ``jax.devices()``).

  **Returns:** ``fn``'s output pytree with a leading axis of size K, as host
  NumPy arrays.

  Example::

    >>> import jax, jaxrnn
    >>> f = lambda key, s: s * jax.random.normal(key, ())
    >>> jaxrnn.sweep(f, jaxrnn.seed_keys(0, 5), 2.0).shape
    (5,)
  """
  if not jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
    raise TypeError("keys must be typed PRNG keys (jax.random.key / seed_keys)")
  if keys.ndim != 1:
    raise ValueError(f"keys must be 1-D (K,), got shape {keys.shape}")
  mesh = seed_mesh(devices)
  n_dev = mesh.devices.size
  k = keys.shape[0]
  pad = (-k) % n_dev
  raw = np.asarray(jax.random.key_data(keys))
  if pad:
    raw = np.concatenate([raw, np.repeat(raw[-1:], pad, axis=0)], axis=0)
  impl = jax.random.key_impl(keys)
  compiled = _compiled(fn, len(args), mesh, impl).call
  sharding = NamedSharding(mesh, PartitionSpec(SEED_AXIS))
  if jax.process_count() > 1:
    raw_global = jax.make_array_from_callback(raw.shape, sharding, lambda idx: raw[idx])
  else:
    raw_global = jax.device_put(raw, sharding)
  out = compiled(raw_global, *args)
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils

    out = multihost_utils.process_allgather(out, tiled=True)
  return jax.tree.map(lambda x: np.asarray(x)[:k], out)
