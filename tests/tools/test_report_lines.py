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


TEXT_MODULE = '''
def declare(cfg, records):
  """Words only."""
  return report(
    "a title "
    f"with {cfg.m} in it",
    (
      "a caption",
    ),
    rows=records,
  )
'''


def test_lines_of_text_alone_are_left_out_on_request():
  assert report_lines.count(TEXT_MODULE)[0] == 10
  # kept: ``def declare(...)``, ``return report(`` and ``rows=records,``; the
  # docstring, the literals (the f-string too) and the lone brackets are text
  n, _ = report_lines.count(TEXT_MODULE, text=False)
  assert n == 3


def test_every_experiment_module_is_counted(capsys):
  report_lines.main([])
  out = capsys.readouterr().out.splitlines()
  assert out[0].split() == ["module", "lines", "without", "text"]
  assert out[-1].split()[0] == "total"
  rows = {line.split()[0]: [int(x) for x in line.split()[1:3]] for line in out[1:-1]}
  assert "training" in rows and all(0 < c < n for n, c in rows.values())
  for col in (0, 1):
    assert sum(r[col] for r in rows.values()) == int(out[-1].split()[1 + col])
