"""The paper-scale claim tables: every verdict of every experiment's ``paper``
summary under ``docs/paper-scale/``, as computed by the experiments (nothing
here judges anything; it only collects the verdict tables).

Writes ``docs/paper-scale/index.md`` (timings, environment, then two tables:
the paper's claims, each quoted with its location and regime, and the jaxrnn
diagnostics, with separate tallies) and the README's headline between
``<!-- paper-scale:begin -->`` and ``<!-- paper-scale:end -->``.
``tests/tools/test_paper_scale.py`` checks that both match the committed summaries.

    python tools/paper_table.py            # rewrite both
    python tools/paper_table.py --check    # exit 1 if either is stale
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "paper-scale"
BEGIN, END = "<!-- paper-scale:begin -->", "<!-- paper-scale:end -->"


def order() -> list[str]:
  sys.path.insert(0, str(ROOT))
  from jaxrnn import experiments

  return list(experiments.registry())


def verdicts(summary: str) -> list[dict]:
  """Rows of the summary's ``## Verdicts`` table (``jaxrnn.lab.read_verdicts``)."""
  sys.path.insert(0, str(ROOT))
  from jaxrnn import lab

  return lab.read_verdicts(summary)


def timings() -> dict[str, dict]:
  """``{name: {"wall_s": ..., "cpu_s": ..., "rc": ..., "load": ...}}`` from
  ``timing.txt`` (one line per ``jaxrnn run NAME --preset paper``, written by
  the run script; ``cpu_s``, the process's user + system seconds, optional)."""
  out = {}
  path = OUT / "timing.txt"
  if path.exists():
    for line in path.read_text().splitlines():
      m = re.match(r"(\w+) rc=(\d+) wall_s=(\d+)(?: cpu_s=(\d+))?(?: load=([\d.]+))?", line)
      if m:
        cpu = int(m.group(4)) if m.group(4) else None
        load = float(m.group(5)) if m.group(5) else None
        out[m.group(1)] = {"rc": int(m.group(2)), "wall_s": int(m.group(3)), "cpu_s": cpu}
        out[m.group(1)]["load"] = load
  return out


def collect():
  exps = []
  for name in order():
    run = OUT / name / "paper"
    summary = run / "summary.md"
    cfg = run / "config.json"
    exps.append(
      {
        "name": name,
        "ran": summary.exists(),
        "rows": verdicts(summary.read_text()) if summary.exists() else [],
        "env": json.loads(cfg.read_text()).get("environment", {}) if cfg.exists() else {},
      }
    )
  return exps


def _fmt_time(s: int | None) -> str:
  return "not run" if s is None else f"{s / 60:.1f} min"


PAPER_KINDS = ("yes", "not testable at these sizes", "no", "undecided")
DIAG_KINDS = ("yes", "no", "undecided")


def _count(rows, paper: bool) -> dict[str, int]:
  kinds = PAPER_KINDS if paper else DIAG_KINDS
  return {k: sum(r["holds"] == k and r["paper"] == paper for r in rows) for k in kinds}


def tally_text(rows) -> tuple[str, str]:
  """The two tallies as sentences: the paper's claims, then the diagnostics."""
  p, d = _count(rows, True), _count(rows, False)
  paper = (
    f"{sum(p.values())} verdicts on the paper's claims: {p['yes']} hold, "
    f"{p['not testable at these sizes']} not testable at these sizes, {p['no']} do not hold, "
    f"{p['undecided']} undecided"
  )
  diag = (
    f"{sum(d.values())} jaxrnn diagnostics: {d['yes']} hold, {d['no']} do not, "
    f"{d['undecided']} undecided"
  )
  return paper, diag


def readme_block(exps, times) -> str:
  rows = [r for e in exps for r in e["rows"]]
  paper, diag = tally_text(rows)
  total = sum(t["wall_s"] for t in times.values())
  not_run = [e["name"] for e in exps if not e["ran"]]
  lines = [
    f"At paper scale, **{paper}**; beside them, {diag} (hypotheses of ours, labelled so).",
    f"Wall time of the ten `paper` runs one after the other: "
    f"{_fmt_time(total if times else None)} (longest: {_longest(times)})"
    + (
      "; upper bounds, the runs shared the 2 cores with other jobs (loads in the gallery)."
      if any((t.get("load") or 0) > 2.5 for t in times.values())
      else "."
    )
    + (_cpu_text(times) if all(t.get("cpu_s") is not None for t in times.values()) else ""),
    "Every verdict, its quote of the paper, its regime and its rule: "
    "[docs/paper-scale](docs/paper-scale/index.md).",
  ]
  if not_run:
    lines.append("Not run: " + ", ".join(f"`{n}`" for n in not_run) + ".")
  return "\n".join(lines)


