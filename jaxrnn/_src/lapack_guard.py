"""A guard against a deadlock of jaxlib's CPU LAPACK kernels in sweeps.

jaxlib < 0.11.2 splits the batch of a batched LAPACK kernel (``eigh``,
``svd``, ``lstsq``, ``cholesky`` ...: the primitives of ``jax.lax.linalg``)
over XLA:CPU's pool of T threads, T the cores of the process, and waits for
the pieces; a call with a batch of one runs inline. When T such kernels wait
at once no thread is left to run the pieces and the call hangs: a sweep over
D >= T CPU devices, or, on one device, a program whose independent batched
calls XLA runs side by side (16 independent eighs of a batch of 2 or 5
64 x 64 matrices hung on 2 cores; of a batch of 1, or unbatched, they did
not). So a sweep of a function that calls ``jax.lax.linalg`` runs on at most
T - 1 devices and its seeds one at a time (``vmap`` over the seeds would
batch every call). jaxlib 0.11.2 builds the kernels without the split.
"""

from __future__ import annotations

import os

import jax
import jaxlib

JAXLIB = tuple(
  int("0" + "".join(filter(str.isdigit, p))) for p in jaxlib.__version__.split(".")[:3]
)
LINALG = frozenset(p.name for n, p in vars(jax.lax.linalg).items() if n.endswith("_p"))


def nested(eqn) -> list:
  """The jaxprs in an equation's parameters (a pjit's, a scan's body, a
  cond's branches ...)."""
  vals = [v for p in eqn.params.values() for v in (p if isinstance(p, tuple | list) else (p,))]
  return [j for v in vals if hasattr(j := getattr(v, "jaxpr", v), "eqns")]


def uses_linalg(jaxpr) -> bool:
  """Whether a (closed) jaxpr, or one nested in it, calls ``jax.lax.linalg``."""
  eqns = getattr(jaxpr, "jaxpr", jaxpr).eqns
  return any(e.primitive.name in LINALG or any(map(uses_linalg, nested(e))) for e in eqns)


def at_risk(devs: tuple) -> bool:
  """Whether batched LAPACK calls can hang on ``devs``: CPU devices of one
  process with jaxlib < 0.11.2."""
  cpu = all(d.platform == "cpu" for d in devs) and jax.process_count() == 1
  return cpu and JAXLIB < (0, 11, 2)


def devices(devs: tuple) -> tuple:
  """The devices a sweep of a function calling ``jax.lax.linalg`` runs on
  where ``at_risk(devs)``: the first T - 1 of D >= T (the same numbers)."""
  threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
  return devs[: max(1, (threads or 1) - 1)] if len(devs) >= max(threads or 1, 2) else devs
