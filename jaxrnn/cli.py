"""The ``jaxrnn`` command line (also ``python -m jaxrnn``): ``list``,
``run NAME``, ``reproduce``. The top floor: it imports the experiments, which
import the framework (``jaxrnn.lab``), which imports nothing of the math.

Bad input ends with one line on stderr and exit status 2; an interrupted run
keeps its completed points and says how to resume (exit status 130).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PRESETS = ("quick", "paper")


class _Parser(argparse.ArgumentParser):
  def error(self, message):  # one line, exit 2, no usage dump
    sys.stderr.write(f"jaxrnn: error: {message}\n")
    sys.exit(2)


def _parser() -> argparse.ArgumentParser:
  p = _Parser(
    prog="jaxrnn",
    description=("Experiments on overparameterized ReLU RNNs (Panigrahi & Goyal, 2021)."),
  )
  sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
  sub.add_parser("list", help="name the experiments")

  def common(sp):
    sp.add_argument(
      "--preset", default="quick", choices=PRESETS, help="problem sizes (default: quick)"
    )
    sp.add_argument(
      "--out",
      default="results",
      type=Path,
      help="results root; a run goes to OUT/NAME/PRESET (default: results)",
    )
    sp.add_argument("--seed", type=int, default=None, help="override the config's seed")
    sp.add_argument(
      "--fresh", action="store_true", help="discard an existing run in the target directory"
    )
    sp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sp.add_argument(
      "--distributed",
      action="store_true",
      help="call jax.distributed.initialize() first (multi-host)",
    )

  run = sub.add_parser("run", help="run one experiment")
  run.add_argument("name")
  common(run)
  run.add_argument(
    "--set",
    dest="overrides",
    action="append",
    default=[],
    metavar="KEY=VALUE",
    help="override a config field (repeatable)",
  )
  rep = sub.add_parser("reproduce", help="run every experiment")
  common(rep)
  return p


def _fail(message: str) -> int:
  sys.stderr.write(f"jaxrnn: error: {message}\n")
  return 2


def _run_one(exp, args, overrides) -> str:
  from jaxrnn import experiments

  cfg = exp.presets[args.preset]
  if args.seed is not None:
    overrides = list(overrides) + [f"seed={args.seed}"]
  cfg = experiments.apply_overrides(cfg, overrides)
  out_dir = args.out / exp.name / args.preset
  t0 = time.perf_counter()
  _, summary = experiments.run_experiment(
    exp, cfg, out_dir, preset=args.preset, fresh=args.fresh, progress=not args.no_progress
  )
  elapsed = time.perf_counter() - t0
  print(summary)
  print(f"\n[{exp.name}: {elapsed:.1f} s; results in {out_dir}]\n", flush=True)
  return summary


def main(argv=None) -> int:
  args = _parser().parse_args(argv)
  from jaxrnn import experiments

  if args.command == "list":
    for name, exp in experiments.registry().items():
      print(f"{name:24s} {exp.description}")
    return 0

  if args.distributed:
    import jax

    jax.distributed.initialize()

  try:
    if args.command == "run":
      try:
        exp = experiments.get(args.name)
      except KeyError as e:
        return _fail(e.args[0])
      _run_one(exp, args, args.overrides)
    else:
      for exp in experiments.registry().values():
        _run_one(exp, args, [])
  except (experiments.ConfigError, experiments.StoreError) as e:
    return _fail(str(e))
  except KeyboardInterrupt:
    sys.stderr.write(
      "jaxrnn: interrupted; completed points are kept, rerun the same command to resume\n"
    )
    return 130
  except OSError as e:
    return _fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
  return 0


if __name__ == "__main__":
  sys.exit(main())
