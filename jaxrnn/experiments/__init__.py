"""Experiments: thin compositions of library functions, run by the CLI.

Every module in this package that defines a module-level ``EXPERIMENT`` (a
``jaxrnn.experiments.Experiment``) is one experiment; ``registry()`` finds
them (in ``ORDER`` first, then alphabetically) and ``get(name)`` returns one.
Each module reads as config, per-point function, report, using only the
public API, so it doubles as a worked example. The framework they are built
on (configs, the result store, report helpers) is ``jaxrnn.lab``; its main
types are re-exported here.

Example::

  >>> from jaxrnn import experiments
  >>> exp = experiments.get("linearization")
  >>> sorted(exp.presets)
  ['paper', 'quick', 'tiny']
"""

from __future__ import annotations

import importlib
import pkgutil

from jaxrnn.lab.config import ConfigError, apply_overrides, validate_config
from jaxrnn.lab.runner import Experiment, run_experiment
from jaxrnn.lab.store import RunConflict, RunLocked, StoreError

ORDER = (
  "linearization",
  "random_features",
  "invertibility",
  "backward_correlation",
  "rerandomization",
  "normalization",
  "existence",
  "training",
  "ntk_regime",
  "languages",
)

__all__ = [
  "Experiment",
  "ConfigError",
  "RunConflict",
  "RunLocked",
  "StoreError",
  "apply_overrides",
  "validate_config",
  "run_experiment",
  "registry",
  "get",
  "ORDER",
]


def _discover() -> dict[str, Experiment]:
  found = {}
  for info in pkgutil.iter_modules(__path__):
    if info.name.startswith("_"):
      continue
    module = importlib.import_module(f"{__name__}.{info.name}")
    exp = getattr(module, "EXPERIMENT", None)
    if isinstance(exp, Experiment):
      found[exp.name] = exp
  return found


def registry() -> dict[str, Experiment]:
  """Every experiment by name, in ``ORDER`` first, then alphabetically."""
  found = _discover()
  ordered = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
  return {n: found[n] for n in ordered}


def get(name: str) -> Experiment:
  """The experiment called ``name``; ``KeyError`` naming the known ones."""
  if name.isidentifier() and not name.startswith("_"):
    try:
      exp = getattr(importlib.import_module(f"{__name__}.{name}"), "EXPERIMENT", None)
    except ModuleNotFoundError as e:
      if e.name != f"{__name__}.{name}":
        raise
      exp = None
    if isinstance(exp, Experiment) and exp.name == name:
      return exp
  reg = registry()
  if name not in reg:
    raise KeyError(f"unknown experiment {name!r}; known: {', '.join(reg)}")
  return reg[name]
