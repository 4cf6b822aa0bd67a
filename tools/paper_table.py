"""The paper-scale claim table: every verdict of every experiment's ``paper``
summary under ``docs/paper-scale/``, as computed by the experiments (nothing
here judges anything; it only collects the verdict tables).

Writes ``docs/paper-scale/index.md`` (the table, timings, environment) and the
README block between ``<!-- paper-scale:begin -->`` and
``<!-- paper-scale:end -->``. ``tests/test_paper_scale.py`` checks that both
match the committed summaries.

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
  """``{name: {"wall_s": ..., "rc": ...}}`` from ``timing.txt`` (one line per
  ``jaxrnn run NAME --preset paper``, written by the run script)."""
  out = {}
  path = OUT / "timing.txt"
  if path.exists():
    for line in path.read_text().splitlines():
      m = re.match(r"(\w+) rc=(\d+) wall_s=(\d+)(?: load=([\d.]+))?", line)
      if m:
        load = float(m.group(4)) if m.group(4) else None
        out[m.group(1)] = {"rc": int(m.group(2)), "wall_s": int(m.group(3)), "load": load}
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


def readme_block(exps, times) -> str:
  lines = [
    "| claim (paper) | experiment | measured at paper scale | holds? |",
    "| --- | --- | --- | --- |",
  ]
  for e in exps:
    link = f"[`{e['name']}`](docs/paper-scale/{e['name']}/paper/summary.md)"
    if not e["ran"]:
      lines.append(f"| — | {link} | not run | — |")
    for r in e["rows"]:
      lines.append(f"| {r['claim']} | {link} | {r['measured']} | **{r['holds']}** |")
  n = sum(len(e["rows"]) for e in exps)
  count = {k: sum(r["holds"] == k for e in exps for r in e["rows"]) for k in ("yes", "no")}
  total = sum(t["wall_s"] for t in times.values())
  lines += [
    "",
    f"{n} verdicts: {count['yes']} hold, {count['no']} do not, "
    f"{n - count['yes'] - count['no']} undecided. Wall time of the ten `paper` runs "
    f"one after the other: {_fmt_time(total if times else None)} "
    f"(longest: {_longest(times)}); per experiment in "
    "[docs/paper-scale](docs/paper-scale/index.md).",
  ]
  return "\n".join(lines)


def _longest(times) -> str:
  if not times:
    return "n/a"
  name = max(times, key=lambda k: times[k]["wall_s"])
  return f"`{name}`, {_fmt_time(times[name]['wall_s'])}"


def index_page(exps, times) -> str:
  env = next((e["env"] for e in exps if e["env"]), {})
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
    "Wall times are upper bounds: other jobs (tests, builds) shared the 2 cores during",
    "these runs; the last column is the 1-minute load average when each run ended",
    "(2 would be a fully used, uncontended machine).",
    "",
    "| experiment | wall time | exit | load at the end | verdicts (hold / do not / undecided) |",
    "| --- | --- | --- | --- | --- |",
  ]
  for e in exps:
    t = times.get(e["name"], {})
    rows = e["rows"]
    k = [sum(r["holds"] == v for r in rows) for v in ("yes", "no")]
    lines.append(
      f"| [`{e['name']}`]({e['name']}/paper/summary.md) | {_fmt_time(t.get('wall_s'))} | "
      f"{t.get('rc', '—')} | {t.get('load') or '—'} | {k[0]} / {k[1]} / {len(rows) - sum(k)} |"
    )
  lines += ["", "## Every verdict", ""]
  lines += [
    "| claim (paper) | experiment | measured | rule | holds? |",
    "| --- | --- | --- | --- | --- |",
  ]
  for e in exps:
    for r in e["rows"]:
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
