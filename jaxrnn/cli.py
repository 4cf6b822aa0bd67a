"""The ``jaxrnn`` command line (also ``python -m jaxrnn``): ``list``,
``run NAME`` (``run NAME --help`` lists NAME's config keys with their type,
value in each preset and help), ``reproduce`` (every experiment, then the
tally of their verdicts) and ``report DIR...`` (the verdict tally of run
directories, side by side for two or more). The top floor: it imports the
experiments, which import the framework (``jaxrnn.lab``), which imports
nothing of the math.

A run goes to ``OUT/NAME/PRESET`` when it runs the preset (at any seed),
and to ``OUT/NAME/PRESET+set-HASH`` when ``--set`` changes the preset
(``lab.config.run_name``: the same overrides name the same directory, so
rerunning the command resumes it); ``config.json`` lists the changed fields
under ``overrides``.

Exit statuses:

- 0: done; the summary is printed and written to the run directory.
- 2: refused, with one line on stderr and before any computation where it
  can be known then: bad arguments or config values (a ``--set`` key given
  twice, non-finite numbers,
  numbers beyond the generic limit unless ``--allow-large``, a seed outside
  ``[0, lab.MAX_SEED]``), bad ``--distributed`` options (checked before JAX
  is used), a run directory that holds another run, records made in another
  environment (unless ``--accept-environment``) or a line that is not a
  record, a directory locked by another run (naming its PID), work that
  would not fit in memory at any point of the grid
  (``jaxrnn.checks.ResourceError``, checked for every point before the first
  runs, or XLA's RESOURCE_EXHAUSTED as a fallback); for ``report``, a DIR
  that does not exist or holds no run (no ``summary.md``).
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
import textwrap
import threading
import time
import warnings
from pathlib import Path
from typing import NamedTuple

from jaxrnn import _sigint

PRESETS = ("quick", "paper", "tiny")

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
      help="results root; a run goes to OUT/NAME/PRESET, or to OUT/NAME/PRESET+set-HASH when "
      "--set changes the preset (default: results)",
    )
    sp.add_argument(
      "--seed",
      type=int,
      default=None,
      help="override the config's seed (kept in the same directory, recorded in config.json; "
      "a run at another seed there is refused: use --fresh or another --out)",
    )
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

  run = sub.add_parser(
    "run", help="run one experiment (jaxrnn run NAME --help lists its config keys)", add_help=False
  )
  run.add_argument(
    "-h",
    "--help",
    action=_RunHelp,
    nargs=0,
    help="show this help and, after NAME, every config key of NAME with its type, its value "
    "in each preset and its help text",
  )
  run.add_argument("name")
  common(run)
  run.add_argument(
    "--set",
    dest="overrides",
    action="append",
    default=[],
    metavar="KEY=VALUE",
    help="override a config field (repeatable, each key once; a list is comma-separated); "
    "the run then goes to OUT/NAME/PRESET+set-HASH, config.json lists the overrides",
  )
  rep = sub.add_parser("reproduce", help="run every experiment, then tally their verdicts")
  common(rep)
  report = sub.add_parser(
    "report",
    help="tally the verdicts of run directories; compare them side by side",
    description="Reads the verdicts of the run directories under each DIR (a run directory, "
    "or a results root such as --out holding many) and prints how many paper claims hold, do "
    "not hold, are undecided or not testable at these sizes, and how the jaxrnn diagnostics "
    "came out, per run and in total. Given two or more DIRs, it also prints their verdicts "
    "side by side, matched by experiment and claim, flagging those whose outcomes differ.",
  )
  report.add_argument(
    "dirs",
    nargs="+",
    metavar="DIR",
    type=_out_dir,
    help="a run directory (OUT/NAME/PRESET) or a results root holding runs (old-* left out)",
  )
  report.add_argument(
    "--differences",
    action="store_true",
    help="with two or more DIRs: list only the verdicts whose outcomes differ",
  )
  return p


class _RunHelp(argparse.Action):
  """``jaxrnn run [NAME] --help``: the usage, then (when NAME came before
  ``--help``) every config key of NAME (``lab.config.describe_fields``)."""

  def __call__(self, parser, namespace, values, option_string=None):
    text = parser.format_help()
    name = getattr(namespace, "name", None)
    if name is None:
      text += "\nName an experiment before --help to list its config keys: jaxrnn run NAME --help\n"
    else:
      from jaxrnn import experiments
      from jaxrnn.lab import config

      try:
        exp = experiments.get(name)
      except KeyError as e:
        parser.error(e.args[0])
      presets = dict(exp.presets)
      intro = (
        f"config keys of {exp.name} ({exp.description}); set with --set KEY=VALUE, a list "
        f"comma-separated; values per preset ({', '.join(presets)}):"
      )
      text += (
        "\n"
        + "\n".join(textwrap.wrap(intro, 100, break_on_hyphens=False))
        + "\n\n"
        + config.describe_fields(exp.config_type, presets)
        + "\n"
      )
    parser._print_message(text, sys.stdout)
    parser.exit(0)


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
  if args.command in ("list", "report") or args.no_compilation_cache:
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
  there is no exception to raise into; the run has written nothing yet.
  Of two threads giving up at once, one writes; the other waits for the end."""
  if _GIVING_UP.acquire(blocking=False):
    os.write(2, f"jaxrnn: error: {message}\n".encode())
    os._exit(EXIT_UNREACHABLE)
  time.sleep(3600)


