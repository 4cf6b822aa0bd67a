"""Sweeps over seeds: ``sweep(fn, keys, *args)`` evaluates ``fn(key, *args)``
for every key in one call of one compiled program. ``jax.shard_map`` splits
the keys over a one-axis mesh of the devices (axis ``"seeds"``); each device
runs its seeds as ``lax.map`` over chunks of ``jax.vmap``-ed seeds, the chunk
size set by the per-seed jaxpr (CPU) and XLA's memory account. Several CPU
cores serve a sweep as several CPU devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=$(nproc)``, before JAX
starts); after ``jax.distributed.initialize()`` the mesh spans every
process's devices and all processes make the same calls.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import math
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxrnn._src import lapack_guard
from jaxrnn._src.checks import ResourceError

SEED_AXIS = "seeds"
ALLOW_LARGE_ENV = "JAXRNN_ALLOW_LARGE"
# CPU: a chunk of at most this many bytes of values (``_values_bytes``) stays in
# cache (64 seeds vmapped ran at 0.5x a loop at m = 256, 3.4 MiB a seed (XLA)).
CPU_CHUNK_BYTES = 16 << 20
# The automatic layout keeps a program within this fraction of the memory
# available per device (the rest: the caller's arrays, the copy to the host).
MEMORY_FRACTION = 0.5
# XLA:CPU: LLVM -O2 and the classic fusion emitters (0.55-0.89x the compile
# time, docs/performance.md); layout_invariant: XLA's kernels, not YNNPACK.
CPU_OPTIONS = {"xla_backend_optimization_level": 2}
if lapack_guard.JAXLIB < (0, 11):
  CPU_OPTIONS["xla_cpu_use_fusion_emitters"] = False
CPU_INVARIANT_OPTIONS = {**CPU_OPTIONS, "xla_cpu_experimental_ynn_fusion_type": ""}


def seed_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
  """A one-axis mesh named ``"seeds"`` over ``devices`` (default: all)."""
  return Mesh(np.asarray(list(devices) if devices is not None else jax.devices()), (SEED_AXIS,))


def seed_keys(seed: int, num_seeds: int) -> jax.Array:
  """``num_seeds`` independent typed keys derived from one integer seed."""
  if num_seeds < 1:
    raise ValueError(f"num_seeds must be positive, got {num_seeds}")
  return jax.random.split(jax.random.key(seed), num_seeds)


def _static_key(value):
  """A hashable key comparing settings by value: partials by function and
  arguments, tuples by items (recursively), unhashables by identity."""
  if isinstance(value, functools.partial):
    kw = tuple(sorted((k, _static_key(v)) for k, v in value.keywords.items()))
    return ("partial", _static_key(value.func), _static_key(value.args), kw)
  if isinstance(value, tuple):
    return (type(value), tuple(_static_key(v) for v in value))
  try:
    hash(value)
  except TypeError:
    return ("id", id(value))
  return (type(value), value)


def _fmt_bytes(n: float | None) -> str:
  if n is None:
    return "unknown"
  e = min(int(math.log(max(n, 1), 1024)), 5)
  return f"{n:.0f} B" if e == 0 else f"{n / 1024**e:.1f} {'KMGTP'[e - 1]}iB"


def host_available_bytes() -> int | None:
  """Host memory available to a new allocation: ``MemAvailable`` of
  ``/proc/meminfo``, else the free physical pages; ``None`` when unknown."""
  try:
    with open("/proc/meminfo", "rb") as f:
      return next(int(ln.split()[1]) * 1024 for ln in f if ln.startswith(b"MemAvailable:"))
  except (OSError, StopIteration):
    pass
  try:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
  except (ValueError, OSError, AttributeError):
    return None


def available_bytes(mesh: Mesh) -> tuple[int | None, str, int]:
  """``(bytes, where, sharers)``: the memory one device of ``mesh`` may still
  use (``bytes_limit - bytes_in_use`` of ``memory_stats()``, the least over
  this process's accelerators; else the host's ``MemAvailable``), where that
  comes from, and how many of this process's devices share it."""
  local = [d for d in mesh.devices.flat if d.process_index == jax.process_index()]
  if not local:
    return None, "no local device", 1
  if local[0].platform != "cpu":
    stats = [d.memory_stats() or {} for d in local]
    free = [s["bytes_limit"] - s.get("bytes_in_use", 0) for s in stats if "bytes_limit" in s]
    if free:
      return int(min(free)), f"{local[0].platform} memory_stats", 1
  return host_available_bytes(), "host MemAvailable", len(local)


