"""``tools/report_lines.py`` counts what only the report reaches."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("report_lines", ROOT / "tools" / "report_lines.py")
report_lines = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report_lines)

MODULE = '''
SHARED = 3
CAPTION = "a caption"
CAPTION += " that goes on"


def per_seed(key):
  return SHARED * key


def run_point(cfg, point):
  return per_seed(point)


def _rule(x):
  """A rule."""

  return x < SHARED


def verdicts(cfg, records):
  return [_rule(r) for r in records]


def declare(cfg, records):
  return (CAPTION, verdicts(cfg, records))
'''


def test_counts_what_only_the_report_reaches_with_augmented_assignments():
  n, names = report_lines.count(MODULE)
  assert names == ["CAPTION", "_rule", "declare", "verdicts"]
  assert n == 2 + 3 + 2 + 2  # blank lines left out, the docstring kept


def test_every_experiment_module_is_counted(capsys):
  report_lines.main([])
  out = capsys.readouterr().out.splitlines()
  assert out[-1].split()[0] == "total"
  rows = {line.split()[0]: int(line.split()[1]) for line in out[:-1]}
  assert "training" in rows and all(n > 0 for n in rows.values())
  assert sum(rows.values()) == int(out[-1].split()[1])
