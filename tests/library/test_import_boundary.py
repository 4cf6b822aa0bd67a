"""The library and the experiment application stay apart.

The library is ``jaxrnn/__init__.py``, its public namespaces
(``jaxrnn/*.py``: ``checks``, ``concept``, ``features``, ``flax``, ...) and
the implementations in ``jaxrnn/_src``. The application is the lab
(``jaxrnn/lab``), the experiments (``jaxrnn/experiments``) and the command
line (``jaxrnn/cli.py``, ``jaxrnn/__main__.py``, ``jaxrnn/_sigint.py``).
``import jaxrnn`` loads the math only; nothing in the library imports the
application; the application uses the library's public API only; the
experiments do not import each other. The import checks read the source
(every ``import`` statement, also those inside functions).
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "jaxrnn"
APPLICATION = ("jaxrnn.lab", "jaxrnn.experiments", "jaxrnn.cli")
PROGRAM_FILES = {"cli.py", "__main__.py", "_sigint.py"}


def _module_name(path: Path, root: Path = ROOT) -> str:
  parts = path.relative_to(root).with_suffix("").parts
  return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = ROOT) -> set[str]:
  """Every module that ``path`` imports, by absolute name; ``from A import
  b`` counts as ``A`` and ``A.b`` (``b`` may be a submodule)."""
  tree = ast.parse(path.read_text(), filename=str(path))
  own = _module_name(path, root)
  package = own if path.name == "__init__.py" else own.rpartition(".")[0]
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.Import):
      found.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
      base = node.module or ""
      if node.level:
        anchor = package.split(".")
        anchor = anchor[: len(anchor) - node.level + 1]
        base = ".".join([*anchor, base] if base else anchor)
      found.add(base)
      found.update(f"{base}.{alias.name}" for alias in node.names)
  return found


def _within(name: str, packages) -> bool:
  return any(name == p or name.startswith(p + ".") for p in packages)


def _library_files() -> list[Path]:
  top = [p for p in PKG.glob("*.py") if p.name not in PROGRAM_FILES]
  return sorted(top + list((PKG / "_src").rglob("*.py")))


def _violations(files, forbidden, root: Path = ROOT) -> dict[str, list[str]]:
  out = {}
  for path in files:
    bad = sorted(n for n in _imports(path, root) if _within(n, forbidden))
    if bad:
      out[path.relative_to(root).as_posix()] = bad
  return out


def test_the_scan_sees_imports_inside_functions_and_relative_ones(tmp_path):
  fake = tmp_path / "jaxrnn" / "lab" / "probe.py"
  fake.parent.mkdir(parents=True)
  fake.write_text(
    "def f():\n  from jaxrnn._src import sweep\nfrom . import store\nimport jaxrnn.cli\n"
  )
  names = _imports(fake, root=tmp_path)
  assert {"jaxrnn._src", "jaxrnn._src.sweep", "jaxrnn.lab.store", "jaxrnn.cli"} <= names
  assert _violations([fake], ["jaxrnn._src"], root=tmp_path) == {
    "jaxrnn/lab/probe.py": ["jaxrnn._src", "jaxrnn._src.sweep"]
  }


def test_import_jaxrnn_loads_the_math_only():
  # What jaxrnn itself loads: beyond its runtime dependencies' own imports
  # (the oldest supported optax imports chex itself).
  code = (
    "import sys, jax, numpy, optax; before = set(sys.modules); import jaxrnn; "
    "print(' '.join(sorted(m for m in set(sys.modules) - before if m.split('.')[0] in "
    "('matplotlib', 'tqdm', 'flax', 'chex') or m.startswith(('jaxrnn.lab', "
    "'jaxrnn.experiments', 'jaxrnn.cli', 'jaxrnn._sigint', 'jaxrnn.flax')))))"
  )
  res = subprocess.run(
    [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
  )
  assert res.returncode == 0, res.stderr
  assert res.stdout.split() == []
  # the math is there: the public namespaces are loaded with the package
  res = subprocess.run(
    [sys.executable, "-c", "import jaxrnn; print(jaxrnn.training.train.__module__)"],
    capture_output=True,
    text=True,
    cwd=ROOT,
    timeout=300,
  )
  assert res.stdout.strip() == "jaxrnn._src.training", res.stderr


def test_the_library_imports_nothing_of_the_application():
  files = _library_files()
  assert PKG / "flax.py" in files and PKG / "_src" / "rnn.py" in files
  assert _violations(files, APPLICATION) == {}


_LAB = sorted(p.name for p in (PKG / "lab").glob("*.py"))


@pytest.mark.parametrize("name", _LAB)
def test_the_lab_uses_the_public_api_only(name):
  assert _violations([PKG / "lab" / name], ["jaxrnn._src"]) == {}


def test_the_experiments_and_the_command_line_use_the_public_api_only():
  files = sorted((PKG / "experiments").rglob("*.py")) + [PKG / n for n in sorted(PROGRAM_FILES)]
  assert _violations(files, ["jaxrnn._src"]) == {}


def test_experiments_do_not_import_each_other():
  out = {}
  for path in sorted((PKG / "experiments").glob("*.py")):
    if path.name == "__init__.py":
      continue
    own = _module_name(path)
    others = [
      n for n in _imports(path) if n.startswith("jaxrnn.experiments.") and not n.startswith(own)
    ]
    if others:
      out[path.name] = sorted(others)
  assert out == {}
