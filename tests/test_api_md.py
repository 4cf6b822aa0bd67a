"""API.md lists the whole public surface, generated from the docstrings, and
the contract names stay where ../shared/API.md puts them."""

import subprocess
import sys
from pathlib import Path

import jaxrnn

ROOT = Path(__file__).resolve().parents[1]

# The fixed contract (../shared/API.md): name -> where it must be.
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
