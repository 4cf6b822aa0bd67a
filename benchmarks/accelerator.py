"""One command for an accelerator: the device, the benchmarks, every quick experiment.

    python benchmarks/accelerator.py               # on a GPU: within ~8 minutes
    python benchmarks/accelerator.py --tiny        # a tiny workload (CPU smoke test, < 1 min)
    python benchmarks/accelerator.py --out-dir DIR # where the JSON, markdown and runs go

Steps, each in its own process (so that each library's memory and threads
are its own, and JAX in this parent never claims the accelerator), each with
a time limit; a step that fails or runs out of time is recorded with the
tail of its output and the next one runs:

1. **device**: ``jax.devices()``, the platform, memory, and whether PyTorch
   sees ``cuda`` and cuDNN.
2. **precision**: ``benchmarks/precision.py`` (what JAX's default float32
   matmul precision does to the forward pass and to the pseudo-network's
   Taylor remainder, against "highest" and NumPy float64).
3. **peers**: ``benchmarks/peers.py --quick`` (jaxrnn against PyTorch; on
   ``cuda`` PyTorch's ``nn.RNN`` runs through cuDNN; without PyTorch,
   ``--no-torch``).
4. **sweeps**: ``benchmarks/sweeps.py --quick --no-shard --no-first-call``
   (``jaxrnn.sweep`` against a loop of jitted runs; the simulated-CPU-device
   table is left out, it says nothing on an accelerator, and so is the
   first-call table, a process a point, to keep within the budget).
5. **kernel**: the empirical-NTK benchmark: ``benchmarks/scaling.py --only
   ntk --quick`` where ``scaling.py`` has it, else
   ``benchmarks/peers_ntk.py --quick --skip-nvp`` where that file exists (it
   needs its own neural-tangents environment; see its docstring), else
   skipped with a note.
6. **experiments**: ``python -m jaxrnn reproduce --preset quick --out
   DIR/runs`` (every experiment's quick preset; the time of each is read from
   the CLI's output). With ``--jobs N > 1`` (the default on an accelerator:
   half the host's cores, at most one per experiment) each experiment runs
   as its own ``jaxrnn run NAME`` process instead, N at a time, its output in
   ``DIR/experiment-logs/NAME.log``, each process allowed ``0.75 / N`` of the
   accelerator's memory (``XLA_PYTHON_CLIENT_MEM_FRACTION``, unless set). Why:
   on an H100 the quick presets were compile-bound (60 s for one program,
   ``benchmarks/RESULTS.md``), and an experiment compiles its programs one
   after another, so experiments side by side compile side by side on a
   many-core host. Not yet measured on a GPU. On 2 CPU cores: ``--jobs 2``
   finished all ten in 256 s; ``--jobs 1`` ran out of the step's 300 s with
   nine done (``languages`` had 17 of its 21 points).
   Every experiment process is ``benchmarks/compile_time.py``'s worker
   around the CLI, so the step also reports, per experiment, the programs
   compiled, the seconds spent compiling and the rest, persistent-cache hits
   and the largest program (the markdown's ``## compile`` table; JSON per
   process in ``DIR/compile/``). Like the ``jaxrnn`` program, the step uses
   the persistent compilation cache (``jaxrnn.lab.cache``): a second check on
   the same machine reads its programs from there (the table's cache hits);
   ``JAXRNN_COMPILATION_CACHE=0`` measures cold compilation.

``--budget SECONDS`` caps the whole run (default 480 s on an accelerator, the
issue's 8 minutes; none with ``--tiny``): each step's limit is the smaller of
its own and what is left of the budget (the device probe always runs), and a
step with under 10 s left is recorded as skipped. A step out of time is
stopped with every process it started. The JSON and markdown are rewritten
after every step (``"complete": false`` until the last), so a run killed
from outside keeps what it measured.

``--tiny`` runs the same steps with tiny sizes (precision: ``--tiny``; peers: the small workload,
one round; sweeps: ``--tiny``; kernel: skipped; experiments: one tiny
``linearization`` run), so that the script is known to work before an
accelerator is at hand (``tests/tools/test_accelerator.py``). Installs nothing.

Writes ``DIR/accelerator.json`` (everything, with each benchmark's own JSON
inside) and ``DIR/accelerator.md`` (the tables); ``DIR`` defaults to
``benchmarks/out``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

try:
  from benchmarks import _common as C
  from benchmarks import compile_time as CT
except ImportError:
  import _common as C
  import compile_time as CT

HERE = pathlib.Path(__file__).resolve().parent
PY = sys.executable

DEVICE_PROBE = r"""
import json, jax
devs = jax.devices()
d = devs[0]
info = {"platform": d.platform, "device_kind": getattr(d, "device_kind", ""),
        "devices": [str(x) for x in devs], "num_devices": len(devs),
        "jax": jax.__version__}
