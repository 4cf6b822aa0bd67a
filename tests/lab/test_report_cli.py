"""``jaxrnn report DIR...``: the verdict tally of run directories, and their
verdicts side by side; ``reproduce`` ends with the same tally.

The run directories are synthetic (a ``summary.md`` whose verdict table is
written by ``lab.verdict_table``, and a ``config.json``), except for one
reproduce of the fake experiment (no JAX, milliseconds)."""

import dataclasses
import json

import pytest

from jaxrnn import cli, lab
from jaxrnn.lab import claims
from tests import _fake_experiment as F

CLAIM = claims.claim("eq4")
MET = lab.Regime("m large", True)
NOT_MET = lab.Regime("m large", False, "m ≈ 1e5")


def verdicts(*outcomes):
  """One verdict per entry: ("paper" | "diag", holds, regime met)."""
  out = []
  for i, (kind, holds, met) in enumerate(outcomes):
    v = lab.Verdict(f"rule {i}", "1.0", "value < 2", holds)
    if kind == "paper":
      v = lab.about(v, CLAIM, MET if met else NOT_MET)
    out.append(v)
  return out


def write_run(root, experiment, variant, vs, *, config=True):
  run = root / experiment / variant
  run.mkdir(parents=True)
  text = f"# {experiment}\n\n## Verdicts\n\n{lab.verdict_table(vs)}\n\n## Reading\n\ntext\n"
  (run / "summary.md").write_text(text)
  if config:
    (run / "config.json").write_text(json.dumps({"experiment": experiment, "config": {}}))
  return run


def run(capsys, *args):
  status = cli.main(list(args))
  captured = capsys.readouterr()
  return status, captured.out, captured.err


def table_rows(out, title):
  """The body rows of the markdown table after the heading ``title``."""
  part = out[out.index(title) :]
  lines = [line for line in part.splitlines() if line.startswith("| ")]
  return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


@pytest.fixture
def two_roots(tmp_path):
  a, b = tmp_path / "quick", tmp_path / "paper"
  write_run(
    a,
    "alpha",
    "quick",
    verdicts(("paper", True, True), ("paper", False, True), ("diag", None, True)),
  )
  write_run(a, "beta", "quick", verdicts(("paper", True, False), ("diag", True, True)))
  write_run(
    b,
    "alpha",
    "paper",
    verdicts(("paper", True, True), ("paper", True, True), ("diag", None, True)),
  )
  write_run(b, "beta", "paper", verdicts(("paper", True, True)))
  return a, b


def test_report_tallies_paper_claims_and_diagnostics_per_run_and_in_total(two_roots, capsys):
  a, _ = two_roots
  status, out, err = run(capsys, "report", str(a))
  assert status == 0, err
  header = [line for line in out.splitlines() if line.startswith("| run")][0]
  assert "paper: holds" in header and "paper: not testable at these sizes" in header
  assert "diagnostic: holds" in header and "diagnostic: not testable" not in header
  rows = {r[0]: r[1:] for r in table_rows(out, f"Verdicts in {a}")}
  # paper: holds, does not hold, undecided, not testable; diagnostic: holds, no, undecided
  assert rows["alpha/quick"] == ["1", "1", "0", "0", "0", "0", "1"]
  assert rows["beta/quick"] == ["0", "0", "0", "1", "1", "0", "0"]
  assert rows["**total**"] == ["1", "1", "0", "1", "1", "0", "1"]
  assert "2 runs; 3 verdicts on claims of the paper, 2 jaxrnn diagnostics" in out
  assert "side by side" not in out


def test_report_reads_one_run_directory_itself(two_roots, capsys):
  a, _ = two_roots
  status, out, _ = run(capsys, "report", str(a / "beta" / "quick"))
  assert status == 0
  assert [r[0] for r in table_rows(out, "Verdicts in")] == ["beta/quick", "**total**"]