def allow_large_setting(allow_large: bool | None = None) -> bool:
  """``allow_large``, else the ``JAXRNN_ALLOW_LARGE`` setting (ValueError,
  one line, for a value that is not a boolean word: a program checks the
  environment with it before any work)."""
  if allow_large is not None:
    return bool(allow_large)
  value = os.environ.get(ALLOW_LARGE_ENV, "").strip().lower()
  if value not in ("1", "true", "yes", "on", "", "0", "false", "no", "off"):
    raise ValueError(
      f"{ALLOW_LARGE_ENV} must be one of 1, true, yes, on or 0, false, no, off (or unset), "
      f"got {os.environ[ALLOW_LARGE_ENV]!r}"
    )
  return value in ("1", "true", "yes", "on")


@dataclasses.dataclass(frozen=True)
class Plan:
  """How ``sweep`` lays out K seeds: ``num_chunks`` chunks of ``batch_size``
  vmapped seeds in turn on each of ``num_devices`` devices; the bytes its
  program needs (XLA's account) and those available, per device."""

  layout: str  # "vmap" (one chunk), "chunks" or "sequential" (chunks of one seed)
  batch_size: int
  num_chunks: int
  num_devices: int
  num_seeds: int
  bytes_per_device: int | None
  available_bytes: int | None
  memory_source: str
  reason: str

  @property
  def padded_seeds(self) -> int:
    return self.batch_size * self.num_chunks * self.num_devices


