"""The README's paper-scale claim table and docs/paper-scale/index.md are the
verdicts of the committed ``paper`` summaries (``tools/paper_table.py``), and
every experiment's ``paper`` run is there."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


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
    assert all(r["holds"] in ("yes", "no", "undecided") for r in e["rows"]), e["name"]


def test_verdict_parser_reads_what_reports_write():
  from jaxrnn import lab

  tool = _tool()
  table = lab.verdict_table(
    [lab.Verdict("a claim", "1.0", "x < 2", True), lab.Verdict("b", "3", "x < 2", False)]
  )
  rows = tool.verdicts("## Verdicts\n\n" + table + "\n\n## Next\n| x | y | z | w |")
  assert [(r["claim"], r["holds"]) for r in rows] == [("a claim", "yes"), ("b", "no")]