def test_report_leaves_out_runs_moved_aside_and_names_runs_without_config(tmp_path, capsys):
  write_run(tmp_path, "alpha", "quick", verdicts(("paper", True, True)))
  write_run(tmp_path / "alpha" / "quick" / "old-1", "alpha", "quick", verdicts(("diag", 1, 1)))
  write_run(tmp_path, "gamma", "paper", verdicts(("diag", False, True)), config=False)
  status, out, _ = run(capsys, "report", str(tmp_path))
  assert status == 0
  # The run that --fresh moved into old-1/ is not read.
  assert [r[0] for r in table_rows(out, "Verdicts in")] == [
    "alpha/quick",
    "gamma/paper",
    "**total**",
  ]


def test_two_directories_are_compared_verdict_by_verdict(two_roots, capsys):
  a, b = two_roots
  status, out, err = run(capsys, "report", str(a), str(b))
  assert status == 0, err
  assert f"Verdicts in {a}" in out and f"Verdicts in {b}" in out
  rows = table_rows(out, "Verdicts side by side")
  by_key = {(r[0], r[1]): r[2:] for r in rows}
  assert by_key[("alpha", "rule 0")] == ["paper", "holds", "holds", ""]
  assert by_key[("alpha", "rule 1")] == ["paper", "does not hold", "holds", "**differs**"]
  assert by_key[("alpha", "rule 2")] == ["diagnostic", "undecided", "undecided", ""]
  assert by_key[("beta", "rule 0")] == [
    "paper",
    "not testable at these sizes",
    "holds",
    "**differs**",
  ]
  assert by_key[("beta", "rule 1")] == ["diagnostic", "holds", "—", "missing in some"]
  assert "5 verdicts matched by experiment and claim tested: 2 differ in outcome, 1 are" in out
  header = [line for line in out.splitlines() if line.startswith("| experiment")][0]
  assert str(a) in header and str(b) in header

  status, out, _ = run(capsys, "report", str(a), str(b), "--differences")
  assert status == 0
  rows = table_rows(out, "Verdicts side by side")
  assert [(r[0], r[1]) for r in rows] == [("alpha", "rule 1"), ("beta", "rule 0")]


@pytest.mark.parametrize(
  "make,message",
  [
    (lambda p: p / "missing", "no such directory"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is not a directory"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "holds no run (no summary.md"),
  ],
)
def test_a_bad_directory_is_one_line_and_status_2(tmp_path, capsys, make, message):
  status, out, err = run(capsys, "report", str(make(tmp_path)))
  assert status == 2 and not out
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in err and message in lines[0], err


def test_comparing_a_directory_with_two_runs_of_one_experiment_is_refused(two_roots, capsys):
  a, b = two_roots
  write_run(a, "alpha", "paper", verdicts(("paper", True, True)))
  status, _, err = run(capsys, "report", str(a), str(b))
  assert status == 2
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "holds two runs of alpha" in lines[0]


def test_differences_needs_two_directories(two_roots, capsys):
  status, _, err = run(capsys, "report", str(two_roots[0]), "--differences")
  assert status == 2 and "two or more DIRs" in err


def test_reproduce_ends_with_the_tally_of_what_it_ran(tmp_path, capsys, monkeypatch):
  """``reproduce`` over a registry of the fake experiment, whose summary
  holds one diagnostic that holds: the last table counts it."""
  from jaxrnn import experiments

  def report(cfg, records, out_dir):
    return (
      F.report(cfg, records, out_dir)
      + "\n## Verdicts\n\n"
      + lab.verdict_table(verdicts(("diag", True, True), ("paper", False, True)))
    )

  exp = dataclasses.replace(F.EXPERIMENT, report=report)
  monkeypatch.setattr(experiments, "registry", lambda: {F.NAME: exp})
  status, out, err = run(
    capsys, "reproduce", "--out", str(tmp_path), "--no-progress", "--preset", "quick"
  )
  assert status == 0, err
  tail = out[out.rindex("## Verdicts of this reproduce --preset quick") :]
  rows = {r[0]: r[1:] for r in table_rows(tail, "Verdicts of this reproduce")}
  assert rows["fake"] == rows["**total**"] == ["0", "1", "0", "0", "1", "0", "0"]
  # report on the same directory reads the same numbers back.
  status, again, _ = run(capsys, "report", str(tmp_path))
  assert {r[0]: r[1:] for r in table_rows(again, "Verdicts in")}["fake/quick"] == rows["fake"]
