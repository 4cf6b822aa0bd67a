"""Shared set-up of the test suite.

Layers: ``tests/library`` tests the math (``jaxrnn`` and its public
namespaces, ``jaxrnn.flax``); ``tests/lab`` the experiment framework, the
experiments, the command line and the notebooks; ``tests/tools`` the
benchmarks, ``tools/`` and the documentation (README, API.md, the site).
Shared helpers live here at the root: ``np_reference`` (the NumPy float64
reference written from the paper's definitions) and ``_fake_experiment``
(a JAX-free experiment for the runner and the store). ``tests`` is a package,
so they are imported as ``from tests import np_reference``, and the
benchmarks as ``from benchmarks import _common``, with the repository root
on ``sys.path`` (pytest puts it there for a package; this makes it explicit).
"""

import os
import sys

import jax

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
  sys.path.insert(0, REPO)

# Silent broadcasting between arrays of different ranks is an error in the
# suite (as in neural-tangents' tests): jaxrnn must say what it broadcasts.
jax.config.update("jax_numpy_rank_promotion", "raise")

# The suite's `jaxrnn` runs (in-process and in subprocesses) compile every
# time: the persistent compilation cache (jaxrnn.lab.cache) would make a test's
# behaviour depend on earlier runs and write into the user's cache. The tests
# of the cache turn it on themselves.
os.environ.setdefault("JAXRNN_COMPILATION_CACHE", "0")

# Helper scripts and modules (``_*.py``) are not test modules.
collect_ignore_glob = ["_*.py", "*/_*.py"]

_LAYERS = ("library", "lab", "tools")


def pytest_collection_modifyitems(config, items):
  """Marks each test with its layer (its directory under tests/), so that
  ``-m library`` selects the same tests as ``tests/library``."""
  import pytest

  for item in items:
    parts = item.path.parts
    if "tests" in parts:
      i = len(parts) - 1 - parts[::-1].index("tests")
      if i + 1 < len(parts) and parts[i + 1] in _LAYERS:
        item.add_marker(getattr(pytest.mark, parts[i + 1]))