def _cpu_text(times) -> str:
  """CPU time (user + system) of the runs, the figure other jobs inflate least."""
  if not times:
    return ""
  name = max(times, key=lambda k: times[k]["cpu_s"])
  total = sum(t["cpu_s"] for t in times.values())
  return (
    f" CPU time (user + system): {_fmt_time(total)} (longest: `{name}`, "
    f"{_fmt_time(times[name]['cpu_s'])}); on 2 idle cores a run takes at most about its CPU time."
  )


def _longest(times) -> str:
  if not times:
    return "n/a"
  name = max(times, key=lambda k: times[k]["wall_s"])
  return f"`{name}`, {_fmt_time(times[name]['wall_s'])}"


def index_page(exps, times) -> str:
  env = next((e["env"] for e in exps if e["env"]), {})
  rows = [r for e in exps for r in e["rows"]]
  paper, diag = tally_text(rows)
  lines = [
    "# Paper scale",
    "",
    "Every experiment's `paper` preset, run one after the other with",
    "`jaxrnn run NAME --preset paper` (what `jaxrnn reproduce --preset paper` does;",
    "`bash tools/run_paper_scale.sh` runs them, times them and refreshes this page),",
    f"on jax {env.get('jax', '?')} ({env.get('backend', '?')}, "
    f"{len(env.get('devices', [])) or '?'} device), Python {env.get('python', '?')}.",
    "Records (`results.jsonl`), figures and summaries are committed beside this page;",
    "each verdict below is copied from its summary, where the rule that computed it is stated.",
    "",
    "Two kinds of verdict. A row of the first table tests a statement of the paper: it",
    "quotes the main text with its location and states the regime the statement needs",
    "(ε_x < 1/L, widths, λ, η, T, N) and whether the run met it; a claim tested outside",
    "its regime reads *not testable at these sizes*, never *no*. A row of the second",
    "table is a jaxrnn diagnostic: a rate we derived, a threshold we chose or a comparison",
    "the paper does not make.",
    "",
    f"- **{paper}.**",
    f"- {diag}.",
    "",
    "Wall times are upper bounds when other jobs shared the 2 cores; the load column is",
    "the 1-minute load average when each run ended (2 would be a fully used, uncontended",
    "machine). CPU time (user + system seconds of the run's process) is what other jobs",
    "inflate least: a run that keeps at least one core busy finishes on 2 idle cores",
    "within about its CPU time.",
    "",
    "| experiment | wall time | CPU time | exit | load at the end | paper claims (hold / "
    "not testable / do not / undecided) | diagnostics (hold / do not / undecided) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ]
  for e in exps:
    t = times.get(e["name"], {})
    p, d = _count(e["rows"], True), _count(e["rows"], False)
    lines.append(
      f"| [`{e['name']}`]({e['name']}/paper/summary.md) | {_fmt_time(t.get('wall_s'))} | "
      f"{'—' if t.get('cpu_s') is None else _fmt_time(t['cpu_s'])} | {t.get('rc', '—')} | "
      f"{t.get('load') or '—'} | {' / '.join(map(str, p.values()))} | "
      f"{' / '.join(map(str, d.values()))} |"
    )
  lines += ["", "## The paper's claims", ""]
  lines += [
    "| claim tested | the paper says | regime | experiment | measured | rule | holds? |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ]
  for e in exps:
    for r in e["rows"]:
      if r["paper"]:
        lines.append(
          f"| {r['claim']} | {r['source']} | {r['regime']} | "
          f"[`{e['name']}`]({e['name']}/paper/summary.md) | {r['measured']} | {r['rule']} | "
          f"**{r['holds']}** |"
        )
  lines += ["", "## jaxrnn diagnostics", ""]
  lines += [
    "| diagnostic | experiment | measured | rule | holds? |",
    "| --- | --- | --- | --- | --- |",
  ]
  for e in exps:
    for r in e["rows"]:
      if not r["paper"]:
        lines.append(
          f"| {r['claim']} | [`{e['name']}`]({e['name']}/paper/summary.md) | {r['measured']} | "
          f"{r['rule']} | **{r['holds']}** |"
        )
  return "\n".join(lines) + "\n"


def render():
  exps, times = collect(), timings()
  readme = (ROOT / "README.md").read_text()
  i, j = readme.index(BEGIN) + len(BEGIN), readme.index(END)
  new_readme = readme[:i] + "\n" + readme_block(exps, times) + "\n" + readme[j:]
  return new_readme, index_page(exps, times)


def main(argv) -> int:
  new_readme, page = render()
  if "--check" in argv:
    ok = (ROOT / "README.md").read_text() == new_readme and (
      (OUT / "index.md").exists() and (OUT / "index.md").read_text() == page
    )
    print("paper-scale table up to date" if ok else "stale: run python tools/paper_table.py")
    return 0 if ok else 1
  (ROOT / "README.md").write_text(new_readme)
  OUT.mkdir(parents=True, exist_ok=True)
  (OUT / "index.md").write_text(page)
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
