"""Lines of report and verdict code per experiment module: how much of
``jaxrnn/experiments/*.py`` renders summaries rather than computing them.

A module-level definition (function, class, constant; ``X |= ...`` counts
with ``X``) is report code when ``verdicts``, ``declare`` or ``report``
reaches it by name and the compute path does not; the compute path starts at
``points``, ``run_point``, ``Config``, ``PRESETS`` and every ``per_seed*`` and
``_run*`` definition. Its non-blank lines are counted, decorators and
docstrings included. Reading only names, the count is an outline, not a call
graph: a name reached from both sides counts as compute. The second column
leaves out the lines that hold only text: string literals (docstrings,
captions, rule wording; f-strings too), with at most brackets, commas and
``+`` around them.

    python tools/report_lines.py           # a line per module, then the total
    python tools/report_lines.py -v        # with the names counted
"""

from __future__ import annotations

import argparse
import ast
import io
import pathlib
import tokenize

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


TEXT_OPS = {"(", ")", "[", "]", "{", "}", ",", "+"}
FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
FSTRING_END = getattr(tokenize, "FSTRING_END", -1)


def code_lines(source: str) -> set[int]:
  """Line numbers holding a token other than a string literal, a comment or
  the brackets, commas and ``+`` that join literals."""
  out, in_fstring = set(), 0  # Python >= 3.12 splits f-strings into tokens
  for tok in tokenize.generate_tokens(io.StringIO(source).readline):
    in_fstring += tok.type == FSTRING_START
    in_fstring -= tok.type == FSTRING_END
    if in_fstring or tok.type == FSTRING_END:
      continue
    if tok.type in (tokenize.NAME, tokenize.NUMBER) or (
      tok.type == tokenize.OP and tok.string not in TEXT_OPS
    ):
      out.add(tok.start[0])
  return out


def count(source: str, text: bool = True) -> tuple[int, list[str]]:
  """(non-blank lines, names) of the report code in one module's source;
  ``text=False``: only the lines ``code_lines`` keeps."""
  lines, defs = source.splitlines(), definitions(ast.parse(source))
  compute = list(COMPUTE_ROOTS) + [n for n in defs if n.startswith(("per_seed", "_run"))]
  names = sorted(_reached(REPORT_ROOTS, defs) - _reached(compute, defs))
  nodes = {id(node): node for name in names for node in defs[name]}
  keep = None if text else code_lines(source)
  total = 0
  for node in nodes.values():
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    for i in range(start, node.end_lineno + 1):
      total += bool(lines[i - 1].strip()) and (keep is None or i in keep)
  return total, names


def main(argv=None) -> None:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("-v", "--verbose", action="store_true", help="name what is counted")
  ap.add_argument("--dir", default=str(ROOT / "jaxrnn" / "experiments"), help="the modules")
  args = ap.parse_args(argv)
  grand, grand_code = 0, 0
  print(f"{'module':22s} {'lines':>5s} {'without text':>12s}")
  for path in sorted(pathlib.Path(args.dir).glob("*.py")):
    if path.name == "__init__.py":
      continue
    source = path.read_text()
    (n, names), (c, _) = count(source), count(source, text=False)
    grand, grand_code = grand + n, grand_code + c
    print(f"{path.stem:22s} {n:5d} {c:12d}" + ("  " + " ".join(names) if args.verbose else ""))
  print(f"{'total':22s} {grand:5d} {grand_code:12d}")


if __name__ == "__main__":
  main()