_GIVING_UP = threading.Lock()


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

  timeout, coord = dist["timeout"], dist["coordinator"]
  deadline = time.monotonic() + timeout
  n, pid = dist["num_processes"], dist["process_id"]
  where = f"coordinator {coord}" if coord else "the coordinator JAX found for this cluster"
  if pid == 0:
    why = f"not all {n} processes joined the {where} (this is process 0, the coordinator)"
  else:
    who = "" if pid is None else f" (process {pid} of {n})"
    why = f"the {where} did not answer, or not every process joined{who}"
  unreachable = (
    f"could not reach coordinator {coord} within {timeout:g} s (is process 0 running "
    "there? --distributed-timeout sets the wait)"
  )
  joining = (
    f"distributed start-up gave up after {timeout:g} s: {why}; check that every "
    "process runs the same command, or raise --distributed-timeout"
  )
  # The watchdog alone ends a start-up that runs out of time, naming the phase.
  phase = {"message": unreachable if coord is not None and pid != 0 else joining}
  watchdog = threading.Timer(timeout, lambda: _give_up(phase["message"]))
  watchdog.daemon = True
  watchdog.start()
  try:
    if coord is not None:
      host, port = dist["host"], dist["port"]
      try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
      except (OSError, UnicodeError) as e:
        _give_up(f"cannot resolve the host of coordinator {coord}: {e}")
      while pid != 0:  # until connected, or the watchdog ends the process
        try:
          socket.create_connection((host, port), timeout=2.0).close()
          break
        except OSError:
          time.sleep(0.2)
    phase["message"] = joining
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


def run_config(exp, preset: str, overrides=(), *, seed: int | None = None, allow_large=False):
  """``(config, changes)`` of ``jaxrnn run NAME --preset PRESET --set ...``:
  the preset with the ``key=value`` strings ``overrides`` applied (a key
  given twice, or the seed given both as ``seed`` and in ``overrides``, is a
  ``ConfigError``) and validated, and the fields that differ from the preset
  other than the seed (``lab.config.changed_fields``)."""
  import dataclasses

  from jaxrnn.lab import config

  if preset not in exp.presets:
    raise config.ConfigError(
      f"{exp.name} has no preset {preset!r}; its presets: {', '.join(exp.presets)}"
    )
  base = exp.presets[preset]
  changes = config.parse_overrides(type(base), overrides)
  if seed is not None:
    if "seed" in changes:
      raise config.ConfigError("the seed is given twice (--seed and --set seed=); give it once")
    changes["seed"] = seed
  cfg = dataclasses.replace(base, **changes)
  config.validate_config(cfg, allow_large=allow_large)
  return cfg, config.changed_fields(cfg, base)


def run_dir(out, exp, preset: str, overrides=(), *, seed: int | None = None) -> Path:
  """The directory ``jaxrnn run`` writes for these arguments:
  ``OUT/NAME/PRESET`` when the overrides leave the preset as it is (the seed
  aside), else ``OUT/NAME/PRESET+set-HASH`` (``lab.config.run_name``)."""
  from jaxrnn.lab import config

  _, changed = run_config(exp, preset, overrides, seed=seed, allow_large=True)
  return Path(out) / exp.name / config.run_name(preset, changed)


