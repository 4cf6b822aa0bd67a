"""The ``jaxrnn`` command line (also ``python -m jaxrnn``): ``list``,
``run NAME``, ``reproduce``. The top floor: it imports the experiments, which
import the framework (``jaxrnn.lab``), which imports nothing of the math.

Exit statuses:

- 0: done; the summary is printed and written to ``OUT/NAME/PRESET``.
- 2: refused, with one line on stderr and before any computation where it
  can be known then: bad arguments or config values (non-finite numbers,
  numbers beyond the generic limit unless ``--allow-large``, a seed outside
  ``[0, lab.MAX_SEED]``), bad ``--distributed`` options (checked before JAX
  is used), a run directory that holds another run, records made in another
  environment (unless ``--accept-environment``) or a line that is not a
  record, a directory locked by another run (naming its PID), work that
  would not fit in memory at any point of the grid
  (``jaxrnn.checks.ResourceError``, checked for every point before the first
  runs, or XLA's RESOURCE_EXHAUSTED as a fallback).
- 1: ``--distributed`` start-up gave up: the coordinator could not be
  reached, or not every process joined, within ``--distributed-timeout``
  seconds (default ``DISTRIBUTED_TIMEOUT``); one line naming the
  coordinator, before any computation.
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

#: Default of ``--distributed-timeout``: seconds that start-up waits for the
#: coordinator (a process other than 0) and for every process to join.
DISTRIBUTED_TIMEOUT = 120.0
#: Longest ``--distributed-timeout`` accepted (a day).
MAX_DISTRIBUTED_TIMEOUT = 86400.0
#: Exit status when distributed start-up gives up (coordinator not reachable,
#: or not every process joined within the timeout).
EXIT_UNREACHABLE = 1


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
      "--accept-environment",
      action="store_true",
      help="resume a run whose records were made in another environment (devices, dtype "
      "rules, versions); config.json then lists both",
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
      help="join a multi-process run first (jax.distributed.initialize; the same command on "
      "every host; process 0 writes the results); needs --coordinator",
    )
    sp.add_argument(
      "--coordinator",
      metavar="HOST:PORT",
      default=None,
      help="with --distributed: process 0's address, with --num-processes and --process-id; "
      "or 'auto' where JAX finds the cluster itself (Cloud TPU, SLURM, Open MPI)",
    )
    sp.add_argument(
      "--num-processes", type=int, default=None, help="with --distributed: number of processes"
    )
    sp.add_argument(
      "--process-id", type=int, default=None, help="with --distributed: this process, 0..N-1"
    )
    sp.add_argument(
      "--distributed-timeout",
      type=float,
      default=None,
      metavar="SECONDS",
      help="with --distributed: how long start-up waits for the coordinator and the other "
      f"processes before giving up with one line and exit status {EXIT_UNREACHABLE} "
      f"(default: {DISTRIBUTED_TIMEOUT:g})",
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


def _parse_coordinator(text: str) -> tuple[str, int] | None:
  """``(host, port)`` of ``HOST:PORT`` (``[v6addr]:PORT`` for IPv6), or None
  when it is not of that form or the port is outside 1..65535."""
  host, sep, port = text.strip().rpartition(":")
  if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
    return None
  if host.startswith("[") and host.endswith("]"):
    host = host[1:-1]
  if not host or any(c.isspace() for c in host):
    return None
  return host, int(port)


def _distributed_settings(args) -> dict | str | None:
  """The checked ``--distributed`` options as a dict (None without
  ``--distributed``), or the one-line error. Runs before JAX is imported."""
  given = (args.coordinator, args.num_processes, args.process_id, args.distributed_timeout)
  if not args.distributed:
    if any(v is not None for v in given):
      return (
        "--coordinator, --num-processes, --process-id and --distributed-timeout need --distributed"
      )
    return None
  timeout = DISTRIBUTED_TIMEOUT if args.distributed_timeout is None else args.distributed_timeout
  if not 0 < timeout <= MAX_DISTRIBUTED_TIMEOUT:  # also refuses nan
    return (
      f"--distributed-timeout must lie in (0, {MAX_DISTRIBUTED_TIMEOUT:g}] seconds, got {timeout:g}"
    )
  n, pid = args.num_processes, args.process_id
  if n is not None and n < 1:
    return f"--num-processes must be >= 1, got {n}"
  if pid is not None and n is not None and not 0 <= pid < n:
    return f"--process-id must lie in 0..{n - 1} (--num-processes {n}), got {pid}"
  if pid is not None and pid < 0:
    return f"--process-id must be >= 0, got {pid}"
  if args.coordinator is None:
    return (
      "--distributed needs --coordinator HOST:PORT (process 0's address) with "
      "--num-processes and --process-id, or --coordinator auto where JAX finds the cluster "
      "(Cloud TPU, SLURM, Open MPI)"
    )
  settings = {"timeout": float(timeout), "num_processes": n, "process_id": pid}
  if args.coordinator.strip() == "auto":
    return {**settings, "coordinator": None, "host": None, "port": None}
  parsed = _parse_coordinator(args.coordinator)
  if parsed is None:
    return f"--coordinator must be HOST:PORT with a port in 1..65535, got {args.coordinator!r}"
  missing = [name for name, v in (("--num-processes", n), ("--process-id", pid)) if v is None]
  if missing:
    return f"--coordinator {args.coordinator} needs {' and '.join(missing)} as well"
  host, port = parsed
  return {**settings, "coordinator": args.coordinator.strip(), "host": host, "port": port}


def _give_up(message: str) -> None:
  """Ends the process with one line and ``EXIT_UNREACHABLE``: start-up is
  blocked inside jaxlib (which, left alone, aborts with a C++ trace), so
  there is no exception to raise into; the run has written nothing yet."""
  os.write(2, f"jaxrnn: error: {message}\n".encode())
  os._exit(EXIT_UNREACHABLE)


def _start_distributed(dist: dict) -> int:
  """``jax.distributed.initialize`` within ``dist["timeout"]`` seconds.

  A process other than 0 first opens a TCP connection to the coordinator,
  retrying until the deadline (process 0 may start later), so that a
  coordinator that is not there is reported by name; then JAX's start-up
  runs with its own timeout set past ours, under a watchdog thread that
  ends the process with one line at the deadline (JAX's own timeout ends
  in a C++ check failure and SIGABRT). Returns 0, or 2 after a one-line
  error that JAX raised as an exception."""
  import socket
  import threading

  timeout, coord = dist["timeout"], dist["coordinator"]
  deadline = time.monotonic() + timeout
  n, pid = dist["num_processes"], dist["process_id"]
  where = f"coordinator {coord}" if coord else "the coordinator JAX found for this cluster"
  if pid == 0:
    why = f"not all {n} processes joined the {where} (this is process 0, the coordinator)"
  else:
    who = "" if pid is None else f" (process {pid} of {n})"
    why = f"the {where} did not answer, or not every process joined{who}"
  watchdog = threading.Timer(
    timeout,
    _give_up,
    args=(
      f"distributed start-up gave up after {timeout:g} s: {why}; check that every "
      "process runs the same command, or raise --distributed-timeout",
    ),
  )
  watchdog.daemon = True
  watchdog.start()
  try:
    if coord is not None:
      host, port = dist["host"], dist["port"]
      try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
      except (OSError, UnicodeError) as e:
        _give_up(f"cannot resolve the host of coordinator {coord}: {e}")
      while pid != 0:
        left = deadline - time.monotonic()
        if left <= 0:
          _give_up(
            f"could not reach coordinator {coord} within {timeout:g} s (is process 0 running "
            "there? --distributed-timeout sets the wait)"
          )
        try:
          socket.create_connection((host, port), timeout=min(left, 2.0)).close()
          break
        except OSError:
          time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    import jax

    kwargs = {
      k: v
      for k, v in (("coordinator_address", coord), ("num_processes", n), ("process_id", pid))
      if v is not None
    }
    left = max(1.0, deadline - time.monotonic())
    try:
      # JAX's own timeout comes after the watchdog's, which reports it.
      jax.distributed.initialize(**kwargs, initialization_timeout=int(left) + 60)
    except (ValueError, RuntimeError, TypeError) as e:
      return _fail(f"distributed start-up failed: {e}")
  finally:
    watchdog.cancel()
  return 0


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
    accept_environment=args.accept_environment,
  )
  elapsed = time.perf_counter() - t0
  if writer:
    print(summary)
    print(f"\n[{exp.name}: {elapsed:.1f} s; results in {out_dir}]\n", flush=True)
  return summary


def _main(args, dist: dict | None) -> int:
  from jaxrnn import experiments

  if args.command == "list":
    for name, exp in experiments.registry().items():
      print(f"{name:24s} {exp.description}")
    return 0

  if args.distributed:
    status = _start_distributed(dist)
    if status:
      return status
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
      import jax

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
  if args.command != "list":
    dist = _distributed_settings(args)  # before JAX is imported
    if isinstance(dist, str):
      return _fail(dist)
  else:
    dist = None
  from jaxrnn import experiments

  with warnings.catch_warnings():
    warnings.showwarning = _show_warning
    try:
      _compilation_cache(args)
      return _main(args, dist)
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
