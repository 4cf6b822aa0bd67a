"""Where the quick presets' time goes: compiling against the rest, per experiment.

    python benchmarks/compile_time.py                  # every experiment, cold then warm cache
    python benchmarks/compile_time.py --only linearization,existence
    python benchmarks/compile_time.py --reproduce      # one `jaxrnn reproduce` process, twice
    python benchmarks/compile_time.py --runs 1 --no-cache   # without the persistent cache
    python benchmarks/compile_time.py --tiny           # linearization at tiny sizes (smoke test)

Each experiment's quick preset runs as ``jaxrnn run NAME --preset quick
--fresh --no-progress`` in its own process (``--reproduce``: all of them in
one ``jaxrnn reproduce`` process, the done criterion of the cache), started
by this script's worker mode: the worker registers ``jax.monitoring``
listeners, has JAX write every program it hands to XLA as text
(``JAX_DUMP_IR_TO``, debug information off), wraps
``jaxrnn.experiments.run_experiment`` so that what happens is booked to the
experiment running, and calls ``jaxrnn.cli.main``. Per experiment:

- **programs**: compile requests that reached XLA
  (``/jax/core/compile/backend_compile_duration`` events; a program found in
  JAX's in-memory caches is not one);
- **compiled**: programs less the persistent-cache hits
  (``/jax/compilation_cache/cache_hits``): what XLA compiled;
- **compile s**: the seconds of those events (XLA compiling, or reading the
  persistent cache on a hit); **compile CPU s**: the process's CPU seconds
  (all threads) during them, which other processes on the cores do not
  inflate (on a contended machine the figure to compare); **trace+lower s**: tracing to a jaxpr and
  lowering to StableHLO (``jaxpr_trace_duration``,
  ``jaxpr_to_mlir_module_duration``);
- **wall s**: the experiment's ``run_experiment`` call (every point, the
  report and its figures); **rest s**: wall less compile and trace+lower
  (running the programs, host work, the report);
- **largest program**: the longest StableHLO module JAX handed XLA, in lines
  (one operation a line; JAX's text before XLA optimizes it, so not XLA's
  optimized HLO), with its name; **slowest compile**: the module whose
  compilations took longest, summed over its compilations.

Cache: ``--runs 2`` (the default) runs everything twice with the same
persistent-cache directory, which is empty at the start (a temporary one, or
``--cache-dir``); the second run shows what a repeated run or a restarted
notebook compiles again (``jaxrnn.lab.cache``). ``--no-cache`` runs with
the cache off (``JAXRNN_COMPILATION_CACHE=0``).

Writes ``compile_time.json`` and ``compile_time.md`` to ``benchmarks/out``
(``BENCH_OUT_DIR``); prints the tables. ``benchmarks/accelerator.py`` runs
its experiments through the same worker and prints the same table.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

try:
  from benchmarks import _common as C
except ImportError:
  import _common as C

HERE = pathlib.Path(__file__).resolve().parent
PY = sys.executable

#: ``--set`` overrides that make ``linearization``'s quick preset tiny (a few
#: seconds on a CPU): the smoke tests of this script, ``accelerator.py
#: --tiny`` and ``gpu_gallery.py --tiny``. Keys follow the experiment's
#: config; edit here when they change.
TINY_LINEARIZATION = ("ms=8", "omegas=0.01,0.1", "num_seeds=2", "num_sequences=2", "L=4")

BACKEND_COMPILE = "/jax/core/compile/backend_compile_duration"
TRACE = "/jax/core/compile/jaxpr_trace_duration"
LOWER = "/jax/core/compile/jaxpr_to_mlir_module_duration"
CACHE_HIT = "/jax/compilation_cache/cache_hits"
CACHE_WRITE = "/jax/compilation_cache/cache_misses"  # recorded when an entry is written
OUTSIDE = "(outside any experiment)"

# ---------------------------------------------------------------------------
# The worker: python compile_time.py --worker OUT.json -- CLI ARGS...


def _new_stats() -> dict:
  return {
    "programs": 0,
    "cache_hits": 0,
    "cache_writes": 0,
    "compile_s": 0.0,
    "compile_cpu_s": 0.0,
    "trace_s": 0.0,
    "lower_s": 0.0,
    "wall_s": None,
    "by_module": {},  # name: [compilations, seconds]
    "hlo": {"modules": 0, "lines": 0, "largest": []},  # largest: [[name, lines, bytes]]
  }


_IR_NAME = re.compile(r"jax_ir\d+_(.*)_compile\.mlir$")


def _book_ir(stats: dict, dump_dir: pathlib.Path, keep: int = 3) -> None:
  """Counts the StableHLO modules dumped since the last call into ``stats``
  (their number, lines, the ``keep`` largest) and deletes them."""
  largest = [tuple(x) for x in stats["hlo"]["largest"]]
  for f in sorted(dump_dir.glob("*.mlir")):
    try:
      text = f.read_text(errors="replace")
      f.unlink()
    except OSError:
      continue
    m = _IR_NAME.match(f.name)
    name = m.group(1) if m else f.stem
    lines = text.count("\n")
    stats["hlo"]["modules"] += 1
    stats["hlo"]["lines"] += lines
    largest.append((name, lines, len(text.encode())))
  largest.sort(key=lambda x: -x[1])
  stats["hlo"]["largest"] = [list(x) for x in largest[:keep]]


def _count_compile_cpu(lock, stats) -> None:
  """Adds the process's CPU seconds (all threads) spent in XLA compiles
  (JAX's ``compile_or_get_cached``, which the backend-compile event times) to
  ``stats()["compile_cpu_s"]``: unlike the event's wall seconds, they do not
  grow when other processes share the cores. A private JAX function: where
  it is missing, the column stays 0."""
  try:
    from jax._src import compiler
  except ImportError:  # pragma: no cover - a JAX without it
    return
  real = getattr(compiler, "compile_or_get_cached", None)
  if real is None:  # pragma: no cover
    return

  def timed(*args, **kwargs):
    c0 = time.process_time()
    try:
      return real(*args, **kwargs)
    finally:
      with lock:
        stats()["compile_cpu_s"] += time.process_time() - c0

  compiler.compile_or_get_cached = timed


def worker(json_path: str, cli_args: list[str]) -> int:
  """Runs ``jaxrnn.cli.main(cli_args)`` with the listeners on; writes the
  figures per experiment to ``json_path``; returns the CLI's status."""
  dump_dir = pathlib.Path(tempfile.mkdtemp(prefix="jaxrnn-ir-"))
  os.environ["JAX_DUMP_IR_TO"] = str(dump_dir)
  os.environ["JAX_INCLUDE_DEBUG_INFO_IN_DUMPS"] = "0"
  t_start = time.perf_counter()
  import jax

  lock = threading.Lock()
  per: dict[str, dict] = {}
  current = [OUTSIDE]

  def stats() -> dict:
    return per.setdefault(current[0], _new_stats())

  def on_event(event, **kwargs):
    with lock:
      if event == CACHE_HIT:
        stats()["cache_hits"] += 1
      elif event == CACHE_WRITE:
        stats()["cache_writes"] += 1

  def on_duration(event, duration, **kwargs):
    with lock:
      s = stats()
      if event == BACKEND_COMPILE:
        s["programs"] += 1
        s["compile_s"] += duration
        name = str(kwargs.get("fun_name", "?"))
        entry = s["by_module"].setdefault(name, [0, 0.0])
        entry[0] += 1
        entry[1] += duration
      elif event == TRACE:
        s["trace_s"] += duration
      elif event == LOWER:
        s["lower_s"] += duration

  jax.monitoring.register_event_listener(on_event)
  jax.monitoring.register_event_duration_secs_listener(on_duration)
  _count_compile_cpu(lock, stats)
  from jaxrnn import cli, experiments

  real = experiments.run_experiment

  def booked(exp, *args, **kwargs):
    with lock:
      _book_ir(stats(), dump_dir)
      current[0] = exp.name
      per.setdefault(exp.name, _new_stats())
    t0 = time.perf_counter()
    try:
      return real(exp, *args, **kwargs)
    finally:
      with lock:
        s = stats()
        s["wall_s"] = (s["wall_s"] or 0.0) + time.perf_counter() - t0
        _book_ir(s, dump_dir)
        current[0] = OUTSIDE

  experiments.run_experiment = booked
  t_cli = time.perf_counter()
  status = None  # the CLI raised
  try:
    status = cli.main(cli_args)
  finally:
    experiments.run_experiment = real
    with lock:
      _book_ir(stats(), dump_dir)
    shutil.rmtree(dump_dir, ignore_errors=True)
    for s in per.values():
      top = sorted(s["by_module"].items(), key=lambda kv: -kv[1][1])[:5]
      s["by_module"] = {k: [n, round(sec, 3)] for k, (n, sec) in top}
    payload = {
      "status": status,
      "argv": cli_args,
      "import_s": round(t_cli - t_start, 2),
      "cli_s": round(time.perf_counter() - t_cli, 2),
      "cache_dir": jax.config.jax_compilation_cache_dir,
      "experiments": per,
    }
    pathlib.Path(json_path).write_text(json.dumps(payload, indent=1))
  return status


def worker_command(json_path, cli_args: list[str]) -> list[str]:
  """argv of a worker process that runs ``jaxrnn CLI_ARGS`` and writes its
  figures to ``json_path``."""
  return [PY, str(HERE / "compile_time.py"), "--worker", str(json_path), "--", *cli_args]


# ---------------------------------------------------------------------------
# Tables.


def read(json_path) -> dict | None:
  """A worker's JSON, or ``None`` (the worker was stopped or crashed)."""
  try:
    return json.loads(pathlib.Path(json_path).read_text())
  except (OSError, ValueError):
    return None


def by_experiment(worker_json: dict | None, name: str | None = None) -> dict[str, dict]:
  """``{experiment: figures}`` of one worker; the events outside any
  experiment (imports, the CLI's own programs) are added to the one
  experiment of a ``run`` (``name``), else kept under their own label when
  there are any."""
  if not worker_json:
    return {}
  per = dict(worker_json.get("experiments", {}))
  outside = per.pop(OUTSIDE, None)
  if outside and name and name in per:
    per[name] = _merge(per[name], outside)
  elif outside and outside["programs"]:
    per[OUTSIDE] = outside
  return per


def _merge(a: dict, b: dict) -> dict:
  out = dict(a)
  for k in ("programs", "cache_hits", "cache_writes", "compile_s", "trace_s", "lower_s"):
    out[k] = a[k] + b[k]
  out["compile_cpu_s"] = a.get("compile_cpu_s", 0.0) + b.get("compile_cpu_s", 0.0)
  mods = dict(a["by_module"])
  for k, (n, s) in b["by_module"].items():
    n0, s0 = mods.get(k, (0, 0.0))
    mods[k] = [n0 + n, s0 + s]
  out["by_module"] = mods
  largest = sorted(a["hlo"]["largest"] + b["hlo"]["largest"], key=lambda x: -x[1])[:3]
  out["hlo"] = {
    "modules": a["hlo"]["modules"] + b["hlo"]["modules"],
    "lines": a["hlo"]["lines"] + b["hlo"]["lines"],
    "largest": largest,
  }
  return out


def summary_row(s: dict) -> dict:
  """The table's numbers of one experiment's figures."""
  compiled = s["programs"] - s["cache_hits"]
  tl = s["trace_s"] + s["lower_s"]
  wall = s["wall_s"]
  rest = None if wall is None else wall - s["compile_s"] - tl
  largest = s["hlo"]["largest"]
  slow = max(s["by_module"].items(), key=lambda kv: kv[1][1], default=None)
  return {
    "programs": s["programs"],
    "compiled": compiled,
    "cache_hits": s["cache_hits"],
    "compile_s": s["compile_s"],
    "compile_cpu_s": s.get("compile_cpu_s", 0.0),
    "trace_lower_s": tl,
    "rest_s": rest,
    "wall_s": wall,
    "hlo_lines_total": s["hlo"]["lines"],
    "largest": largest[0] if largest else None,
    "slowest": [slow[0], slow[1][0], slow[1][1]] if slow else None,
  }


def _f(x, digits: int = 1) -> str:
  return "—" if x is None else f"{x:.{digits}f}"


def compile_table(rows: dict[str, dict]) -> str:
  """The markdown table of ``{experiment: summary_row}`` with a total row."""
  header = [
    "experiment",
    "programs",
    "compiled",
    "cache hits",
    "compile s",
    "compile CPU s",
    "trace+lower s",
    "rest s",
    "wall s",
    "largest program (StableHLO lines)",
    "slowest compile (module: count, s)",
  ]
  out = []
  for name, r in rows.items():
    big, slow = r["largest"], r["slowest"]
    out.append(
      [
        name,
        str(r["programs"]),
        str(r["compiled"]),
        str(r["cache_hits"]),
        _f(r["compile_s"]),
        _f(r.get("compile_cpu_s")),
        _f(r["trace_lower_s"]),
        _f(r["rest_s"]),
        _f(r["wall_s"]),
        f"{big[0]}: {big[1]}" if big else "—",
        f"{slow[0]}: {slow[1]}, {slow[2]:.1f}" if slow else "—",
      ]
    )
  if len(rows) > 1:
    tot = lambda k: sum(r[k] or 0 for r in rows.values())
    out.append(
      [
        "**total**",
        str(tot("programs")),
        str(tot("compiled")),
        str(tot("cache_hits")),
        _f(tot("compile_s")),
        _f(tot("compile_cpu_s")),
        _f(tot("trace_lower_s")),
        _f(tot("rest_s")),
        _f(tot("wall_s")),
        "",
        "",
      ]
    )
  return C.table(header, out)


def cache_table(first: dict[str, dict], second: dict[str, dict]) -> str:
  """First run (empty cache) against the second (same cache), per experiment."""
  header = [
    "experiment",
    "1st: compiled",
    "1st: compile s",
    "1st: wall s",
    "2nd: compiled",
    "2nd: cache hits",
    "2nd: compile s",
    "2nd: wall s",
  ]
  out = []
  names = [n for n in first if n in second]
  for n in names:
    a, b = first[n], second[n]
    out.append(
      [
        n,
        str(a["compiled"]),
        _f(a["compile_s"]),
        _f(a["wall_s"]),
        str(b["compiled"]),
        str(b["cache_hits"]),
        _f(b["compile_s"]),
        _f(b["wall_s"]),
      ]
    )
  if len(names) > 1:
    t = lambda rows, k: sum(rows[n][k] or 0 for n in names)
    out.append(
      [
        "**total**",
        str(t(first, "compiled")),
        _f(t(first, "compile_s")),
        _f(t(first, "wall_s")),
        str(t(second, "compiled")),
        str(t(second, "cache_hits")),
        _f(t(second, "compile_s")),
        _f(t(second, "wall_s")),
      ]
    )
  return C.table(header, out)


# ---------------------------------------------------------------------------
# The parent.


def experiment_names(env: dict) -> list[str]:
  """The experiments, as ``jaxrnn list`` names them (asked in a child
  process: JAX stays out of this one)."""
  out = subprocess.run(
    [PY, "-m", "jaxrnn", "list"],
    cwd=str(C.REPO),
    env=env,
    capture_output=True,
    text=True,
    timeout=300,
    check=True,
  ).stdout
  return [line.split()[0] for line in out.splitlines() if line.strip()]


def _run(argv: list[str], env: dict, timeout: float, log: pathlib.Path) -> tuple[str, float]:
  t0 = time.perf_counter()
  with open(log, "w") as f:
    proc = subprocess.Popen(
      argv, cwd=str(C.REPO), env=env, stdout=f, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
      rc = proc.wait(timeout=timeout)
      status = "ok" if rc == 0 else f"exit {rc}"
    except subprocess.TimeoutExpired:
      os.killpg(proc.pid, 9)
      proc.wait()
      status = "timed out"
  return status, time.perf_counter() - t0


def main(argv=None) -> int:
  argv = list(sys.argv[1:] if argv is None else argv)
  if argv[:1] == ["--worker"]:
    if len(argv) < 3 or argv[2] != "--":
      sys.exit("usage: compile_time.py --worker OUT.json -- CLI ARGS...")
    return worker(argv[1], argv[3:])
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--only", default="", help="comma-separated experiments (default: all)")
  ap.add_argument("--runs", type=int, default=2, help="runs with the same cache (default 2)")
  ap.add_argument("--reproduce", action="store_true", help="one `jaxrnn reproduce` process a run")
  ap.add_argument("--cache-dir", type=pathlib.Path, default=None, help="default: a new temp dir")
  ap.add_argument("--no-cache", action="store_true", help="the persistent cache off")
  ap.add_argument("--tiny", action="store_true", help="linearization at tiny sizes")
  ap.add_argument("--timeout", type=float, default=1800, help="seconds per process")
  ap.add_argument("--runs-dir", type=pathlib.Path, default=None, help="keep the runs' records here")
  ap.add_argument("--out", default="compile_time", help="name of the JSON / markdown files")
  args = ap.parse_args(argv)
  if args.runs < 1:
    ap.error(f"--runs must be at least 1, got {args.runs}")
  env = dict(os.environ)
  env["PYTHONPATH"] = os.pathsep.join([str(C.REPO), env.get("PYTHONPATH", "")])
  for k in ("JAX_COMPILATION_CACHE_DIR", "JAXRNN_COMPILATION_CACHE"):
    env.pop(k, None)  # this script decides (the benchmarks' setup set the first)
  tmp = pathlib.Path(tempfile.mkdtemp(prefix="jaxrnn-compile-time-"))
  if args.no_cache:
    env["JAXRNN_COMPILATION_CACHE"] = "0"
    cache = None
  else:
    cache = (args.cache_dir or tmp / "cache").resolve()
    env["JAXRNN_COMPILATION_CACHE_DIR"] = str(cache)
  names = ["linearization"] if args.tiny else [n for n in args.only.split(",") if n]
  names = names or experiment_names(env)
  extra = [a for kv in TINY_LINEARIZATION for a in ("--set", kv)] if args.tiny else []
  runs_root = (args.runs_dir or tmp / "runs").resolve()
  load_start = C.loadavg()
  t_start = time.perf_counter()
  results = []  # per run: {"rows": {name: summary_row}, "processes": {...}}
  try:
    for r in range(args.runs):
      rows, procs = {}, {}
      jobs = (
        {"reproduce": ["reproduce"]} if args.reproduce else {n: ["run", n, *extra] for n in names}
      )
      for label, cmd in jobs.items():
        cli = cmd + ["--preset", "quick", "--out", str(runs_root), "--fresh", "--no-progress"]
        js = tmp / f"run{r + 1}-{label}.json"
        log = tmp / f"run{r + 1}-{label}.log"
        print(f"[compile_time] run {r + 1}: jaxrnn {' '.join(cli)}", file=sys.stderr, flush=True)
        status, secs = _run(worker_command(js, cli), env, args.timeout, log)
        w = read(js)
        if status != "ok":
          tail = log.read_text(errors="replace")[-2000:]
          print(f"[compile_time] {label}: {status}\n{tail}", file=sys.stderr, flush=True)
        procs[label] = {
          "status": status,
          "process_s": round(secs, 1),
          "import_s": w and w["import_s"],
          "cache_dir": w and w["cache_dir"],
        }
        for n, s in by_experiment(w, None if args.reproduce else label).items():
          rows[n] = summary_row(s)
      print(compile_table(rows), file=sys.stderr, flush=True)
      results.append({"rows": rows, "processes": procs})
  finally:
    cache_files = len(list(cache.glob("*-cache"))) if cache and cache.exists() else 0
    cache_bytes = sum(f.stat().st_size for f in cache.glob("*-cache")) if cache_files else 0
    if args.cache_dir is None:
      shutil.rmtree(tmp, ignore_errors=True)
  total = time.perf_counter() - t_start
  report = render(results, args, total, load_start, cache_files, cache_bytes)
  C.write_json(
    args.out,
    {
      "runs": results,
      "reproduce": args.reproduce,
      "cache": None if args.no_cache else "empty at the start",
      "cache_entries": cache_files,
      "cache_bytes": cache_bytes,
      "total_seconds": round(total, 1),
      "loadavg_start": load_start,
      "loadavg_end": C.loadavg(),
      "report": report,
    },
  )
  (C.OUT_DIR / f"{args.out}.md").write_text(report + "\n")
  print(report)
  print(f"\nwrote {C.shown(C.OUT_DIR / (args.out + '.json'))} and the .md beside it")
  ok = all(p["status"] == "ok" for res in results for p in res["processes"].values())
  return 0 if ok else 1


def render(results, args, total, load_start, cache_files, cache_bytes) -> str:
  how = (
    "one `jaxrnn reproduce --preset quick` process"
    if args.reproduce
    else ("each experiment's quick preset in its own `jaxrnn run` process")
  )
  cache = (
    "persistent cache off"
    if args.no_cache
    else f"persistent cache empty at the start; {cache_files} entries, "
    f"{cache_bytes / 1e6:.1f} MB after the runs"
  )
  lines = [
    f"Compile time ({how}{', tiny sizes' if args.tiny else ''}; {cache}); "
    f"{total:.0f} s in all, load average {load_start} at the start, {C.loadavg()} at the end.",
    "",
    "First run:",
    "",
    compile_table(results[0]["rows"]),
  ]
  if len(results) > 1:
    lines += [
      "",
      "Second run, the same cache directory:" if not args.no_cache else "Second run:",
      "",
      compile_table(results[1]["rows"]),
      "",
      cache_table(results[0]["rows"], results[1]["rows"]),
    ]
  bad = [
    f"run {i + 1} {label}: {p['status']}"
    for i, res in enumerate(results)
    for label, p in res["processes"].items()
    if p["status"] != "ok"
  ]
  if bad:
    lines += ["", "Not finished: " + "; ".join(bad) + "."]
  return "\n".join(lines)


if __name__ == "__main__":
  sys.exit(main())