def _run_one(exp, args, overrides) -> str:
  from jaxrnn import experiments
  from jaxrnn.lab import config

  cfg, changed = run_config(
    exp, args.preset, overrides, seed=args.seed, allow_large=args.allow_large
  )
  out_dir = args.out / exp.name / config.run_name(args.preset, changed)
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
    overrides=changed,
  )
  elapsed = time.perf_counter() - t0
  if writer:
    print(summary)
    print(f"\n[{exp.name}: {elapsed:.1f} s; results in {out_dir}]\n", flush=True)
  return summary if writer else None


# --------------------------------------------------------------------------
# Verdict tallies (`jaxrnn report`, the end of `jaxrnn reproduce`)


class _Run(NamedTuple):
  """The verdicts of one run directory, as ``lab.read_verdicts`` reads its
  summary; ``label`` names the run in tables."""

  label: str
  experiment: str
  variant: str
  rows: list


#: How the tables name the outcomes of ``lab.OUTCOMES``.
_OUTCOME_NAMES = {
  "yes": "holds",
  "no": "does not hold",
  "undecided": "undecided",
  "not testable at these sizes": "not testable at these sizes",
}


def _verdicts(summary: str) -> list:
  from jaxrnn import lab

  return lab.read_verdicts(summary)


def _bad_dir(message: str):
  from jaxrnn.lab import ConfigError

  return ConfigError(message)


def find_runs(root: Path) -> list[_Run]:
  """The runs in ``root``: ``root`` itself when it holds a ``summary.md``,
  else every directory below it that holds one (``old-*`` folders, where
  ``--fresh`` moved earlier runs, left out), in path order. The experiment
  is the one ``config.json`` names (else the parent folder's name, as in
  ``OUT/NAME/PRESET``). ``ConfigError`` for a missing directory, one with no
  run, or a summary that cannot be read."""
  import json

  root = Path(root)
  if not root.exists():
    raise _bad_dir(f"{root}: no such directory")
  if not root.is_dir():
    raise _bad_dir(f"{root} is not a directory (give a run directory or a results root)")
  if (root / "summary.md").is_file():
    paths = [root / "summary.md"]
  else:
    paths = sorted(
      p
      for p in root.rglob("summary.md")
      if p.is_file() and not any(part.startswith("old-") for part in p.relative_to(root).parts)
    )
  if not paths:
    raise _bad_dir(f"{root} holds no run (no summary.md in it or below it)")
  runs = []
  for path in paths:
    try:
      text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
      raise _bad_dir(f"{path} cannot be read ({e})") from None
    run = path.parent
    experiment = run.parent.name or run.name
    try:
      meta = json.loads((run / "config.json").read_text(encoding="utf-8"))
      if isinstance(meta, dict) and isinstance(meta.get("experiment"), str):
        experiment = meta["experiment"]
    except (OSError, UnicodeDecodeError, ValueError):
      pass  # a summary without a readable config.json: named by its folders
    label = run.relative_to(root).as_posix() if run != root else f"{experiment}/{run.name}"
    runs.append(_Run(label, experiment, run.name, _verdicts(text)))
  return runs


def _counts(rows) -> dict[str, int]:
  from jaxrnn import lab

  return lab.tally(rows)


