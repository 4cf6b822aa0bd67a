"""API.md, the API contract, lists the whole public surface with real
signatures, generated from the code, and the names of the paper's model stay
where it lists them."""

import subprocess
import sys
from pathlib import Path

import jaxrnn

ROOT = Path(__file__).resolve().parents[2]

# The names of the paper's model that API.md pins: name -> where it must be.
CONTRACT = {
  "jaxrnn": [
    "RNNParams",
    "init_params",
    "cell",
    "hidden_states",
    "rnn_output",
    "normalize_sequence",
    "pseudo_network",
    "activation_patterns",
    "backward_matrices",
    "inversion_matrix",
  ],
  "jaxrnn.languages": ["accepts"],
}


def test_api_md_is_up_to_date():
  res = subprocess.run(
    [sys.executable, str(ROOT / "tools" / "gen_api_md.py"), "--check"],
    capture_output=True,
    text=True,
  )
  assert res.returncode == 0, res.stderr


def test_contract_names_are_where_the_contract_puts_them():
  import importlib
  import importlib.util

  for modname, names in CONTRACT.items():
    mod = importlib.import_module(modname)
    for name in names:
      assert name in mod.__all__, f"{modname}.{name}"
      assert callable(getattr(mod, name))
  text = (ROOT / "API.md").read_text()
  for names in CONTRACT.values():
    for name in names:
      assert f"| `{name}` |" in text


def test_every_public_name_exists_and_is_documented():
  import importlib

  spec = importlib.util.spec_from_file_location("gen_api_md", ROOT / "tools" / "gen_api_md.py")
  gen = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(gen)
  for modname, _ in gen.MODULES:
    mod = importlib.import_module(modname)
    assert len(set(mod.__all__)) == len(mod.__all__), modname
    for name in mod.__all__:
      obj = getattr(mod, name)
      if callable(obj):
        assert (obj.__doc__ or "").strip(), f"{modname}.{name} has no docstring"
  assert jaxrnn.__version__


def test_api_md_points_nowhere_outside_the_repository():
  import re

  text = (ROOT / "API.md").read_text()
  targets = re.findall(r"\]\(([^)#\s]+)", text)
  for target in targets:
    if "://" in target:
      continue
    path = (ROOT / target).resolve()
    assert path.is_relative_to(ROOT) and path.exists(), target
  assert "../" not in text
  assert " at 0x" not in text  # no object addresses: the file is reproducible


def test_the_command_line_is_in_the_contract():
  import argparse

  from jaxrnn import cli

  sub = next(a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction))
  assert {"list", "run", "reproduce"} <= set(sub.choices)
  text = (ROOT / "API.md").read_text()
  for usage in ("jaxrnn list", "jaxrnn run NAME", "jaxrnn reproduce"):
    assert f"| `{usage}" in text, usage


def test_public_names_are_jaxrnn_names():
  """A derived ``__all__`` lists what its module imports: nothing of another
  package (a stray ``import numpy as np``, ``from __future__ import
  annotations``) may become public."""
  import importlib
  import types

  spec = importlib.util.spec_from_file_location("gen_api_md", ROOT / "tools" / "gen_api_md.py")
  gen = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(gen)
  for modname, _ in gen.MODULES:
    mod = importlib.import_module(modname)
    for name in mod.__all__:
      obj = getattr(mod, name)
      home = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
      if home is not None and not isinstance(obj, (int, float, str, tuple, dict)):
        assert home.split(".")[0] == "jaxrnn", f"{modname}.{name} comes from {home}"


def test_classes_show_the_arguments_that_construct_them():
  rows = {
    line.split(" | ")[0].strip("| `"): line
    for line in (ROOT / "API.md").read_text().splitlines()
    if line.startswith("| `")
  }
  assert "*args, **kwargs" not in "\n".join(rows.values())
  assert (
    "`ElmanRNN(d: int, m: int, d_out: int, *, rngs: nnx.Rngs, dtype=float32)`" in rows["ElmanRNN"]
  )
  assert (
    "`LinenElmanRNN(features: int, d_out: int = 1, param_dtype: Any = float32)`"
    in rows["LinenElmanRNN"]
  )
  assert "`RNNParams(W: jax.Array, A: jax.Array, B: jax.Array)`" in rows["RNNParams"]
  assert "`class NonFiniteError(ValueError)`" in rows["NonFiniteError"]
