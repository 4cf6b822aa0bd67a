"""The README's paper-scale claim table and docs/paper-scale/index.md are the
verdicts of the committed ``paper`` summaries (``tools/paper_table.py``),
every experiment's ``paper`` run is there, and each committed summary is what
the current report code renders from the committed records."""

import importlib.util
import pathlib
import re
import shutil

import pytest

from jaxrnn import experiments, lab

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _tool():
  spec = importlib.util.spec_from_file_location("paper_table", ROOT / "tools" / "paper_table.py")
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


def test_readme_table_and_index_match_the_summaries():
  tool = _tool()
  readme, page = tool.render()
  assert (ROOT / "README.md").read_text() == readme, "run python tools/paper_table.py"
  assert (tool.OUT / "index.md").read_text() == page, "run python tools/paper_table.py"


def test_every_experiment_ran_at_paper_scale_with_verdicts():
  tool = _tool()
  for e in tool.collect():
    assert e["ran"], f"{e['name']}: no docs/paper-scale/{e['name']}/paper/summary.md"
    assert e["rows"], f"{e['name']}: its paper summary has no verdict table"
    assert all(r["holds"] in lab.OUTCOMES for r in e["rows"]), e["name"]


def test_every_paper_claim_row_quotes_the_paper_and_states_its_regime():
  """A row counted as the paper's claim names a location and a quote, and
  states a regime; one whose regime was not met is never a "no"."""
  tool = _tool()
  rows = [r for e in tool.collect() for r in e["rows"]]
  paper = [r for r in rows if r["paper"]]
  assert paper, "no verdict tests a statement of the paper"
  for r in paper:
    assert re.match(r"(Def\.|Lemma |Thm\.|Eq\.|Sec\.)", r["source"]), r
    assert "“" in r["source"] and r["source"].endswith("”"), r
    assert r["regime"] not in ("", "—"), r
    if "not met" in r["regime"]:
      assert r["holds"] == lab.NOT_TESTABLE, r
  for r in rows:
    if not r["paper"]:
      assert r["source"] == "jaxrnn diagnostic", r


def test_index_keeps_paper_claims_and_diagnostics_apart():
  tool = _tool()
  page = (tool.OUT / "index.md").read_text()
  paper_part, diag_part = page.split("## The paper's claims")[1].split("## jaxrnn diagnostics")
  rows = [r for e in tool.collect() for r in e["rows"]]
  assert paper_part.count("\n| ") - 2 == sum(r["paper"] for r in rows)
  assert diag_part.count("\n| ") - 2 == sum(not r["paper"] for r in rows)
  assert "jaxrnn diagnostic" not in paper_part


def test_verdict_parser_reads_what_reports_write():
  from jaxrnn import lab

  tool = _tool()
  table = lab.verdict_table(
    [lab.Verdict("a claim", "1.0", "x < 2", True), lab.Verdict("b", "3", "x < 2", False)]
  )
  rows = tool.verdicts("## Verdicts\n\n" + table + "\n\n## Next\n| x | y | z | w |")
  assert [(r["claim"], r["holds"]) for r in rows] == [("a claim", "yes"), ("b", "no")]
  assert not any(r["paper"] for r in rows)


def test_a_paper_claim_outside_its_regime_is_not_testable_never_no():
  claim = lab.claims.claim("thm4.5")
  failed = lab.threshold_verdict("recovers", 3.0, below=1.0)
  assert failed.outcome == "no"
  inside = lab.about(failed, claim, lab.Regime("eps_x < 1/L", True))
  outside = lab.about(failed, claim, lab.Regime("m >= 8e3", False, "m ≈ 8e3"))
  assert inside.outcome == "no" and outside.outcome == lab.NOT_TESTABLE
  rows = lab.read_verdicts("## Verdicts\n\n" + lab.verdict_table([inside, outside]))
  assert [r["holds"] for r in rows] == ["no", lab.NOT_TESTABLE]
  assert all(r["paper"] and r["source"].startswith("Thm. 4.5") for r in rows)
  assert "m ≈ 8e3" in rows[1]["regime"]


def test_a_paper_claim_without_a_regime_is_refused():
  v = lab.Verdict("x", "1", "x < 2", True, claim=lab.claims.claim("fig4"))
  try:
    lab.verdict_table([v])
  except ValueError as e:
    assert "regime" in str(e)
  else:
    raise AssertionError("a claim without a regime was rendered")


@pytest.mark.parametrize("name", sorted(experiments.registry()))
def test_committed_summary_is_what_the_current_report_renders(name, tmp_path):
  """A change to a report or to the lab's report helpers either leaves the
  gallery as committed or comes with it re-rendered:
  ``lab.rerender(experiments.get(NAME), "docs/paper-scale/NAME/paper")``
  (computes nothing), then ``python tools/paper_table.py``."""
  run = ROOT / "docs" / "paper-scale" / name / "paper"
  shutil.copytree(run, tmp_path / "run")
  assert lab.rerender(experiments.get(name), tmp_path / "run") == (run / "summary.md").read_text()