def _balanced(per_device: int, max_chunk: int) -> tuple[int, int]:
  """(batch_size, num_chunks): the fewest chunks of <= ``max_chunk``, even."""
  n = -(-per_device // max(1, min(int(max_chunk), per_device)))
  return -(-per_device // n), n


def _program(fn, n_args: int, mesh: Mesh, b: int, n: int, invariant: bool, impl, args):
  """The compiled program that runs ``n`` chunks of ``b`` seeds on each
  device of ``mesh``: typed keys ``(devices * n * b,)`` in, results out."""

  def local(keys, *args):
    if b == 1:  # the program of ``jax.jit(fn)``: no vmap of one seed
      one = lambda k: fn(k, *args)
      return jax.tree.map(lambda x: x[None], one(keys[0])) if n == 1 else jax.lax.map(one, keys)
    batched = lambda ks: jax.vmap(fn, in_axes=(0,) + (None,) * n_args)(ks, *args)
    if n == 1:
      return batched(keys)
    out = jax.lax.map(batched, keys.reshape(n, b))
    return jax.tree.map(lambda x: x.reshape((n * b,) + x.shape[2:]), out)

  local.__name__ = _name(fn)  # the program's name in XLA's logs and dumps
  seeds, rep = PartitionSpec(SEED_AXIS), PartitionSpec()
  # no varying-axes check: per-seed scans start from constants, which it rejects
  body = jax.shard_map(
    local, mesh=mesh, in_specs=(seeds,) + (rep,) * n_args, out_specs=seeds, check_vma=False
  )
  options = CPU_INVARIANT_OPTIONS if invariant else CPU_OPTIONS
  options = options if mesh.devices.flat[0].platform == "cpu" else None
  shardings = (NamedSharding(mesh, seeds),) + (NamedSharding(mesh, rep),) * n_args
  program = jax.jit(
    body, in_shardings=shardings, out_shardings=shardings[0], compiler_options=options
  )
  keys = jax.ShapeDtypeStruct((mesh.devices.size * n * b,), jax.random.key(0, impl=impl).dtype)
  return program.lower(keys, *args).compile()


def _all_processes(value: int, reduce) -> int:
  """``reduce`` of ``value`` over every process (itself with one process)."""
  single = jax.process_count() == 1
  return value if single else int(reduce(multihost_utils.process_allgather(np.int64(value))))


def _values_bytes(jaxpr) -> int:
  """Bytes of the values a jaxpr makes, a nested body (a scan's, a branch's)
  once at its largest: an upper bound of a call's outputs and temporaries
  (3.5-6x XLA's account for the quick presets' per-seed programs)."""
  eqns = getattr(jaxpr, "jaxpr", jaxpr).eqns
  size = lambda a: math.prod(getattr(a, "shape", ())) * getattr(a.dtype, "itemsize", 0)
  own = sum(size(v.aval) for e in eqns for v in e.outvars if hasattr(v.aval, "dtype"))
  return own + max((_values_bytes(s) for e in eqns for s in lapack_guard.nested(e)), default=0)


def _plan(fn, mesh, keys, args, batch_size, allow, invariant, jaxpr=None, linalg=False):
  """(Plan, compiled program) for these keys, running nothing; raises
  ``ResourceError`` where it cannot fit. On a CPU ``fn``'s ``jaxpr`` sets the
  chunk before compiling; ``linalg``: batched LAPACK calls could hang."""
  n_args, impl, num_seeds = len(args), jax.random.key_impl(keys), keys.shape[0]
  per_device = -(-num_seeds // mesh.devices.size)
  avail, source, sharers = available_bytes(mesh)
  budget = None if avail is None else avail / sharers  # per device
  compile_ = lambda b, n: _program(fn, n_args, mesh, b, n, invariant, impl, args)
  if batch_size is not None:
    b, n = _balanced(per_device, batch_size)
    reason = f"batch_size={batch_size} requested"
  else:  # the vmap of a device's seeds unless the jaxpr or XLA's account says otherwise
    b, n, reason = per_device, 1, "vmap: every seed of a device at once"
    if jaxpr is not None and per_device > 1:
      seed_bytes = _values_bytes(jaxpr)
      if linalg:
        b, n, reason = 1, per_device, "LAPACK on CPU, jaxlib < 0.11.2: one seed at a time"
      elif seed_bytes * per_device > CPU_CHUNK_BYTES:
        b, n = _balanced(per_device, CPU_CHUNK_BYTES // max(seed_bytes, 1))
        reason = f"CPU: chunks <= {_fmt_bytes(CPU_CHUNK_BYTES)} ({_fmt_bytes(seed_bytes)} a seed)"
  if (agreed := _all_processes(b, np.min)) != b:
    b, n = _balanced(per_device, agreed)
    reason += "; the smallest chunk of all processes"
  compiled = compile_(b, n)
  ma, fit = compiled.memory_analysis(), b  # within the memory: all outputs, one chunk's temps
  if batch_size is None and b > 1 and budget is not None and ma is not None:
    room = MEMORY_FRACTION * budget - ma.argument_size_in_bytes - ma.output_size_in_bytes
    fit = _all_processes(min(b, int(room // max(ma.temp_size_in_bytes / b, 1))), np.min)
  if fit < b:
    b, n = _balanced(per_device, fit)
    reason = f"memory: within {MEMORY_FRACTION:.0%} of {_fmt_bytes(budget)} per device"
    ma = (compiled := compile_(b, n)).memory_analysis()
  need = ma and ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes
  layout = "vmap" if n == 1 else "sequential" if b == 1 else "chunks"
  budget = None if budget is None else int(budget)
  plan = Plan(layout, b, n, mesh.devices.size, num_seeds, need, budget, source, reason)
  too_big = need is not None and budget is not None and need > budget
  if _all_processes(int(too_big), np.max) and not allow:
    raise _resource_error(fn, plan)
  return plan, compiled


def _name(fn) -> str:
  while isinstance(fn, functools.partial):
    fn = fn.func
  return getattr(fn, "__name__", "per_seed")


def _resource_error(fn, plan: Plan) -> ResourceError:
  return ResourceError(
    f"sweep of {plan.num_seeds} seeds of {_name(fn)}: the program needs "
    f"{_fmt_bytes(plan.bytes_per_device)} per device ({plan.layout}, {plan.batch_size} seed(s) "
    f"at a time on each of {plan.num_devices} device(s); XLA's account of arguments, outputs "
    f"and temporaries) but only {_fmt_bytes(plan.available_bytes)} is available per device "
    f"({plan.memory_source}). Nothing was run. Use smaller sizes or fewer seeds, or set "
    f"{ALLOW_LARGE_ENV}=1 (allow_large=True; CLI --allow-large) to run it anyway."
  )


# (function by value, devices, keys, argument types, options, configuration)
# -> (Plan, compiled program, mesh); the most recently used last, 256 at most.
_CACHE: dict = {}


def _prepare(fn, keys, args, devices=None, batch_size=None, allow_large=None, invariant=False):
  """(plan, compiled program, mesh) of a call of ``sweep``, cached."""
  if not jnp.issubdtype(getattr(keys, "dtype", None), jax.dtypes.prng_key):
    raise TypeError("keys must be typed PRNG keys (jax.random.key / seed_keys)")
  if keys.ndim != 1 or keys.shape[0] < 1:
    raise ValueError(f"keys must be 1-D (K,) with K >= 1, got shape {keys.shape}")
  ok = isinstance(batch_size, int | np.integer) and not isinstance(batch_size, bool)
  if batch_size is not None and not (ok and batch_size >= 1):
    raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
  devs = tuple(devices) if devices is not None else tuple(jax.devices())
  leaves, treedef = jax.tree.flatten(args)
  cfg = jax.config  # the settings a trace depends on
  trace = (cfg.jax_enable_x64, cfg.jax_default_matmul_precision, cfg.jax_numpy_dtype_promotion)
  types = (keys.dtype, keys.shape, treedef, tuple(jax.typeof(x) for x in leaves))
  key = (_static_key(fn), devs, types, batch_size, bool(invariant), trace)
  hit, allow = _CACHE.pop(key, None), allow_large_setting(allow_large)
  if hit is None:  # on CPUs one trace of fn sets the devices and the chunk
    cpu, one = all(d.platform == "cpu" for d in devs), jax.ShapeDtypeStruct((), keys.dtype)
    jaxpr = jax.jit(fn).trace(one, *args).jaxpr if cpu else None  # one: no program to index keys
    linalg = cpu and lapack_guard.at_risk(devs) and lapack_guard.uses_linalg(jaxpr)
    mesh = seed_mesh(lapack_guard.devices(devs) if linalg else devs)
    hit = (*_plan(fn, mesh, keys, args, batch_size, allow, invariant, jaxpr, linalg), mesh)
    while len(_CACHE) >= 256:
      _CACHE.pop(next(iter(_CACHE)))
  _CACHE[key] = hit
  # A plan needing much memory is checked again (taken since? made with allow_large?)
  need, had = hit[0].bytes_per_device, hit[0].available_bytes
  if need is not None and had is not None and 4 * need > had and not allow:
    avail, source, sharers = available_bytes(hit[2])
    if avail is not None and need > avail / sharers:
      now = dict(available_bytes=int(avail / sharers), memory_source=source)
      raise _resource_error(fn, dataclasses.replace(hit[0], **now))
  return hit


def plan(
  fn: Callable[..., Any], keys: jax.Array, *args, layout_invariant: bool = False, **options
) -> Plan:
  """The layout ``sweep(fn, keys, *args, **options)`` uses (compiling its
  program, running nothing); raises ``ResourceError`` where ``sweep`` would."""
  return _prepare(fn, keys, args, invariant=layout_invariant, **options)[0]


_PLAN_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("jaxrnn_plan_only", default=False)


class Planned(BaseException):  # not an Exception: ``except Exception`` passes it on
  """Raised by ``sweep`` inside ``plan_only()`` once planned (compiled, its
  memory checked, nothing run); ``plan`` is the ``Plan``."""

  def __init__(self, plan: Plan):
    super().__init__(plan)
    self.plan = plan


@contextlib.contextmanager
def plan_only() -> Iterator[None]:
  """Within it, ``sweep`` plans its call (raising ``ResourceError`` where a
  real call would), then raises ``Planned`` instead of running: the runner
  checks every grid point up to its first sweep before the first runs."""
  token = _PLAN_ONLY.set(True)
  try:
    yield
  finally:
    _PLAN_ONLY.reset(token)


def sweep(
  fn: Callable[..., Any],
  keys: jax.Array,
  *args,
  devices: Sequence[jax.Device] | None = None,
  batch_size: int | None = None,
  allow_large: bool | None = None,
  layout_invariant: bool = False,
) -> Any:
  """Runs ``fn(key, *args)`` for every key in ``keys``: one call of one
  compiled program, the seeds sharded over the D ``devices`` and, on each,
  ``lax.map`` over ``num_chunks`` chunks of ``batch_size`` vmapped seeds.

  **Layout.** K is padded (repeating the last key) to D * num_chunks *
  batch_size. With ``batch_size=None`` (never timing): the vmap of a
  device's ``ceil(K / D)`` seeds, unless on a CPU the values of ``fn``'s
  jaxpr for that many seeds exceed ``CPU_CHUNK_BYTES`` (the cache), ``fn``
  calls ``jax.lax.linalg`` with jaxlib < 0.11.2 (one seed at a time:
  ``lapack_guard``), or XLA's account of the program needs over
  ``MEMORY_FRACTION`` of a device's memory; then the fewest balanced chunks
  within those bounds, down to one seed (``"sequential"``).

  **Memory guard.** Before anything runs, XLA's account of the program (arguments,
  outputs, temporaries per device) is compared with ``available_bytes``: ``ResourceError``
  (a ``MemoryError``) names both unless ``allow_large=True`` or ``JAXRNN_ALLOW_LARGE=1``.

  **Rounding.** XLA:CPU picks YNNPACK kernels by an operation's size, so a
  seed's last bits may depend on the layout (~1e-7 relative per operation);
  ``layout_invariant=True`` (XLA's own kernels, 1.3-2x the time) removes that.

  **Arguments:** ``fn`` a jit-able ``fn(key, *args) -> pytree``, settings
  that change the program bound with ``functools.partial`` (cached by value:
  grid points differing only in ``args`` of the same shapes compile once);
  ``keys`` (K,) typed PRNG keys (``seed_keys``); ``args`` arrays or pytrees
  shared by all seeds; ``devices`` (default ``jax.devices()``; on CPUs at
  most cores - 1 of them for ``jax.lax.linalg`` calls with jaxlib < 0.11.2,
  where more can hang); ``batch_size`` seeds per chunk (``None``: as above;
  ``1``: sequential; as given, so > 1 with such calls can hang); ``allow_large``
  run even when it cannot fit.

  **Returns:** ``fn``'s output pytree with a leading axis K, as NumPy arrays.
  **Cost:** K calls of ``fn`` over D devices; one compilation per function,
  shapes, K and configuration (two when the first exceeds the memory).

  Example::

    >>> import jax, jaxrnn
    >>> f = lambda key, s: s * jax.random.normal(key, ())
    >>> keys = jaxrnn.seed_keys(0, 5)
    >>> jaxrnn.sweep(f, keys, 2.0).shape
    (5,)
    >>> jaxrnn.sweep(f, keys, 2.0, batch_size=2).shape  # 3 chunks of 2, padded
    (5,)
  """
  options = (devices, batch_size, allow_large, layout_invariant)
  plan_, program, mesh = _prepare(fn, keys, args, *options)
  if _PLAN_ONLY.get():
    raise Planned(plan_)
  k, pad = keys.shape[0], plan_.padded_seeds - keys.shape[0]
  if pad:  # repeat the last key; its results are dropped below
    keys = jnp.concatenate([keys, jnp.broadcast_to(keys[-1:], (pad,))])
  if jax.process_count() == 1:
    return jax.tree.map(lambda x: np.asarray(x)[:k], program(keys, *args))
  raw = np.asarray(jax.random.key_data(keys))
  sharding = NamedSharding(mesh, PartitionSpec(SEED_AXIS))
  glob = jax.make_array_from_callback(raw.shape, sharding, lambda i: raw[i])
  out = program(jax.random.wrap_key_data(glob, impl=jax.random.key_impl(keys)), *args)
  out = multihost_utils.process_allgather(out, tiled=True)
  return jax.tree.map(lambda x: np.asarray(x)[:k], out)