def _tally_text(title: str, runs: list[_Run]) -> str:
  """A markdown table: per run and in total, how many paper claims and how
  many jaxrnn diagnostics have each outcome."""
  from jaxrnn import lab

  outcomes = list(lab.OUTCOMES)
  paper = [_counts([r for r in run.rows if r["paper"]]) for run in runs]
  diag = [_counts([r for r in run.rows if not r["paper"]]) for run in runs]
  for counts in paper + diag:  # an outcome read_verdicts found beyond OUTCOMES
    outcomes += [k for k in counts if k not in outcomes]
  diag_outcomes = [o for o in outcomes if any(c.get(o, 0) for c in diag) or o != lab.NOT_TESTABLE]
  header = (
    ["run"]
    + [f"paper: {_OUTCOME_NAMES.get(o, o)}" for o in outcomes]
    + [f"diagnostic: {_OUTCOME_NAMES.get(o, o)}" for o in diag_outcomes]
  )
  body = [
    [run.label] + [p.get(o, 0) for o in outcomes] + [d.get(o, 0) for o in diag_outcomes]
    for run, p, d in zip(runs, paper, diag)
  ]
  total = ["**total**"] + [sum(row[i] for row in body) for i in range(1, len(header))]
  n_paper = sum(sum(p.values()) for p in paper)
  n_diag = sum(sum(d.values()) for d in diag)
  return (
    f"## {title}\n\n{len(runs)} runs; {n_paper} verdicts on claims of the paper, {n_diag} jaxrnn "
    "diagnostics (hypotheses of ours).\n\n" + lab.markdown_table(header, body + [total]) + "\n"
  )


def _compare_text(roots: list[tuple[str, list[_Run]]], only_differences: bool) -> str:
  """A markdown table of the verdicts of several results roots side by side,
  matched by experiment and the claim tested (the k-th row with the same
  text matched to the k-th), with the rows whose outcomes differ flagged."""
  from jaxrnn import lab

  table: dict[tuple, dict] = {}
  for name, runs in roots:
    seen: dict[str, str] = {}
    for run in runs:
      if run.experiment in seen:
        raise _bad_dir(
          f"{name} holds two runs of {run.experiment} ({seen[run.experiment]}, {run.label}); "
          "to compare, give one directory per run set (e.g. OUT/NAME/PRESET)"
        )
      seen[run.experiment] = run.label
      occurrence: dict[str, int] = {}
      for row in run.rows:
        k = occurrence[row["claim"]] = occurrence.get(row["claim"], -1) + 1
        entry = table.setdefault(
          (run.experiment, row["claim"], k),
          {"kind": "paper" if row["paper"] else "diagnostic", "outcomes": {}},
        )
        entry["outcomes"][name] = row["holds"]
  names = [name for name, _ in roots]
  body, differ, partial = [], 0, 0
  for (experiment, claim, _), entry in table.items():
    got = entry["outcomes"]
    if len(got) < len(names):
      flag, partial = "missing in some", partial + 1
    elif len(set(got.values())) > 1:
      flag, differ = "**differs**", differ + 1
    else:
      flag = ""
    if only_differences and flag != "**differs**":
      continue
    cells = [_OUTCOME_NAMES.get(got[n], got[n]) if n in got else "—" for n in names]
    body.append([experiment, claim, entry["kind"], *cells, flag])
  head = (
    f"## Verdicts side by side\n\n{len(table)} verdicts matched by experiment and claim tested: "
    f"{differ} differ in outcome, {partial} are missing in some of the runs"
    + (" (only those that differ are listed)" if only_differences else "")
    + ". Rows are matched by their exact text, so a rule that names a size the runs do not "
    "share (such as the largest width) is listed once for each run, as missing in the other.\n\n"
  )
  header = ["experiment", "claim tested", "source", *names, "outcomes"]
  return head + lab.markdown_table(header, body) + "\n"


def _report(args) -> int:
  roots = [(str(d), find_runs(d)) for d in args.dirs]
  texts = [_tally_text(f"Verdicts in {name}", runs) for name, runs in roots]
  if len(roots) > 1:
    texts.append(_compare_text(roots, args.differences))
  elif args.differences:
    raise _bad_dir("--differences compares two or more DIRs; one was given")
  print("\n".join(texts), end="", flush=True)
  return 0


def _main(args, dist: dict | None) -> int:
  from jaxrnn import experiments

  if args.command == "list":
    for name, exp in experiments.registry().items():
      print(f"{name:24s} {exp.description}")
    return 0
  if args.command == "report":
    return _report(args)

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
      runs = []
      for exp in experiments.registry().values():
        summary = _run_one(exp, args, [])
        if summary is not None:
          runs.append(_Run(exp.name, exp.name, args.preset, _verdicts(summary)))
      if runs:
        print(_tally_text(f"Verdicts of this reproduce --preset {args.preset}", runs), flush=True)
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
  if args.command not in ("list", "report"):
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