try:
  stats = d.memory_stats() or {}
  info["memory_bytes_limit"] = stats.get("bytes_limit")
except Exception:
  pass
try:
  import torch
  info["torch"] = torch.__version__
  info["torch_cuda"] = bool(torch.cuda.is_available())
  if info["torch_cuda"]:
    info["torch_device"] = torch.cuda.get_device_name(0)
    info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
except ImportError:
  info["torch"] = None
print("DEVICE " + json.dumps(info))
"""

# Seconds per step: (full run on an accelerator, --tiny).
DEFAULT_BUDGET_S = 480  # the whole run on an accelerator: 8 minutes
MIN_STEP_S = 10  # a step with less time left than this is skipped
LIMITS = {
  "device": (120, 120),
  "precision": (60, 120),
  "peers": (150, 240),
  "sweeps": (150, 240),
  "kernel": (120, 60),
  "experiments": (300, 300),
}


def run_step(name: str, argv: list[str], limit: float, env: dict) -> dict:
  """Runs one step; returns its status, seconds, exit code and output tail."""
  print(
    f"[accelerator] {name}: {' '.join(argv)} (limit {limit:.0f} s)", file=sys.stderr, flush=True
  )
  t0 = time.perf_counter()
  # Its own process group, so that a step out of time is stopped with the
  # workers it started (peers.py and sweeps.py time each library in a child).
  proc = subprocess.Popen(
    argv,
    cwd=str(C.REPO),
    env=env,
    stdout=subprocess.PIPE,
    stderr=subprocess.STDOUT,
    text=True,
    start_new_session=True,
  )
  try:
    out, _ = proc.communicate(timeout=max(limit, 1))
    rc = proc.returncode
    status = "ok" if rc == 0 else "failed"
  except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate()
    rc, status = None, "timed out"
  out = out or ""
  seconds = time.perf_counter() - t0
  print(f"[accelerator] {name}: {status} in {seconds:.0f} s", file=sys.stderr, flush=True)
  return {
    "status": status,
    "seconds": round(seconds, 1),
    "exit_code": rc,
    "command": " ".join(
      os.path.relpath(a, C.REPO) if a.startswith(str(C.REPO)) else a for a in argv
    ),
    "output_tail": out[-4000:],
    "_output": out,
  }


def run_parallel(
  name: str, commands: dict[str, list[str]], jobs: int, limit: float, env: dict, log_dir
) -> dict:
  """Runs ``commands`` ({label: argv}), ``jobs`` at a time, in the order
  given, each in its own process group with its output in
  ``log_dir/LABEL.log``, all within ``limit`` seconds: at the limit every
  running command is stopped with its processes, and those not yet started
  are recorded as such. Returns the step's record (as ``run_step``) with
  ``runs``: each command's status, seconds and exit code."""
  log_dir = pathlib.Path(log_dir)
  log_dir.mkdir(parents=True, exist_ok=True)
  print(
    f"[accelerator] {name}: {len(commands)} commands, {jobs} at a time (limit {limit:.0f} s)",
    file=sys.stderr,
    flush=True,
  )
  t0 = time.perf_counter()
  pending = list(commands.items())
  running: dict[str, tuple] = {}
  runs: dict[str, dict] = {}

  def finish(label, status, rc):
    proc, log, started = running.pop(label)
    log.close()
    runs[label] = {
      "status": status,
      "seconds": round(time.perf_counter() - started, 1),
      "exit_code": rc,
    }

  while pending or running:
    while pending and len(running) < jobs:
      label, argv = pending.pop(0)
      log = open(log_dir / f"{label}.log", "w")
      proc = subprocess.Popen(
        argv, cwd=str(C.REPO), env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
      )
      running[label] = (proc, log, time.perf_counter())
    for label in list(running):
      rc = running[label][0].poll()
      if rc is not None:
        finish(label, "ok" if rc == 0 else "failed", rc)
    if time.perf_counter() - t0 > limit:
      for label in list(running):
        proc = running[label][0]
        try:
          os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
          pass
        proc.wait()
        finish(label, "timed out", None)
      for label, _ in pending:
        runs[label] = {"status": "not started", "seconds": 0.0, "exit_code": None}
      pending = []
    time.sleep(0.1)
  seconds = time.perf_counter() - t0
  statuses = {r["status"] for r in runs.values()}
  if statuses <= {"ok"}:
    status = "ok"
  elif statuses & {"timed out", "not started"}:
    status = "timed out"
  else:
    status = "failed"
  logs = [log_dir / f"{label}.log" for label in commands if runs[label]["status"] != "not started"]
  out = "".join(log.read_text(errors="replace") for log in logs)
  print(f"[accelerator] {name}: {status} in {seconds:.0f} s", file=sys.stderr, flush=True)
  first = next(iter(commands.values()), [])
  return {
    "status": status,
    "seconds": round(seconds, 1),
    # the first failure's (a process killed by a signal has a negative code)
    "exit_code": next((r["exit_code"] for r in runs.values() if r["exit_code"]), 0),
    "command": f"{jobs} at a time: "
    + " ".join(os.path.relpath(a, C.REPO) if a.startswith(str(C.REPO)) else a for a in first)
    + (f" ... ({len(commands)} commands)" if len(commands) > 1 else ""),
    "jobs": jobs,
    "runs": runs,
    "output_tail": out[-4000:],
    "_output": out,
  }


