"""A guard against a deadlock of jaxlib's CPU LAPACK kernels in sweeps.

jaxlib < 0.11.2 splits the batch of a batched LAPACK kernel (``eigh``,
``svd``, ``lstsq``, ``cholesky`` ...: the primitives of ``jax.lax.linalg``)
over XLA:CPU's pool of T threads, T the cores of the process, and waits for
the pieces. A sweep over D >= T CPU devices can have such a kernel waiting
on every thread of the pool, none left to run the pieces: the call hangs.
With D <= T - 1 one thread stays free and the pieces run. jaxlib 0.11.2
builds the kernels without the split.
"""

from __future__ import annotations

import os

import jax
import jaxlib

JAXLIB = tuple(
  int("0" + "".join(filter(str.isdigit, p))) for p in jaxlib.__version__.split(".")[:3]
)
LINALG = frozenset(p.name for n, p in vars(jax.lax.linalg).items() if n.endswith("_p"))


def uses_linalg(jaxpr) -> bool:
  """Whether a (closed) jaxpr, or one nested in it, calls ``jax.lax.linalg``."""
  inner = lambda v: [s for s in (v if isinstance(v, tuple | list) else (v,)) if hasattr(s, "eqns")]
  return any(
    e.primitive.name in LINALG
    or any(uses_linalg(s) for v in e.params.values() for s in inner(getattr(v, "jaxpr", v)))
    for e in getattr(jaxpr, "jaxpr", jaxpr).eqns
  )


def devices(fn, keys, args, devs: tuple) -> tuple:
  """The devices ``sweep(fn, keys, *args)`` runs on: ``devs``, or its first
  T - 1 where ``fn`` calls ``jax.lax.linalg`` on D >= T CPU devices of one
  process with jaxlib < 0.11.2 (the same numbers, fewer devices). Cost: one
  trace of ``fn`` in that case only."""
  threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  cpu = all(d.platform == "cpu" for d in devs) and jax.process_count() == 1
  if not cpu or JAXLIB >= (0, 11, 2) or len(devs) < max(threads or 1, 2):
    return devs
  return devs[: max(1, threads - 1)] if uses_linalg(jax.make_jaxpr(fn)(keys[0], *args)) else devs
