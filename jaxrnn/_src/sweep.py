"""Sweeps over seeds: one compiled program runs a per-seed function for many
PRNG keys, laid out over the devices and, on each device, over the seeds.

``sweep(fn, keys, *args)`` evaluates ``fn(key, *args)`` for every key. The
key axis is split over a one-axis ``Mesh`` of all devices (``shard_map`` over
the axis ``"seeds"``), so the same call fills one CPU, every GPU of a host,
or a TPU slice. On each device the seeds run in one of three layouts, chosen
per call from the compiled program (see ``sweep`` for the rule):

- **vmap**: all of the device's seeds in one ``jax.vmap`` (the fewest,
  largest operations: best while per-operation overhead dominates);
- **chunks**: calls of one compiled program that vmaps ``batch_size`` seeds
  (bounded memory, and on a CPU a working set that stays in cache);
- **sequential**: one seed per device per call (``batch_size=1``).

On a CPU, chunks run several at a time, one per core, from host threads
(XLA:CPU runs one call at a time per calling thread), so one CPU device
keeps every core busy even when each chunk's operations are too small to be
split over cores; programs with custom calls (LAPACK, host callbacks) run
one chunk at a time, since jaxlib's LAPACK kernels deadlock when two run at
once.

The number of seeds need not divide anything: keys are padded by repeating
the last one and the padding is dropped from the result. Before anything
runs, the program's memory (XLA's buffer account) is compared with the
memory available; a sweep that cannot fit raises
``jaxrnn.checks.ResourceError`` (``JAXRNN_ALLOW_LARGE=1`` or
``allow_large=True`` runs it anyway).

The number of chunks at once is the number of cores this process may use
divided by its CPU devices (``JAXRNN_SWEEP_THREADS`` overrides it): with one
simulated CPU device per core
(``XLA_FLAGS=--xla_force_host_platform_device_count=$(nproc)``) the seeds are
sharded over the cores instead, and each device runs one chunk at a time.

On several hosts, call ``jax.distributed.initialize()`` first (the CLI does it
with ``--distributed``); the mesh then spans every process's devices, each
process supplies the shards it can address, and results are gathered to every
process with ``multihost_utils.process_allgather``. Every process must make
the same calls; they agree on the layout (the smallest chunk any process
chose) so that all run the same program (``tests/lab/test_distributed.py``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import dataclasses
import functools
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxrnn._src.checks import ResourceError

SEED_AXIS = "seeds"
ALLOW_LARGE_ENV = "JAXRNN_ALLOW_LARGE"

# On a CPU, the automatic layout keeps one chunk's memory (XLA's buffer
# account per seed times the chunk size) within this many bytes, so that a
# chunk's weights, gradients and activations stay in the core's cache across
# the steps of a training loop (see ``sweep``).
CPU_CHUNK_BYTES = 4 << 20
# A program may use at most this fraction of the available memory when the
# layout is chosen automatically (the rest is for the caller's own arrays and
# for copying the results to the host).
MEMORY_FRACTION = 0.5
# XLA:CPU options of every sweep program: LLVM at -O2 instead of XLA's default
# -O3: 1.1-1.5x faster training steps at m <= 32, the same speed from m = 128
# on, and compiles 25-45% shorter (``benchmarks/sweeps.py``). The arithmetic
# is the same up to float rounding: bit-identical on the benchmark's training
# runs, but LLVM may vectorize a reduction in another order (a least-squares
# residual of ~1e-7 in the invertibility experiment moved by 0.5%).
CPU_OPTIONS = {"xla_backend_optimization_level": 2}
# XLA:CPU options of ``sweep(..., layout_invariant=True)``: XLA's own kernels,
# no YNNPACK library calls (see ``sweep``, "Rounding").
# XLA's newer fusion emitters also pick a reduction's loop order by shape.
CPU_INVARIANT_OPTIONS = {
  **CPU_OPTIONS,
  "xla_cpu_experimental_ynn_fusion_type": "",
  "xla_cpu_use_fusion_emitters": False,
}


@functools.cache
def _accepted(options: tuple) -> dict:
  """The ``(name, value)`` pairs of ``options`` that this jaxlib's XLA:CPU
  accepts, as a dict. XLA adds and retires flags between releases (jaxlib
  0.11 no longer has ``xla_cpu_use_fusion_emitters``) and refuses unknown
  ones at compile time; each is tried once per process on a one-op program
  (a few milliseconds). A retired flag goes with the code path it governed,
  so leaving it out asks for the same kernels as before where they exist
  (the invariance tests pass on jaxlib 0.10.2 and 0.11.2)."""
  ok = {}
  for name, value in options:
    try:
      jax.jit(lambda x: x + 1, compiler_options={name: value}).lower(
        jax.ShapeDtypeStruct((), jnp.float32)
      ).compile()
    except Exception as e:  # jaxlib's error type has moved between releases
      if "compile option" not in str(e):
        raise
      continue
    ok[name] = value
  return ok


def cpu_options(invariant: bool = False) -> dict:
  """The XLA:CPU options of sweep programs (``CPU_INVARIANT_OPTIONS`` with
  ``layout_invariant=True``, else ``CPU_OPTIONS``), less any this jaxlib
  does not know."""
  options = CPU_INVARIANT_OPTIONS if invariant else CPU_OPTIONS
  return _accepted(tuple(options.items()))


# Environment variable that sets how many chunks run at once on each CPU device
# (default: the cores this process may use, divided by its CPU devices).
THREADS_ENV = "JAXRNN_SWEEP_THREADS"
# Largest value of JAXRNN_SWEEP_THREADS (each thread may hold a chunk's
# temporaries; more threads than this is a typo, not a machine).
MAX_THREADS = 1024


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


# ---------------------------------------------------------------------------
# Memory


def _fmt_bytes(n: float | None) -> str:
  if n is None:
    return "unknown"
  for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
    if abs(n) < 1024 or unit == "PiB":
      return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
    n /= 1024
  return f"{n:.1f} PiB"


def host_available_bytes() -> int | None:
  """Host memory available to a new allocation: ``MemAvailable`` of
  ``/proc/meminfo`` (Linux), else the free physical pages; ``None`` when
  unknown."""
  try:
    with open("/proc/meminfo", "rb") as f:
      for line in f:
        if line.startswith(b"MemAvailable:"):
          return int(line.split()[1]) * 1024
  except OSError:
    pass
  try:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
  except (ValueError, OSError, AttributeError):
    return None


def available_bytes(mesh: Mesh) -> tuple[int | None, str, int]:
  """``(bytes, where, sharers)``: the memory one device of ``mesh`` may still
  use, where the number comes from, and how many of this process's devices
  in the mesh share it.

  Accelerators report ``bytes_limit - bytes_in_use`` in
  ``device.memory_stats()`` (the smallest over this process's devices); CPU
  devices share the host's ``MemAvailable`` (``sharers`` is then the number
  of local CPU devices in the mesh, which all draw on it).
  """
  local = [d for d in mesh.devices.flat if d.process_index == jax.process_index()]
  if not local:
    return None, "no local device", 1
  if local[0].platform != "cpu":
    free = []
    for d in local:
      try:
        stats = d.memory_stats()
      except Exception:  # backends without the call
        stats = None
      if stats and "bytes_limit" in stats:
        free.append(int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0)))
    if free:
      return min(free), f"{local[0].platform} memory_stats", 1
  return host_available_bytes(), "host MemAvailable", len(local)


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _allow_large(allow_large: bool | None) -> bool:
  if allow_large is not None:
    return bool(allow_large)
  value = os.environ.get(ALLOW_LARGE_ENV, "").strip().lower()
  if value not in _TRUE + _FALSE:
    raise ValueError(
      f"{ALLOW_LARGE_ENV} must be one of 1, true, yes, on or 0, false, no, off (or unset), "
      f"got {os.environ[ALLOW_LARGE_ENV]!r}"
    )
  return value in _TRUE


def check_environment() -> None:
  """Checks the environment variables this module reads
  (``JAXRNN_ALLOW_LARGE``, ``JAXRNN_SWEEP_THREADS``); ``ValueError`` with one
  line naming the variable. The experiment runner calls it before any work,
  so that a typo is refused at the start, not at the first sweep."""
  _allow_large(None)
  cpu_threads()


# ---------------------------------------------------------------------------
# Layouts


@dataclasses.dataclass(frozen=True)
class Plan:
  """How ``sweep`` lays out K seeds: ``num_chunks`` calls of one compiled
  program that runs ``batch_size`` vmapped seeds on each of ``num_devices``
  devices, ``concurrent`` of those calls at a time (host threads, on a CPU);
  the memory that program needs per device (XLA's account of arguments,
  outputs and temporaries: every chunk's outputs, the temporaries of the
  chunks in flight) and the memory that was available per device."""

  layout: str  # "vmap", "chunks" or "sequential"
  batch_size: int
  num_chunks: int
  num_devices: int
  concurrent: int
  num_seeds: int
  bytes_per_device: int | None
  available_bytes: int | None
  memory_source: str
  reason: str

  @property
  def padded_seeds(self) -> int:
    return self.batch_size * self.num_chunks * self.num_devices


def cpu_threads(num_devices: int = 1) -> int:
  """Chunks a sweep runs at once on each of ``num_devices`` CPU devices: the
  environment variable ``JAXRNN_SWEEP_THREADS`` if set, else the cores this
  process may use (its CPU affinity when first asked) divided by the
  devices, at least 1."""
  env = os.environ.get(THREADS_ENV, "").strip()
  if env:
    try:
      n = int(env)
    except ValueError:
      n = 0
    if not 1 <= n <= MAX_THREADS:
      raise ValueError(
        f"{THREADS_ENV} must be a positive int at most {MAX_THREADS} (chunks at once per "
        f"CPU device), got {os.environ[THREADS_ENV]!r}"
      )
    return n
  return max(1, _cores() // max(1, num_devices))


@functools.cache
def _cores() -> int:
  """The cores this process may use (its CPU affinity; the CPU count off
  Linux), read once per process, as XLA sizes its own thread pool once."""
  try:
    return len(os.sched_getaffinity(0))
  except (AttributeError, OSError):  # not on Linux
    return os.cpu_count() or 1


def _layout_name(batch_size: int, num_chunks: int) -> str:
  if num_chunks == 1:
    return "vmap"
  return "sequential" if batch_size == 1 else "chunks"


def _balanced(per_device: int, max_chunk: int) -> tuple[int, int]:
  """(batch_size, num_chunks): chunks of at most ``max_chunk`` seeds, as few
  as possible, then as even as possible (padding < one seed per chunk)."""
  max_chunk = max(1, min(int(max_chunk), per_device))
  n = -(-per_device // max_chunk)
  return -(-per_device // n), n


class _Entry:
  """The compiled programs and plans of one per-seed function on one mesh
  (holding the function keeps identity-keyed entries valid)."""

  def __init__(self, fn, n_args: int, mesh: Mesh):
    self.fn = fn
    self.n_args = n_args
    self.mesh = mesh
    self.num_devices = mesh.devices.size
    self.platform = mesh.devices.flat[0].platform
    self.key_sharding = NamedSharding(mesh, PartitionSpec(SEED_AXIS))
    self.rep = NamedSharding(mesh, PartitionSpec())
    self.programs: dict = {}  # (batch_size, invariant) -> jitted program
    # (batch_size, invariant, key impl, arg types, trace context) -> compiled
    self.executables: dict = {}
    # (keys' dtype and shape, batch_size and its type, invariant, threads,
    #  trace context, arg types) -> (Plan, compiled program); see _lookup
    self.plans: dict = {}

  def program(self, batch_size: int, invariant: bool):
    """``fn`` vmapped over ``batch_size`` seeds per device (typed keys in;
    one seed: not vmapped)."""
    key = (batch_size, invariant)
    prog = self.programs.get(key)
    if prog is None:
      if batch_size == 1:
        # One seed: the unbatched program, exactly what ``jax.jit(fn)`` runs
        # (a vmap of one seed costs XLA:CPU ~15% more at m = 256).
        fn = self.fn

        def local(keys, *args):
          return jax.tree.map(lambda x: x[None], fn(keys[0], *args))

      else:
        local = jax.vmap(self.fn, in_axes=(0,) + (None,) * self.n_args)
      if self.num_devices > 1:
        spec = PartitionSpec(SEED_AXIS)
        local = jax.shard_map(
          local,
          mesh=self.mesh,
          in_specs=(spec,) + (PartitionSpec(),) * self.n_args,
          out_specs=spec,
          # per-seed functions are written for one device; their scans start
          # from constants, which the varying-axes check would reject
          check_vma=False,
        )
      options = None
      if self.platform == "cpu":
        options = cpu_options(invariant)
      prog = jax.jit(
        local,
        in_shardings=(self.key_sharding,) + (self.rep,) * self.n_args,
        out_shardings=self.key_sharding,
        compiler_options=options,
      )
      self.programs[key] = prog
    return prog

  def executable(self, batch_size: int, invariant: bool, impl, args):
    """The compiled program for ``args`` of these shapes (cached). Chunks
    call it directly, also from worker threads: a jitted function called
    from another thread would see that thread's configuration (e.g. no
    ``jax.enable_x64`` context) and trace again."""
    leaves, treedef = jax.tree.flatten(args)
    avals = tuple(jax.typeof(x) for x in leaves)
    key = (batch_size, invariant, impl, treedef, avals, _trace_context())
    exe = self.executables.get(key)
    if exe is None:
      exe = self.lowered(batch_size, invariant, impl, args).compile()
      self.executables[key] = exe
    return exe

  def lowered(self, batch_size: int, invariant: bool, impl, args):
    """The program for ``batch_size`` seeds per device, lowered (traced, not
    compiled)."""
    keys = jax.eval_shape(
      lambda: jax.random.split(jax.random.key(0, impl=impl), batch_size * self.num_devices)
    )
    return self.program(batch_size, invariant).lower(keys, *args)

  def account(self, batch_size: int, invariant: bool, impl, args):
    """(arguments, outputs, temporaries) in bytes of one device's program
    (compiling it, running nothing), or ``None`` when not reported."""
    compiled = self.executable(batch_size, invariant, impl, args)
    try:
      ma = compiled.memory_analysis()
    except Exception:  # backends without memory analysis
      ma = None
    if ma is None:
      return None
    return (
      int(ma.argument_size_in_bytes),
      int(ma.output_size_in_bytes),
      int(ma.temp_size_in_bytes),
    )


try:
  from jax._src.config import trace_context as _jax_trace_context
except ImportError:  # pragma: no cover - a JAX without this helper
  _jax_trace_context = None


def _trace_context():
  """The configuration a trace depends on (x64, matmul precision, ...), as
  ``jax.jit`` keys its own cache; the x64 flag where JAX does not offer it."""
  if _jax_trace_context is None:  # pragma: no cover
    return (bool(jax.config.jax_enable_x64),)
  return _jax_trace_context()


# Custom calls that only mark shardings for XLA's partitioner (they do not
# survive compilation).
_PARTITIONER_MARKERS = frozenset(
  {"Sharding", "SPMDFullToShardShape", "SPMDShardToFullShape", "annotate_device_placement"}
)


def _lowered_custom_calls(lowered) -> frozenset:
  """The targets of the custom calls in a lowered program (StableHLO text),
  less the partitioner's markers: LAPACK kernels and host callbacks show up
  here already, so a program that has them is known before compiling it."""
  try:
    text = lowered.as_text()
  except Exception:  # no text: nothing known
    return frozenset()
  return frozenset(re.findall(r"custom_call\s*@([\w$.]+)", text)) - _PARTITIONER_MARKERS


def _concurrent_safe(compiled) -> bool:
  """Whether calls of this CPU program may run at once from several threads:
  not if it has any custom call. jaxlib's LAPACK kernels (eigh, solve,
  cholesky, svd, qr, lstsq) deadlock when two calls run at once on XLA:CPU's
  thread pool (tested on 2 cores: within 1-25 pairs of calls); host
  callbacks are custom calls too. Programs of XLA's own operations, dots
  included, run at once safely (``tests/library/test_sweep.py``)."""
  try:
    text = compiled.as_text()
  except Exception:  # no text: be safe
    return False
  return "custom_call_target=" not in text


def _need(acc, num_chunks: int, concurrent: int = 1) -> int | None:
  """Peak bytes per device of ``num_chunks`` calls, ``concurrent`` at a time:
  the shared arguments, every chunk's outputs, the temporaries of the chunks
  in flight."""
  if acc is None:
    return None
  arg_b, out_b, tmp_b = acc
  return arg_b + num_chunks * out_b + min(concurrent, num_chunks) * tmp_b


_CACHE: dict = {}
_CACHE_SIZE = 256


# The last entry looked up, by the identity of its function: a repeated call
# with the same function object skips building the value key (the entry holds
# the function, so its id cannot be reused while the entry is cached).
_LAST: list = [None]


def _entry(fn, n_args: int, devices) -> _Entry:
  last = _LAST[0]
  if last is not None and last[0] is fn and last[1] == n_args and last[2] is devices:
    if _CACHE.get(last[3]) is last[4]:
      return last[4]
  mesh = _mesh(devices)
  key = (_static_key(fn), n_args, mesh)
  entry = _CACHE.pop(key, None)
  if entry is None:
    entry = _Entry(fn, n_args, mesh)
    while len(_CACHE) >= _CACHE_SIZE:
      _CACHE.pop(next(iter(_CACHE)))
  _CACHE[key] = entry  # most recently used last
  if devices is None:
    _LAST[0] = (fn, n_args, devices, key, entry)
  return entry


def _agree(batch_size: int, refuse: bool) -> tuple[int, bool]:
  """Makes every process use the same layout: the smallest chunk any process
  chose (they differ only when their memory differs), and a refusal if any
  process refused."""
  if jax.process_count() == 1:
    return batch_size, refuse
  from jax.experimental import multihost_utils

  mine = np.asarray([batch_size, int(refuse)], np.int32)
  every = np.asarray(multihost_utils.process_allgather(mine))
  return int(every[:, 0].min()), bool(every[:, 1].max())


def _plan(
  entry: _Entry, impl, num_seeds: int, args, batch_size, allow: bool, invariant: bool, threads: int
):
  """Chooses the layout of ``num_seeds`` seeds, ``threads`` chunks at a time
  (compiling, running nothing)."""
  per_device = -(-num_seeds // entry.num_devices)
  avail, source, sharers = available_bytes(entry.mesh)
  budget = None if avail is None else avail / sharers  # per device

  def account(b):
    return entry.account(b, invariant, impl, args)

  # The program that decides: the requested chunk's; else, with several
  # chunks at once, the thread-capped chunk (the vmap of all seeds would never
  # run, and compiling it only for its account cost a second compile); else
  # the vmap of all seeds.
  chunk = per_device if threads == 1 else -(-per_device // threads)
  probe = _balanced(per_device, chunk if batch_size is None else batch_size)[0]
  one_at_a_time = ""
  # Custom calls in the lowered program already rule out chunks at once
  # (without compiling a program that would not run); else the compiled
  # program decides.
  if threads > 1 and (
    _lowered_custom_calls(entry.lowered(probe, invariant, impl, args))
    or not _concurrent_safe(entry.executable(probe, invariant, impl, args))
  ):
    threads, chunk = 1, per_device
    one_at_a_time = "; one chunk at a time (the program has custom calls, e.g. LAPACK)"
  if batch_size is not None:
    b, n = _balanced(per_device, batch_size)
    reason = f"batch_size={batch_size} requested"
    acc = account(b)
  else:
    b, n = _balanced(per_device, chunk)
    reason = (
      "vmap: every seed of a device in one program"
      if n == 1
      else f"CPU: {threads} chunks at once (one per core)"
    )
    acc = account(b)  # also gives the bytes per seed
    if acc is not None and b > 1:
      _, out_b, tmp_b = acc
      cap = b
      if entry.platform == "cpu" and out_b + tmp_b > CPU_CHUNK_BYTES:
        cache_cap = int(CPU_CHUNK_BYTES * b // (out_b + tmp_b))
        if cache_cap < cap:
          cap = cache_cap
          reason = (
            f"CPU: chunks of <= {_fmt_bytes(CPU_CHUNK_BYTES)} "
            f"({_fmt_bytes((out_b + tmp_b) / b)} per seed)"
          )
      if budget is not None and _need(acc, n, threads) > MEMORY_FRACTION * budget:
        cap = min(cap, b // 2)
      for attempt in range(6):  # each attempt compiles; the account converges in 1-2
        if cap >= b:
          break
        b, n = _balanced(per_device, 1 if attempt == 5 else cap)
        acc = account(b)
        fits = budget is None or _need(acc, n, threads) <= MEMORY_FRACTION * budget
        if acc is None or b == 1 or fits:
          break
        # XLA's account of the smaller program is the best guide to the next.
        arg_b, out_b, tmp_b = acc
        room = MEMORY_FRACTION * budget - arg_b - n * out_b
        cap = min(b - 1, max(1, int(room / max(min(threads, n) * tmp_b / b, 1.0))))
        reason = (
          f"memory: chunks within {MEMORY_FRACTION:.0%} of the "
          f"{_fmt_bytes(budget)} available per device"
        )
  need = _need(acc, n, threads)
  refuse = need is not None and budget is not None and need > budget and not allow
  b_all, refuse = _agree(b, refuse)
  if b_all != b:
    b, n = _balanced(per_device, b_all)
    acc = account(b)
    need = _need(acc, n, threads)
    reason += "; the smallest chunk of all processes"
  plan = Plan(
    layout=_layout_name(b, n),
    batch_size=b,
    num_chunks=n,
    num_devices=entry.num_devices,
    concurrent=min(threads, n),
    num_seeds=num_seeds,
    bytes_per_device=need,
    available_bytes=None if budget is None else int(budget),
    memory_source=source,
    reason=reason + one_at_a_time,
  )
  if refuse:
    raise _resource_error(entry.fn, plan)
  return plan


def _fn_name(fn) -> str:
  while isinstance(fn, functools.partial):
    fn = fn.func
  return getattr(fn, "__qualname__", None) or repr(fn)


def _resource_error(fn, plan: Plan) -> ResourceError:
  return ResourceError(
    f"sweep of {plan.num_seeds} seeds of {_fn_name(fn)}: the program needs "
    f"{_fmt_bytes(plan.bytes_per_device)} per device ({plan.layout}, "
    f"{plan.batch_size} seed(s) at a time on each of {plan.num_devices} device(s); XLA's "
    f"account of arguments, outputs and temporaries) but only "
    f"{_fmt_bytes(plan.available_bytes)} is available per device ({plan.memory_source}). "
    f"Nothing was run. Use smaller sizes or fewer seeds, or set {ALLOW_LARGE_ENV}=1 "
    f"(allow_large=True; CLI --allow-large) to run it anyway."
  )


def _arg_types(args) -> tuple:
  """(treedef, avals) of ``args``; a jax.Array's cached ``aval`` is read
  directly (what ``jax.typeof`` returns for it, at a fraction of the cost)."""
  leaves, treedef = jax.tree.flatten(args)
  avals = [getattr(x, "aval", None) for x in leaves]
  return treedef, tuple([jax.typeof(x) if a is None else a for x, a in zip(leaves, avals)])


def _threads(entry: _Entry) -> int:
  """Chunks at once on each device: several only for CPU devices of a single
  process (a multi-process program must be launched in the same order by
  every process)."""
  if entry.platform != "cpu" or jax.process_count() > 1:
    return 1
  return cpu_threads(entry.num_devices)


def _lookup(entry: _Entry, keys, args, batch_size, allow_large, invariant: bool):
  """(plan, compiled program) for this call, cached by the keys' type and
  shape, the arguments' types, the options, the number of threads and the
  trace configuration. A cache hit is the common case (every repeated call):
  it validates nothing that a miss validated already and reads the
  ``JAXRNN_ALLOW_LARGE`` setting only for plans that need a sizeable part of
  the memory; a miss checks the keys, plans and compiles."""
  try:
    # chunks at once matter only with several seeds per device
    threads = 1 if keys.shape[0] <= entry.num_devices else _threads(entry)
    sig = (
      keys.dtype,
      keys.shape,
      batch_size,
      type(batch_size),  # 1 and True hash alike; only one is valid
      invariant,
      threads,
      _trace_context(),
      _arg_types(args),
    )
    cached = entry.plans.get(sig)
  except (AttributeError, TypeError, IndexError):  # keys not a 1-D array, batch_size unhashable
    _check(keys, batch_size)  # names the problem where it is one of these
    raise
  if cached is None:
    _check(keys, batch_size)
    allow = _allow_large(allow_large)
    impl = jax.random.key_impl(keys)
    plan_ = _plan(entry, impl, keys.shape[0], args, batch_size, allow, invariant, threads)
    cached = (plan_, entry.executable(plan_.batch_size, invariant, impl, args))
    entry.plans[sig] = cached
    return cached
  plan_ = cached[0]
  need, had = plan_.bytes_per_device, plan_.available_bytes
  # A cached plan that needs a sizeable part of the memory is checked again
  # (the memory may have been taken since, or the plan was made with
  # allow_large); small ones are not, so that a repeated call costs no
  # system query. (The layout does not depend on allow_large: it only
  # decides whether a plan that cannot fit is refused.)
  if need is not None and had is not None and 4 * need > had and not _allow_large(allow_large):
    avail, source, sharers = available_bytes(entry.mesh)
    if avail is not None and need > avail / sharers:
      raise _resource_error(
        entry.fn,
        dataclasses.replace(plan_, available_bytes=int(avail / sharers), memory_source=source),
      )
  return cached


def _check(keys, batch_size) -> None:
  if not jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
    raise TypeError("keys must be typed PRNG keys (jax.random.key / seed_keys)")
  if keys.ndim != 1:
    raise ValueError(f"keys must be 1-D (K,), got shape {keys.shape}")
  if keys.shape[0] < 1:
    raise ValueError("keys must hold at least one key")
  if batch_size is not None and (
    isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or batch_size < 1
  ):
    raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")


_MESHES: dict = {}
_POOLS: dict = {}


def _pool(n: int) -> concurrent.futures.ThreadPoolExecutor:
  """A pool of ``n`` host threads that run chunks (kept for later sweeps)."""
  pool = _POOLS.get(n)
  if pool is None:
    pool = _POOLS[n] = concurrent.futures.ThreadPoolExecutor(n, thread_name_prefix="jaxrnn-sweep")
  return pool


def _mesh(devices) -> Mesh:
  devs = tuple(devices) if devices is not None else tuple(jax.devices())
  mesh = _MESHES.get(devs)
  if mesh is None:
    mesh = _MESHES[devs] = seed_mesh(devs)
  return mesh


_OPTIONS = ("devices", "batch_size", "allow_large", "layout_invariant")


def _prepare(fn, keys, args, devices, batch_size, allow_large, invariant):
  """(entry, plan, compiled program) of a call of ``sweep``."""
  entry = _entry(fn, len(args), devices)
  plan_, program = _lookup(entry, keys, args, batch_size, allow_large, bool(invariant))
  return entry, plan_, program


def plan(fn: Callable[..., Any], keys: jax.Array, *args, **options: Any) -> Plan:
  """The layout ``sweep(fn, keys, *args, **options)`` uses (compiling its
  program, running nothing); raises ``ResourceError`` where ``sweep`` would.
  ``options`` are ``sweep``'s keywords."""
  unknown = sorted(set(options) - set(_OPTIONS))
  if unknown:
    raise TypeError(f"sweep_plan: unknown options {unknown}; sweep takes {', '.join(_OPTIONS)}")
  return _prepare(fn, keys, args, *(options.get(name) for name in _OPTIONS))[1]