def _load(path: pathlib.Path):
  try:
    return json.loads(path.read_text())
  except (OSError, ValueError):
    return None


def _has_option(script: pathlib.Path, text: str, env: dict) -> bool:
  try:
    out = subprocess.run(
      [PY, str(script), "--help"],
      cwd=str(C.REPO),
      env=env,
      capture_output=True,
      text=True,
      timeout=120,
    ).stdout
  except (OSError, subprocess.TimeoutExpired):
    return False
  return text in out


def main(argv=None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  ap.add_argument("--tiny", action="store_true", help="tiny sizes (a CPU smoke test)")
  ap.add_argument("--out-dir", type=pathlib.Path, default=None, help="default benchmarks/out")
  ap.add_argument(
    "--budget",
    type=float,
    default=None,
    help="seconds for the whole run (default 480 on an accelerator, none with --tiny)",
  )
  ap.add_argument(
    "--skip",
    default="",
    help="comma-separated steps to leave out (precision,peers,sweeps,kernel,experiments)",
  )
  ap.add_argument(
    "--jobs",
    type=int,
    default=None,
    help="experiments run at once, each in its own process (default: 1 on a CPU; on an "
    "accelerator half the host's cores, at most one per experiment)",
  )
  args = ap.parse_args(argv)
  if args.jobs is not None and args.jobs < 1:
    ap.error(f"--jobs must be a positive int, got {args.jobs}")
  out_dir = (args.out_dir or HERE / "out").resolve()
  out_dir.mkdir(parents=True, exist_ok=True)
  skip = {s for s in args.skip.split(",") if s}
  tiny = args.tiny
  env = dict(os.environ)
  env["BENCH_OUT_DIR"] = str(out_dir)  # the benchmarks' JSON files go here
  env["PYTHONPATH"] = os.pathsep.join([str(C.REPO), env.get("PYTHONPATH", "")])
  load_start = C.loadavg()
  t_start = time.perf_counter()
  budget = args.budget
  steps: dict[str, dict] = {}
  device: dict = {}

  def limit(step: str) -> float:
    own = LIMITS[step][1 if tiny else 0]
    if budget is None:
      return own
    return min(own, budget - (time.perf_counter() - t_start))

  def out_of_time(step: str) -> bool:
    if limit(step) >= MIN_STEP_S:
      return False
    steps[step] = {"status": "skipped", "note": f"the {budget:.0f} s budget was spent"}
    return True

  def write(complete: bool) -> str:
    """Writes the JSON and the markdown as they stand (after every step)."""
    total = time.perf_counter() - t_start
    kept = {n: {k: v for k, v in st.items() if k != "_output"} for n, st in steps.items()}
    report = render(device, kept, total, tiny, load_start)
    payload = {
      "command": " ".join(
        ["benchmarks/accelerator.py"] + (argv if argv is not None else sys.argv[1:])
      ),
      "machine": C.machine(),
      "tiny": tiny,
      "complete": complete,
      "budget_seconds": budget,
      "device": device,
      "on_accelerator": device.get("platform") not in (None, "cpu"),
      "total_seconds": round(total, 1),
      "loadavg_start": load_start,
      "loadavg_end": C.loadavg(),
      "steps": kept,
      "report": report,
    }
    (out_dir / "accelerator.json").write_text(json.dumps(payload, indent=1))
    (out_dir / "accelerator.md").write_text(report + "\n")
    return report

  # 1. the device
  st = run_step("device", [PY, "-c", DEVICE_PROBE], LIMITS["device"][1 if tiny else 0], env)
  st["command"] = "python -c DEVICE_PROBE (benchmarks/accelerator.py)"  # one line in the table
  m = re.search(r"^DEVICE (.*)$", st["_output"], re.M)
  device.update(json.loads(m.group(1)) if m else {})
  st["device"] = device
  steps["device"] = st
  if budget is None and not tiny and device.get("platform") not in (None, "cpu"):
    budget = DEFAULT_BUDGET_S
  print(
    f"[accelerator] device: {device.get('platform')} {device.get('device_kind')} "
    f"x{device.get('num_devices')}; torch {device.get('torch')} cuda={device.get('torch_cuda')}",
    file=sys.stderr,
    flush=True,
  )
  write(complete=False)
  have_torch = device.get("torch") is not None

  # 2. precision
  if "precision" not in skip and not out_of_time("precision"):
    cmd = [PY, str(HERE / "precision.py"), "--out", "accel_precision"]
    cmd += ["--tiny"] if tiny else []
    st = run_step("precision", cmd, limit("precision"), env)
    st["result"] = _load(out_dir / "accel_precision.json")
    steps["precision"] = st

  # 3. peers
  write(complete=False)
  if "peers" not in skip and not out_of_time("peers"):
    cmd = [PY, str(HERE / "peers.py"), "--out", "accel_peers"]
    cmd += (
      ["--workloads", "small", "--rounds", "1", "--min-sample", "0.01"] if tiny else ["--quick"]
    )
    if not have_torch:
      cmd.append("--no-torch")
    st = run_step("peers", cmd, limit("peers"), env)
    st["result"] = _load(out_dir / "accel_peers.json")
    if not have_torch:
      st["note"] = "PyTorch is not installed: jaxrnn timed alone"
    steps["peers"] = st

  # 4. sweeps
  write(complete=False)
  if "sweeps" not in skip and not out_of_time("sweeps"):
    cmd = [PY, str(HERE / "sweeps.py"), "--out", "accel_sweeps", "--no-shard"]
    cmd += ["--tiny"] if tiny else ["--quick", "--no-first-call"]  # first calls: compile-bound
    st = run_step("sweeps", cmd, limit("sweeps"), env)
    st["result"] = _load(out_dir / "accel_sweeps.json")
    steps["sweeps"] = st

  # 5. the kernel benchmark (written by another issue; used where present)
  write(complete=False)
  if "kernel" not in skip and (tiny or not out_of_time("kernel")):
    scaling, peers_ntk = HERE / "scaling.py", HERE / "peers_ntk.py"
    if tiny:
      steps["kernel"] = {"status": "skipped", "note": "--tiny: the NTK benchmark has no tiny size"}
    elif scaling.exists() and _has_option(scaling, "ntk", env):
      st = run_step("kernel", [PY, str(scaling), "--only", "ntk", "--quick"], limit("kernel"), env)
      st["result"] = _load(out_dir / "scaling_ntk.json")
      steps["kernel"] = st
    elif peers_ntk.exists():
      st = run_step("kernel", [PY, str(peers_ntk), "--quick", "--skip-nvp"], limit("kernel"), env)
      st["result"] = _load(out_dir / "peers_ntk.json")
      steps["kernel"] = st
    else:
      steps["kernel"] = {
        "status": "skipped",
        "note": "neither benchmarks/scaling.py --only ntk nor benchmarks/peers_ntk.py exists",
      }

  # 6. the experiments
  write(complete=False)
  if "experiments" not in skip and not out_of_time("experiments"):
    runs = out_dir / "runs"
    # Every experiment process is compile_time.py's worker: the CLI itself,
    # with its compilations counted (the compile table below).
    compile_dir = out_dir / "compile"
    compile_dir.mkdir(exist_ok=True)
    for stale in compile_dir.glob("*.json"):
      stale.unlink()
    common = ["--preset", "quick", "--out", str(runs), "--fresh", "--no-progress"]
    if tiny:
      cli = ["run", "linearization", *common]
      for kv in CT.TINY_LINEARIZATION:
        cli += ["--set", kv]
      cmd = CT.worker_command(compile_dir / "linearization.json", cli)
    else:
      cmd = CT.worker_command(compile_dir / "reproduce.json", ["reproduce", *common])
    on_accel = device.get("platform") not in (None, "cpu")
    jobs = args.jobs or (max(1, (os.cpu_count() or 1) // 2) if on_accel else 1)
    names = [] if tiny or jobs == 1 else CT.experiment_names(env)
    jobs = min(jobs, max(1, len(names)))
    if jobs == 1:
      st = run_step("experiments", cmd, limit("experiments"), env)
      st["jobs"] = 1
    else:
      commands = {
        n: CT.worker_command(compile_dir / f"{n}.json", ["run", n, *common]) for n in names
      }
      st = run_parallel(
        "experiments",
        commands,
        jobs,
        limit("experiments"),
        _shared_env(env, jobs),
        out_dir / "experiment-logs",
      )
    st["experiments"] = [
      {"name": n, "seconds": float(s)}
      for n, s in re.findall(r"^\[(\w+): ([0-9.]+) s; results in", st["_output"], re.M)
    ]
    # Points stored per experiment, finished or not (a run stopped by its
    # time limit keeps every completed point).
    st["records"] = {
      f.parent.parent.name: sum(1 for line in f.read_text().splitlines() if line.strip())
      for f in sorted(runs.glob("*/*/results.jsonl"))
    }
    # Compilations per experiment (a worker stopped by the limit wrote none).
    st["compile"] = {}
    for js in sorted(compile_dir.glob("*.json")):
      label = js.stem
      for n, s in CT.by_experiment(CT.read(js), None if label == "reproduce" else label).items():
        st["compile"][n] = CT.summary_row(s)
    steps["experiments"] = st

  report = write(complete=True)
  print(report)
  print(f"\nwrote {out_dir / 'accelerator.json'} and {out_dir / 'accelerator.md'}")
  return 0 if all(s["status"] in ("ok", "skipped") for s in steps.values()) else 1


def _shared_env(env: dict, jobs: int) -> dict:
  """The environment of ``jobs`` experiment processes sharing one host and
  one accelerator: each may take ``0.75 / jobs`` of the accelerator's memory
  (JAX's default is 0.75 for one process; the sweeps' memory guard then sees
  that share). A setting the caller made is kept."""
  env = dict(env)
  if not any(
    k in env
    for k in (
      "XLA_PYTHON_CLIENT_PREALLOCATE",
      "XLA_PYTHON_CLIENT_MEM_FRACTION",
      "XLA_PYTHON_CLIENT_ALLOCATOR",
    )
  ):
    env["XLA_PYTHON_CLIENT_MEM_FRACTION"] = f"{0.75 / jobs:.3f}"
  return env


def _figures(name: str, st: dict) -> str:
  """The few numbers a reader wants from a step, for the summary table."""
  res = st.get("result") or {}
  if name == "device":
    d = st.get("device", {})
    return f"{d.get('platform')} {d.get('device_kind')} x{d.get('num_devices')}"
  if name == "peers" and res:
    parts = []
    for w, r in res.get("results", {}).items():
      if "ratios" in r:
        parts.append(w + " " + ", ".join(f"{op} {x:.2f}x" for op, x in r["ratios"].items()))
      else:
        fwd = r["times"]["jax"]["forward"]["median"]
        parts.append(f"{w} forward {C.ms(fwd):.3g} ms")
    return "; ".join(parts) + (
      " (torch/jaxrnn)" if any("ratios" in r for r in res.get("results", {}).values()) else ""
    )
  if name == "precision" and res:
    d, h = res["default"], res["highest"]
    w = min(res["default"]["taylor_remainder_rel"], key=float)
    return (
      f"forward error vs float64 {d['forward_rel_err_vs_float64']:.1e} (default) / "
      f"{h['forward_rel_err_vs_float64']:.1e} (highest); Taylor remainder at omega={w} "
      f"{d['taylor_remainder_rel'][w]:.3g} / {h['taylor_remainder_rel'][w]:.3g} "
      f"(float64 {res['float64_numpy']['taylor_remainder_rel'][w]:.3g})"
    )
  if name == "sweeps" and res:
    return "loop/sweep " + ", ".join(
      f"m={g['m']} K={g['K']} {g['speedup']:.2f}x" for g in res.get("grid", [])
    )
  if name == "experiments":
    ex = st.get("experiments", [])
    done = {e["name"] for e in ex}
    partial = {n: k for n, k in st.get("records", {}).items() if n not in done}
    at_once = f" ({st['jobs']} at a time)" if st.get("jobs", 1) > 1 else ""
    return (
      f"{len(ex)} finished{at_once}: "
      + ", ".join(f"{e['name']} {e['seconds']:.0f} s" for e in ex)
      + "".join(f"; {n}: {k} points stored, unfinished" for n, k in partial.items())
    )
  if name == "kernel" and res:
    return (res.get("report") or "").strip().splitlines()[0][:120] if res.get("report") else ""
  return ""


def render(device: dict, steps: dict, total: float, tiny: bool, load_start) -> str:
  title = "Accelerator check" + (" (--tiny)" if tiny else "")
  lines = [
    f"# {title}",
    "",
    f"Device: {device.get('platform')} {device.get('device_kind')} "
    f"x{device.get('num_devices')} (jax {device.get('jax')}; torch {device.get('torch')}, "
    f"cuda {device.get('torch_cuda')}, cuDNN {device.get('cudnn')}). Total {total:.0f} s. "
    f"Load average at the start {load_start}.",
    "",
  ]
  rows = []
  for name, st in steps.items():
    note = st.get("note", "")
    rows.append(
      [name, st["status"], st.get("seconds", ""), _figures(name, st) or note, st.get("command", "")]
    )
  lines.append(C.table(["step", "status", "seconds", "figures", "command"], rows))
  for name in ("precision", "peers", "sweeps"):
    res = (steps.get(name) or {}).get("result") or {}
    if res.get("report"):
      lines += ["", f"## {name}", "", res["report"].strip()]
  compiled = (steps.get("experiments") or {}).get("compile")
  if compiled:
    lines += [
      "",
      "## compile",
      "",
      "Per experiment (`benchmarks/compile_time.py` explains the columns; cache hits are "
      "programs read from the persistent compilation cache):",
      "",
      CT.compile_table(compiled),
    ]
  failed = [n for n, s in steps.items() if s["status"] not in ("ok", "skipped")]
  for n in failed:
    lines += [
      "",
      f"## {n}: {steps[n]['status']}",
      "",
      "```",
      steps[n]["output_tail"][-1500:],
      "```",
    ]
  return "\n".join(lines)


if __name__ == "__main__":
  sys.exit(main())
