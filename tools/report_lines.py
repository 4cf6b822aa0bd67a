"""Lines of report and verdict code per experiment module: how much of
``jaxrnn/experiments/*.py`` renders summaries rather than computing them.

A module-level definition (function, class, constant; ``X |= ...`` counts
with ``X``) is report code when ``verdicts``, ``declare`` or ``report``
reaches it by name and the compute path does not; the compute path starts at
``points``, ``run_point``, ``Config``, ``PRESETS`` and every ``per_seed*`` and
``_run*`` definition. Its non-blank lines are counted, decorators and
docstrings included. Reading only names, the count is an outline, not a call
graph: a name reached from both sides counts as compute.

    python tools/report_lines.py           # a line per module, then the total
    python tools/report_lines.py -v        # with the names counted
"""

from __future__ import annotations

import argparse
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
REPORT_ROOTS = ("verdicts", "declare", "report")
COMPUTE_ROOTS = ("points", "run_point", "Config", "PRESETS")


def definitions(tree: ast.Module) -> dict[str, list[ast.stmt]]:
  """Module-level statements by the names they define."""
  out: dict[str, list[ast.stmt]] = {}
  for node in tree.body:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
      names = [node.name]
    elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
      targets = node.targets if isinstance(node, ast.Assign) else [node.target]
      names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    else:
      names = []
    for name in names:
      out.setdefault(name, []).append(node)
  return out


def _reached(roots, defs: dict[str, list[ast.stmt]]) -> set[str]:
  seen, todo = set(), [r for r in roots if r in defs]
  while todo:
    name = todo.pop()
    if name in seen:
      continue
    seen.add(name)
    for node in defs[name]:
      for n in ast.walk(node):
        ref = n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else None
        if ref in defs and ref not in seen:
          todo.append(ref)
  return seen


def count(source: str) -> tuple[int, list[str]]:
  """(non-blank lines, names) of the report code in one module's source."""
  lines, defs = source.splitlines(), definitions(ast.parse(source))
  compute = list(COMPUTE_ROOTS) + [n for n in defs if n.startswith(("per_seed", "_run"))]
  names = sorted(_reached(REPORT_ROOTS, defs) - _reached(compute, defs))
  nodes = {id(node): node for name in names for node in defs[name]}
  total = 0
  for node in nodes.values():
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    total += sum(1 for line in lines[start - 1 : node.end_lineno] if line.strip())
  return total, names


def main(argv=None) -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("-v", "--verbose", action="store_true", help="name what is counted")
  ap.add_argument("--dir", default=str(ROOT / "jaxrnn" / "experiments"), help="the modules")
  args = ap.parse_args(argv)
  grand = 0
  for path in sorted(pathlib.Path(args.dir).glob("*.py")):
    if path.name == "__init__.py":
      continue
    n, names = count(path.read_text())
    grand += n
    print(f"{path.stem:22s} {n:5d}" + ("  " + " ".join(names) if args.verbose else ""))
  print(f"{'total':22s} {grand:5d}")


if __name__ == "__main__":
  main()
