"""The ``jaxrnn`` command line (also ``python -m jaxrnn``): ``list``,
``run NAME``, ``reproduce``. The top floor: it imports the experiments, which
import the framework (``jaxrnn.lab``), which imports nothing of the math.

Exit statuses:

- 0: done; the summary is printed and written to ``OUT/NAME/PRESET``.
- 2: refused, with one line on stderr and before any computation where it
  can be known then: bad arguments or config values (non-finite numbers,
  numbers beyond the generic limit unless ``--allow-large``, a seed outside
  ``[0, lab.MAX_SEED]``), a run directory that holds another run or a line
  that is not a record, a directory locked by another run (naming its PID),
  work that would not fit in memory (``jaxrnn.checks.ResourceError``, or
  XLA's RESOURCE_EXHAUSTED as a fallback).
- 130: interrupted (Ctrl-C, at any moment, also during the imports): one line
  saying that the completed points are kept and how to resume. See
  ``jaxrnn._sigint`` for why the process then ends at once without an
  exception or an interpreter teardown.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from jaxrnn import _sigint

PRESETS = ("quick", "paper")


class _Parser(argparse.ArgumentParser):
  def error(self, message):  # one line, exit 2, no usage dump
    sys.stderr.write(f"jaxrnn: error: {message}\n")
    sys.exit(2)


def _out_dir(text: str) -> Path:
  if not text.strip():
    raise argparse.ArgumentTypeError(
      "must name a directory (an empty --out would write into the current directory)"
    )
  return Path(text)


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
      type=_out_dir,
      help="results root; a run goes to OUT/NAME/PRESET (default: results)",
    )
    sp.add_argument("--seed", type=int, default=None, help="override the config's seed")
    sp.add_argument(
      "--fresh",
      action="store_true",
      help="move an existing run in the target directory aside (into old-<time>/) first",
    )
    sp.add_argument(
      "--allow-large",
      action="store_true",
      help="lift the generic limit on config values (see jaxrnn.lab.config.MAX_VALUE)",
    )
    sp.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sp.add_argument(
      "--no-compilation-cache",
      action="store_true",
      help="leave JAX's persistent compilation cache off (default: on, in "
      "$JAXRNN_COMPILATION_CACHE_DIR or ~/.cache/jaxrnn/jax; JAXRNN_COMPILATION_CACHE=0 "
      "turns it off too; see jaxrnn.lab.cache)",
    )
    sp.add_argument(
      "--save-params",
      action="store_true",
      help="write the trained parameters and TrainResults of the experiments that keep them "
      "(languages) as flax msgpack under OUT/NAME/PRESET/params/; `run` refuses it for the "
      "others, `reproduce` runs them as usual",
    )
    sp.add_argument(
      "--distributed",
      action="store_true",
      help="call jax.distributed.initialize() first (multi-host: the same command on every "
      "host; process 0 writes the results)",
    )
    sp.add_argument(
      "--coordinator",
      metavar="HOST:PORT",
      default=None,
      help="with --distributed: process 0's address (omit where JAX finds it: TPU, SLURM, ...)",
    )
    sp.add_argument(
      "--num-processes", type=int, default=None, help="with --distributed: number of processes"
    )
    sp.add_argument(
      "--process-id", type=int, default=None, help="with --distributed: this process, 0..N-1"
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


def _one_line(text: str, limit: int = 400) -> str:
  lines = [line.strip() for line in str(text).splitlines() if line.strip()]
  line = lines[0] if lines else ""
  return line if len(line) <= limit else line[: limit - 3] + "..."


def _fail(message: str) -> int:
  sys.stderr.write(f"jaxrnn: error: {_one_line(message)}\n")
  return 2


def _show_warning(message, category, filename, lineno, file=None, line=None):
  sys.stderr.write(f"jaxrnn: warning: {_one_line(message, 1000)}\n")


def _resource_exhausted(e: BaseException) -> bool:
  """XLA's out-of-memory error (the fallback when no estimate refused the
  work before it started)."""
  import jax

  return isinstance(e, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(e)


def _compilation_cache(args) -> None:
  """JAX's persistent compilation cache for ``run`` and ``reproduce``
  (``jaxrnn.lab.cache``), before any compilation."""
  if args.command == "list" or args.no_compilation_cache:
    return
  from jaxrnn import experiments
  from jaxrnn.lab import cache

  try:
    cache.enable_compilation_cache()
  except ValueError as e:  # a bad JAXRNN_COMPILATION_CACHE* value
    raise experiments.ConfigError(str(e)) from None


def _run_one(exp, args, overrides) -> str:
  from jaxrnn import experiments

  cfg = exp.presets[args.preset]
  if args.seed is not None:
    overrides = list(overrides) + [f"seed={args.seed}"]
  cfg = experiments.apply_overrides(cfg, overrides, allow_large=args.allow_large)
  out_dir = args.out / exp.name / args.preset
  save_params = args.save_params and exp.saves_params
  if args.save_params and not exp.saves_params and args.command == "run":
    savers = [n for n, e in experiments.registry().items() if e.saves_params]
    raise experiments.ConfigError(
      f"{exp.name} trains no parameters to save; --save-params applies to: {', '.join(savers)}"
    )
  writer = True
  if args.distributed:  # every process computes every point; process 0 writes
    import jax

    writer = jax.process_index() == 0
  t0 = time.perf_counter()
  _, summary = experiments.run_experiment(
    exp,
    cfg,
    out_dir,
    preset=args.preset,
    fresh=args.fresh,
    progress=not args.no_progress,
    allow_large=args.allow_large,
    writer=writer,
    save_params=save_params,
  )
  elapsed = time.perf_counter() - t0
  if writer:
    print(summary)
    print(f"\n[{exp.name}: {elapsed:.1f} s; results in {out_dir}]\n", flush=True)
  return summary


def _main(args) -> int:
  from jaxrnn import experiments

  if args.command == "list":
    for name, exp in experiments.registry().items():
      print(f"{name:24s} {exp.description}")
    return 0

  given = {
    k: v
    for k, v in (
      ("coordinator_address", args.coordinator),
      ("num_processes", args.num_processes),
      ("process_id", args.process_id),
    )
    if v is not None
  }
  if given and not args.distributed:
    return _fail("--coordinator, --num-processes and --process-id need --distributed")
  if args.distributed:
    import jax

    jax.distributed.initialize(**given)
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
  finally:
    if args.distributed:  # the program ends without interpreter teardown
      jax.distributed.shutdown()
  return 0


def main(argv=None) -> int:
  """Runs the command line with ``argv`` (default: ``sys.argv[1:]``) and
  returns the exit status; in the jaxrnn program itself it ends the process
  with that status instead (``jaxrnn._sigint.finish``)."""
  status = _main_status(argv)
  if _sigint.STARTED_AS_PROGRAM:
    _sigint.finish(status)
  return status


def _main_status(argv) -> int:
  try:
    args = _parser().parse_args(argv)
  except SystemExit as e:  # argparse: --help (0) or one line and 2
    return e.code if isinstance(e.code, int) else 2
  from jaxrnn import experiments

  with warnings.catch_warnings():
    warnings.showwarning = _show_warning
    try:
      _compilation_cache(args)
      return _main(args)
    except (experiments.ConfigError, experiments.StoreError) as e:
      return _fail(str(e))
    except MemoryError as e:  # jaxrnn.checks.ResourceError: refused before the work
      return _fail(f"not enough memory: {e}" if str(e) else "not enough memory")
    except OverflowError as e:
      return _fail(f"a value is too large for the computation ({e})")
    except KeyboardInterrupt:  # in-process use; the program exits in jaxrnn._sigint
      sys.stderr.write(_sigint.MESSAGE + "\n")
      return _sigint.EXIT_STATUS
    except BrokenPipeError:  # e.g. `jaxrnn list | head`: the reader left
      try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
      except (OSError, ValueError, AttributeError):
        pass
      return 141  # 128 + SIGPIPE, as for a program ended by the broken pipe
    except OSError as e:
      return _fail(f"{e.strerror or e}: {e.filename}" if e.filename else str(e))
    except Exception as e:
      if _resource_exhausted(e):
        return _fail(
          f"out of memory while computing ({_one_line(e, 200)}); reduce the sizes with --set"
        )
      raise


if __name__ == "__main__":
  sys.exit(main())
