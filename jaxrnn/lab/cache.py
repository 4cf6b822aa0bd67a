"""JAX's persistent compilation cache for the ``jaxrnn`` program and the
benchmarks (not for the library: ``import jaxrnn`` leaves JAX's
configuration as it finds it).

On an accelerator the experiments are compile-bound (one ``linearization``
program took 60.6 s to compile on an H100, ``benchmarks/RESULTS.md``), and on
a CPU the quick presets spend most of their time compiling too
(``benchmarks/compile_time.py``). With the cache on, a program XLA compiled
once is read back from disk by the next process that asks for it: a second
``jaxrnn run`` or ``jaxrnn reproduce``, a run resumed after Ctrl-C, a
restarted notebook that calls ``enable_compilation_cache()``.

- **Who turns it on.** ``jaxrnn run`` and ``jaxrnn reproduce``
  (``jaxrnn.cli``) call ``enable_compilation_cache()`` before any work; the
  benchmarks set the same options as environment variables for their
  processes (``benchmarks/_common.py``, ``environment_variables``). A
  notebook asks for it with ``from jaxrnn.lab import cache;
  cache.enable_compilation_cache()``.
- **Where.** ``$JAXRNN_COMPILATION_CACHE_DIR`` if set, else
  ``$XDG_CACHE_HOME/jaxrnn/jax`` (when ``XDG_CACHE_HOME`` is an absolute
  path), else ``~/.cache/jaxrnn/jax``; created with mode 0700. JAX's
  documentation warns that the cache is trusted: whoever can write to it can
  run code in a process that reads it.
- **Off.** ``JAXRNN_COMPILATION_CACHE=0`` (also ``off``, ``false``, ``no``)
  in the environment, or ``jaxrnn run/reproduce --no-compilation-cache``.
- **Every program.** JAX caches by default only programs that took at least
  1 s to compile; this sets ``jax_persistent_cache_min_compile_time_secs =
  0`` and ``jax_persistent_cache_min_entry_size_bytes = -1``, so the many
  small programs of an experiment are cached too.
- **Bounded.** The cache holds at most ``$JAXRNN_COMPILATION_CACHE_MAX_MB``
  megabytes (default 2048): each time it is turned on, ``prune`` deletes the
  entries written or read longest ago (by file time) until the rest fit, so
  one run may add beyond the bound until the next start. (JAX's own bound,
  ``jax_compilation_cache_max_size``, needs the ``filelock`` package, which
  jaxrnn does not depend on.)
- **The user's settings win.** Where JAX's cache is already configured (a
  directory from ``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``) or switched
  off (``JAX_ENABLE_COMPILATION_CACHE=false``), nothing is changed; the two
  thresholds are set only where they still have JAX's defaults.

Hits, misses and the seconds saved are reported through ``jax.monitoring``
(``/jax/compilation_cache/cache_hits``, ``.../cache_misses``;
``benchmarks/compile_time.py`` counts them per experiment).

Standard library only at import (the benchmarks load this file without
importing JAX); ``enable_compilation_cache`` imports JAX.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from pathlib import Path

#: Environment variable: ``0``, ``off``, ``false`` or ``no`` turns the cache off.
SWITCH_ENV = "JAXRNN_COMPILATION_CACHE"
#: Environment variable: the cache directory.
DIR_ENV = "JAXRNN_COMPILATION_CACHE_DIR"
#: Environment variable: the size bound in megabytes (10**6 bytes).
MAX_MB_ENV = "JAXRNN_COMPILATION_CACHE_MAX_MB"
DEFAULT_MAX_MB = 2048

_OFF = frozenset({"0", "off", "false", "no"})
_ON = frozenset({"", "1", "on", "true", "yes"})

#: JAX's options that ``enable_compilation_cache`` sets, with the value each
#: gets and JAX's default (set only where the option still has its default).
THRESHOLDS = {
  "jax_persistent_cache_min_compile_time_secs": (0.0, 1.0),
  "jax_persistent_cache_min_entry_size_bytes": (-1, 0),
}

# A cache entry is the file KEY-cache, with KEY-atime beside it when JAX's
# own size bound is on.
_ENTRY_SUFFIX = "-cache"
_ATIME_SUFFIX = "-atime"


def enabled(environ: Mapping[str, str] | None = None) -> bool:
  """Whether ``JAXRNN_COMPILATION_CACHE`` leaves the cache on (the default).
  Raises ``ValueError`` for a value that is neither on nor off."""
  env = os.environ if environ is None else environ
  value = env.get(SWITCH_ENV, "").strip().lower()
  if value in _OFF:
    return False
  if value in _ON:
    return True
  raise ValueError(
    f"{SWITCH_ENV}={env[SWITCH_ENV]!r}: expected 0/off/false/no to turn the compilation "
    "cache off, or 1/on/true/yes"
  )


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
  """The cache directory: ``$JAXRNN_COMPILATION_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/jaxrnn/jax`` (absolute ``XDG_CACHE_HOME`` only), else
  ``~/.cache/jaxrnn/jax``."""
  env = os.environ if environ is None else environ
  if env.get(DIR_ENV, "").strip():
    return Path(env[DIR_ENV]).expanduser()
  xdg = env.get("XDG_CACHE_HOME", "")
  base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
  return base / "jaxrnn" / "jax"


def max_bytes(environ: Mapping[str, str] | None = None) -> int:
  """The size bound in bytes (``$JAXRNN_COMPILATION_CACHE_MAX_MB`` megabytes,
  default 2048). Raises ``ValueError`` for a value that is not a positive
  number."""
  env = os.environ if environ is None else environ
  text = env.get(MAX_MB_ENV, "").strip()
  if not text:
    return DEFAULT_MAX_MB * 10**6
  try:
    mb = float(text)
  except ValueError:
    mb = float("nan")
  if not mb > 0 or mb == float("inf"):
    raise ValueError(f"{MAX_MB_ENV}={text!r}: expected a positive number of megabytes")
  return int(mb * 10**6)


def prune(path: str | os.PathLike, limit: int) -> list[str]:
  """Deletes cache entries in ``path``, those written or read longest ago
  first, until the entries left take at most ``limit`` bytes. Returns the
  keys deleted. An entry that vanishes meanwhile (another process pruned
  it) is skipped; other files in ``path`` are left alone."""
  path = Path(path)
  entries = []
  for f in path.glob(f"*{_ENTRY_SUFFIX}"):
    key = f.name[: -len(_ENTRY_SUFFIX)]
    atime = path / f"{key}{_ATIME_SUFFIX}"
    try:
      st = f.stat()
      used = max(st.st_mtime, atime.stat().st_mtime if atime.exists() else 0.0)
    except FileNotFoundError:
      continue
    entries.append((used, key, st.st_size))
  total = sum(size for _, _, size in entries)
  removed = []
  for _, key, size in sorted(entries):
    if total <= limit:
      break
    for suffix in (_ENTRY_SUFFIX, _ATIME_SUFFIX):
      try:
        (path / f"{key}{suffix}").unlink()
      except FileNotFoundError:
        pass
    total -= size
    removed.append(key)
  return removed


def _prepare(environ: Mapping[str, str] | None, path) -> Path | None:
  """Creates and prunes the directory; ``None`` (with a warning) where it
  cannot be created or is not writable."""
  path = Path(path) if path is not None else cache_dir(environ)
  limit = max_bytes(environ)
  try:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not os.access(path, os.W_OK | os.X_OK):
      raise PermissionError(13, "not writable", str(path))
    prune(path, limit)
  except OSError as e:
    warnings.warn(
      f"compilation cache off: cannot use {path} ({e.strerror or e})", RuntimeWarning, stacklevel=3
    )
    return None
  return path


def _jax_env_off(env: Mapping[str, str]) -> bool:
  return env.get("JAX_ENABLE_COMPILATION_CACHE", "").strip().lower() in ("0", "false", "no", "off")


def environment_variables(
  environ: Mapping[str, str] | None = None, path: str | os.PathLike | None = None
) -> dict[str, str]:
  """The environment variables that turn the cache on in a process started
  with them (JAX reads them when it is imported): ``{}`` where
  ``JAXRNN_COMPILATION_CACHE`` turns it off, where the environment already
  names a JAX cache directory or switches JAX's cache off, or where the
  directory cannot be used. Creates and prunes the directory. For a process
  that has not imported JAX yet (the benchmarks); in-process, use
  ``enable_compilation_cache``."""
  env = os.environ if environ is None else environ
  if not enabled(env) or env.get("JAX_COMPILATION_CACHE_DIR") or _jax_env_off(env):
    return {}
  where = _prepare(env, path)
  if where is None:
    return {}
  out = {"JAX_COMPILATION_CACHE_DIR": str(where)}
  for name, (value, _) in THRESHOLDS.items():
    if name.upper() not in env:
      out[name.upper()] = str(value)
  return out


def enable_compilation_cache(
  path: str | os.PathLike | None = None, *, environ: Mapping[str, str] | None = None
) -> Path | None:
  """Turns on JAX's persistent compilation cache in ``path`` (default:
  ``cache_dir()``) for this process, every program included, the directory
  pruned to its bound. Returns the directory in use: ``None`` when
  ``JAXRNN_COMPILATION_CACHE`` (in ``environ``, default ``os.environ``)
  turns it off, JAX's cache is switched off, or the directory cannot be used
  (a warning says why); JAX's own directory where one was already configured
  (then nothing is changed). Call it before the programs it should cache are
  compiled; calling it again changes nothing. Raises ``ValueError`` for a
  bad ``JAXRNN_COMPILATION_CACHE`` or ``JAXRNN_COMPILATION_CACHE_MAX_MB``."""
  env = os.environ if environ is None else environ
  if not enabled(env):
    return None
  import jax

  if not jax.config.jax_enable_compilation_cache:
    return None
  if jax.config.jax_compilation_cache_dir:  # the user's (or an earlier call's)
    return Path(jax.config.jax_compilation_cache_dir)
  where = _prepare(env, path)
  if where is None:
    return None
  for name, (value, default) in THRESHOLDS.items():
    if getattr(jax.config, name) == default:
      jax.config.update(name, value)
  jax.config.update("jax_compilation_cache_dir", str(where))
  return where