# ---------------------------------------------------------------------------
# Planning without running (the runner's check of a whole grid)

_PLAN_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("jaxrnn_plan_only", default=False)


class Planned(BaseException):
  """Raised by ``sweep`` inside ``plan_only()`` once the call is planned:
  its program compiled (and cached for the real call) and its memory
  checked, nothing run. A ``BaseException``, so that an ``except Exception``
  around a sweep does not take it for a failure. ``plan`` is the ``Plan``."""

  def __init__(self, plan: Plan):
    super().__init__(plan)
    self.plan = plan


@contextlib.contextmanager
def plan_only():
  """Within this context, ``sweep`` plans its call (compiles the program,
  compares its memory with what is available, raising ``ResourceError``
  where a real call would) and then raises ``Planned`` instead of running
  it. The experiment runner runs every point's code this way up to its first
  sweep before the first point runs, so that a point that cannot fit is
  refused before any other is computed."""
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
  """Runs ``fn(key, *args)`` for every key in ``keys``: one compiled program
  vmapped over seeds, sharded over devices, called once or once per chunk.

  **Layout.** The K seeds are split evenly over the devices; each device runs
  its seeds as ``num_chunks`` chunks of ``batch_size`` seeds, each chunk one
  call of the same compiled program (``fn`` vmapped over the chunk's seeds
  and sharded over the devices), so one compilation serves every chunk and
  every K with the same chunk size. With ``batch_size=None`` the layout is
  chosen from XLA's buffer account of the compiled program, never from
  timing:

  1. **vmap** (one chunk of all of a device's seeds) by default: the fewest,
     largest operations. On GPUs and TPUs the parallel hardware wants the
     largest batch: vmap unless memory says otherwise (rule 4).
  2. On a **CPU** with ``c`` cores per device (``cpu_threads``), at least
     ``c`` **chunks**, run ``c`` at a time from host threads: one CPU device
     runs a batch of small matmuls on one core, and a single call keeps one
     to 1.5 cores busy (``benchmarks/sweeps.py``: 64 seeds of a 100-step
     training run at m = 16, 2 cores: 2 chunks of 32 at once 25 ms, one
     vmap of 64 50 ms, a loop 200 ms). Not for programs with custom calls:
     jaxlib's LAPACK kernels (eigh, solve, svd, ...) deadlock when two run at
     once, so such a program runs one chunk at a time (``_concurrent_safe``).
  3. On a **CPU**, if a chunk's outputs and temporaries would exceed
     ``CPU_CHUNK_BYTES`` (4 MiB), chunks of at most ``CPU_CHUNK_BYTES``
     worth of seeds (balanced, so padding wastes less than one seed per
     chunk); one seed per chunk is the **sequential** layout. Why: vmapping
     gains by running fewer, larger operations while per-operation overhead
     dominates; once the seeds' weights, gradients and activations outgrow
     the core's cache, every training step streams them from memory and
     smaller chunks win (a vmap of 64 seeds was 0.5x a loop at m = 256,
     where one seed needs ~3.4 MiB).
  4. On any device, if the program would need more than ``MEMORY_FRACTION``
     (half) of the memory available per device, smaller chunks, down to one
     seed at a time.

  CPU programs are compiled with ``CPU_OPTIONS`` (LLVM -O2 instead of
  XLA's -O3: faster small training steps, shorter compiles; the same
  results up to float rounding).

  **Memory guard.** Before anything runs, the chosen program is compiled and
  its buffer account per device (arguments + every chunk's outputs + the
  temporaries of the chunks in flight) compared with the
  memory available: the host's ``MemAvailable`` on a CPU (shared by this
  process's CPU devices), ``bytes_limit - bytes_in_use`` of
  ``memory_stats()`` on an accelerator. If it cannot fit, ``ResourceError``
  (a ``MemoryError``) names both sizes, unless ``allow_large=True`` or the
  environment variable ``JAXRNN_ALLOW_LARGE=1``. Layout and check are made
  once per function, argument shapes and K, and cached with the
  compilation.

  **Rounding.** Each seed runs the same arithmetic in every layout, but on a
  CPU XLA hands an operation to its YNNPACK library, or picks YNNPACK's
  kernel, by the operation's size, and a vmapped operation holds all the
  chunk's seeds: so the last bits of a seed's result can depend on the
  chunk size, the number of devices and K (relative differences ~1e-7 per
  operation; |loss difference| <= 5e-7 after 100 training steps in
  ``benchmarks/sweeps.py``). A chunk size gives the same bits on every call,
  whether its chunks run one after the other or at once.
  ``layout_invariant=True`` compiles the CPU programs with XLA's own kernels
  only (``CPU_INVARIANT_OPTIONS``: no YNNPACK calls, no shape-dependent
  fusion emitters; a flag the installed jaxlib no longer has is left out,
  see ``cpu_options``): every layout, number of devices and K then gives
  the same bits for each seed (tested with jaxlib 0.10.2 and 0.11.2), at
  1.3-2x the time on the benchmark's training runs. On GPUs and TPUs it
  changes nothing.

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
  - ``batch_size``: seeds per chunk on each device; ``None`` (default)
    chooses as above, ``1`` is sequential, ``>= K / devices`` is one vmap.
  - ``allow_large``: run even when the memory guard says it cannot fit
    (default: the ``JAXRNN_ALLOW_LARGE`` environment variable).
  - ``layout_invariant``: the same bits in every layout (see Rounding).

  **Returns:** ``fn``'s output pytree with a leading axis of size K, as host
  NumPy arrays.

  **Cost:** that of K calls of ``fn``, spread over the cores on a CPU; one
  compilation per new function, argument shapes, K and configuration (x64,
  ...). The layout is read from the buffer account of the largest program
  the rules allow (the vmap of all of a device's seeds, or on a CPU with
  ``c`` cores the chunk of ``K / c`` seeds): one compilation when that
  program runs, two when rule 3 or 4 shrinks the chunk.

  Example::

    >>> import jax, jaxrnn
    >>> f = lambda key, s: s * jax.random.normal(key, ())
    >>> keys = jaxrnn.seed_keys(0, 5)
    >>> jaxrnn.sweep(f, keys, 2.0).shape
    (5,)
    >>> jaxrnn.sweep(f, keys, 2.0, batch_size=2).shape  # 3 chunks of 2, padded
    (5,)
  """
  invariant = bool(layout_invariant)
  entry, plan_, program = _prepare(fn, keys, args, devices, batch_size, allow_large, invariant)
  if _PLAN_ONLY.get():
    raise Planned(plan_)
  k = keys.shape[0]
  chunk = plan_.batch_size * plan_.num_devices
  multi = jax.process_count() > 1

  def run(j):
    kj = keys if plan_.num_chunks == 1 else keys[j * chunk : (j + 1) * chunk]
    if kj.shape[0] < chunk:  # pad by repeating the last key; dropped below
      kj = jnp.concatenate([kj, jnp.broadcast_to(kj[-1:], (chunk - kj.shape[0],))])
    if multi:
      raw = np.asarray(jax.random.key_data(kj))
      glob = jax.make_array_from_callback(raw.shape, entry.key_sharding, lambda i, raw=raw: raw[i])
      kj = jax.random.wrap_key_data(glob, impl=jax.random.key_impl(keys))
    out = program(kj, *args)
    if plan_.num_chunks > 1:  # chunks in flight: the memory guard's account
      jax.block_until_ready(out)
    return out

  if plan_.concurrent > 1:
    # XLA:CPU runs one call at a time per calling thread; calls from several
    # threads run on several cores.
    outs = list(_pool(plan_.concurrent).map(run, range(plan_.num_chunks)))
  else:
    outs = [run(j) for j in range(plan_.num_chunks)]
  if multi:
    from jax.experimental import multihost_utils

    outs = [multihost_utils.process_allgather(o, tiled=True) for o in outs]
  if len(outs) == 1:
    if plan_.padded_seeds == k:
      return jax.tree.map(np.asarray, outs[0])
    return jax.tree.map(lambda x: np.asarray(x)[:k], outs[0])
  return jax.tree.map(lambda *xs: np.concatenate([np.asarray(x) for x in xs])[:k], *outs)
