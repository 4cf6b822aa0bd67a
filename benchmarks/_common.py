"""Shared helpers of the jaxrnn benchmarks (not part of the library).

The benchmarks are written so that their numbers can be trusted on a busy,
small machine:

- **One process per library.** Every library (jaxrnn, PyTorch) runs in its own
  worker subprocess, so neither library's thread pools, allocator or import
  side effects touch the other's. A worker builds and compiles its cases once,
  then waits on stdin; the parent asks for one timing sample at a time.
- **Alternating rounds, medians.** The parent asks the workers in turn
  (round r: jaxrnn then torch, round r+1: torch then jaxrnn, ...), so a slow
  spell of the machine hits both libraries alike; only one worker computes at a
  time. The reported time is the median over rounds (the minimum is kept too).
- **Samples of at least ``min_sample_s``.** Fast calls are repeated inside
  one sample (the count is fixed per case at warm-up), and the per-call time
  is sample / count.
- **JSON out.** Results go to ``benchmarks/out/<name>.json`` (git-ignored),
  with the machine, library versions, the command line and the load average.
- **Persistent compilation cache.** Importing this module turns JAX's
  persistent compilation cache on for the benchmark and every process it
  starts, as the ``jaxrnn`` program does (``jaxrnn/lab/cache.py``: a
  per-user directory, every program cached, the size bounded): it sets
  ``JAX_COMPILATION_CACHE_DIR`` and the thresholds in ``os.environ``, which
  JAX reads when it is imported (every benchmark imports this module first).
  Nothing is set where ``JAXRNN_COMPILATION_CACHE=0`` or where the
  environment already configures JAX's cache. Only compilation is saved: a
  benchmark times its cases after warming them up.
- **Matmul peak.** ``matmul_rate`` measures the best rate of an (n, k) @ (k, k)
  matrix product; the benchmarks report their forward pass as a fraction of
  the best such rate measured in the same run.

Workers speak line-delimited JSON: the parent writes ``{"case": name}`` and
the worker answers ``{"seconds": per_call_time}``; ``{"quit": true}`` ends it.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

# JSON and helper files go here; BENCH_OUT_DIR moves them (benchmarks/accelerator.py).
OUT_DIR = pathlib.Path(
  os.environ.get("BENCH_OUT_DIR") or pathlib.Path(__file__).resolve().parent / "out"
).resolve()
REPO = pathlib.Path(__file__).resolve().parent.parent


def _cache_module():
  """``jaxrnn/lab/cache.py``, loaded from its file: importing it as
  ``jaxrnn.lab.cache`` would import jaxrnn and JAX into every benchmark
  process, the PyTorch workers and the parents included."""
  spec = importlib.util.spec_from_file_location("_jaxrnn_lab_cache", REPO / "jaxrnn/lab/cache.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def use_compilation_cache() -> dict[str, str]:
  """Sets the environment variables that turn JAX's persistent compilation
  cache on in this process (before JAX is imported) and its children
  (``jaxrnn.lab.cache.environment_variables``); a variable already set is
  kept. Returns what was set."""
  try:
    wanted = _cache_module().environment_variables(os.environ)
  except ValueError as e:  # a bad JAXRNN_COMPILATION_CACHE* value
    sys.exit(f"benchmarks: {e}")
  new = {k: v for k, v in wanted.items() if k not in os.environ}
  os.environ.update(new)
  return new


use_compilation_cache()


# ---------------------------------------------------------------------------
# Inside a worker.


def calibrate(run: Callable[[], None], min_sample_s: float) -> int:
  """Number of calls of ``run`` (already warmed up) per timing sample."""
  t0 = time.perf_counter()
  run()
  dt = max(time.perf_counter() - t0, 1e-7)
  return max(1, int(np.ceil(min_sample_s / dt)))


def sample(run: Callable[[], None], reps: int) -> float:
  """Seconds per call of ``run``, averaged over ``reps`` back-to-back calls."""
  return sample_both(run, reps)[0]


def sample_both(run: Callable[[], None], reps: int) -> tuple[float, float]:
  """(wall seconds, this process's CPU seconds) per call of ``run``. On a
  busy machine the CPU time is the steadier measure of the work done (it
  does not count waiting for a core; it counts every thread of the process)."""
  t0, c0 = time.perf_counter(), time.process_time()
  for _ in range(reps):
    run()
  return (time.perf_counter() - t0) / reps, (time.process_time() - c0) / reps


def serve(
  cases: dict[str, Callable[[], None]],
  info: dict,
  min_sample_s: float = 0.05,
  *,
  warm_each_sample: bool = False,
) -> None:
  """Worker main loop: announce ``info`` and the cases, then time on demand.

  ``cases`` maps a name to a zero-argument callable that runs the case once
  and waits for the result (``block_until_ready`` / ``cuda.synchronize``).
  Each case is run twice before calibration (compilation, caches).
  ``warm_each_sample`` runs the case once, untimed, before each sample: when
  one worker times many different cases in turn, the first call after a
  switch runs with cold caches, and whichever case happens to come first
  would pay for it.
  """
  reps = {}
  for name, run in cases.items():
    run()
    run()
    reps[name] = calibrate(run, min_sample_s)
  _send({"ready": True, "info": info, "reps": reps})
  for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("quit"):
      break
    name = msg["case"]
    if warm_each_sample:
      cases[name]()
    wall, cpu = sample_both(cases[name], reps[name])
    _send({"seconds": wall, "cpu_seconds": cpu})


def _send(obj) -> None:
  sys.stdout.write(json.dumps(obj) + "\n")
  sys.stdout.flush()


def jax_info() -> dict:
  import jax

  dev = jax.devices()[0]
  return {
    "library": "jax",
    "version": jax.__version__,
    "device": f"{dev.platform}:{getattr(dev, 'device_kind', '')}",
    "num_devices": jax.device_count(),
  }


def torch_setup():
  """Imports torch, fixes its thread count, returns (torch, device)."""
  import torch

  threads = int(os.environ.get("BENCH_TORCH_THREADS", "0")) or (os.cpu_count() or 1)
  torch.set_num_threads(threads)
  device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
  return torch, device


def torch_info(torch, device) -> dict:
  name = (
    torch.cuda.get_device_name(device)
    if device.type == "cuda"
    else f"cpu ({torch.get_num_threads()} threads)"
  )
  info = {"library": "torch", "version": torch.__version__, "device": f"{device.type}:{name}"}
  if device.type == "cuda":  # nn.RNN runs through cuDNN when it is enabled
    info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info["cudnn_enabled"] = bool(torch.backends.cudnn.enabled)
    info["tf32"] = {
      "matmul": bool(torch.backends.cuda.matmul.allow_tf32),
      "cudnn": bool(torch.backends.cudnn.allow_tf32),
    }
  return info


def jax_matmul_case(n: int, k: int, dtype="float32"):
  """A zero-argument callable running one jitted (n, k) @ (k, k) product."""
  import jax

  a = jax.random.normal(jax.random.key(11), (n, k), dtype)
  b = jax.random.normal(jax.random.key(12), (k, k), dtype) / np.sqrt(k)
  f = jax.jit(lambda a, b: a @ b)
  return lambda: f(a, b).block_until_ready()


def torch_matmul_case(torch, device, n: int, k: int):
  a = torch.randn(n, k, device=device)
  b = torch.randn(k, k, device=device) / np.sqrt(k)
  sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

  def run():
    with torch.no_grad():
      a @ b
    sync()

  return run


# ---------------------------------------------------------------------------
# In the parent.


class Worker:
  """A benchmark worker subprocess: ``python script --worker ARGS``.

  ``python``: the interpreter to run it with (default: this one; e.g. another
  virtual environment's, for a library that cannot share this one's JAX).
  """

  def __init__(
    self, argv: list[str], env: dict | None = None, label: str = "", python: str | None = None
  ):
    self.label = label or " ".join(argv)
    full_env = dict(os.environ)
    full_env.update(env or {})
    full_env.setdefault("PYTHONPATH", str(REPO))
    self.proc = subprocess.Popen(
      [python or sys.executable, *argv],
      stdin=subprocess.PIPE,
      stdout=subprocess.PIPE,
      text=True,
      env=full_env,
      cwd=str(REPO),
      bufsize=1,
    )
    hello = self._recv()
    self.info, self.reps = hello["info"], hello["reps"]

  def _recv(self) -> dict:
    while True:
      line = self.proc.stdout.readline()
      if not line:
        rc = self.proc.wait()
        raise RuntimeError(f"worker {self.label!r} ended with status {rc}")
      line = line.strip()
      if line.startswith("{"):
        return json.loads(line)

  def time(self, case: str) -> float:
    return self.time_both(case)[0]

  def time_both(self, case: str) -> tuple[float, float | None]:
    """(wall, CPU) seconds per call of ``case`` (CPU: None from old workers)."""
    self.proc.stdin.write(json.dumps({"case": case}) + "\n")
    self.proc.stdin.flush()
    reply = self._recv()
    return reply["seconds"], reply.get("cpu_seconds")

  def ask(self, msg: dict) -> dict:
    """Sends one JSON message and returns the worker's JSON answer."""
    self.proc.stdin.write(json.dumps(msg) + "\n")
    self.proc.stdin.flush()
    return self._recv()

  def close(self) -> None:
    if self.proc.poll() is None:
      try:
        self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
        self.proc.stdin.flush()
      except BrokenPipeError:
        pass
      self.proc.wait(timeout=60)


def alternate(
  workers: dict[str, Worker], cases: dict[str, list[str]], rounds: int
) -> dict[str, dict[str, dict]]:
  """Times ``cases[lib]`` on ``workers[lib]`` in alternating rounds.

  Round r visits the libraries in order, reversed on odd rounds, and inside a
  library the cases in order; one sample per (round, library, case).

  **Returns:** ``{lib: {case: {"median": s, "min": s, "samples": [...]}}}``.
  """
  libs = list(workers)
  samples = {lib: {c: [] for c in cases[lib]} for lib in libs}
  for r in range(rounds):
    order = libs if r % 2 == 0 else libs[::-1]
    for lib in order:
      for c in cases[lib]:
        samples[lib][c].append(workers[lib].time(c))
  return {lib: {c: summarize(v) for c, v in per.items()} for lib, per in samples.items()}


def summarize(v: list[float]) -> dict:
  return {"median": float(np.median(v)), "min": float(np.min(v)), "samples": [float(x) for x in v]}


def machine() -> dict:
  """Host facts for the JSON header."""
  cpu = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      for line in f:
        if line.startswith("model name"):
          cpu = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  return {
    "cpu": cpu,
    "cores": os.cpu_count(),
    "python": platform.python_version(),
    "platform": platform.platform(),
    "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
  }


def loadavg() -> list[float]:
  try:
    return [round(x, 2) for x in os.getloadavg()]
  except OSError:
    return []


def float64_rnn(W, A, B, xs, dW=None, dA=None) -> dict:
  """The batched ReLU RNN of Def. 3.2 in NumPy float64, a loop over time:
  ``forward`` (n, d_out), the hidden states ``hs`` (h^(0) = 0, ..., h^(L))
  and the masks ``masks`` (1[z >= 0] per step); with a direction (dW, dA)
  also ``pseudo``, the tangent of Eq. (4) along it (forward mode, exact).
  ``xs`` is (n, L, d). The benchmarks' yardstick, written from the paper's
  definitions, not from jaxrnn (``tests/tools/test_bench_reference.py`` checks it
  against the tests' per-sequence references)."""
  W, A, B, xs = (np.asarray(a, np.float64) for a in (W, A, B, xs))
  n, L, _ = xs.shape
  tangent = dW is not None
  if tangent:
    dW, dA = np.asarray(dW, np.float64), np.asarray(dA, np.float64)
  h, dh = np.zeros((n, W.shape[0])), np.zeros((n, W.shape[0]))
  hs, masks = [h], []
  for t in range(L):
    pre = xs[:, t] @ A.T + h @ W.T
    mask = pre >= 0
    if tangent:
      dh = np.where(mask, xs[:, t] @ dA.T + h @ dW.T + dh @ W.T, 0.0)
    h = np.where(mask, pre, 0.0)
    hs.append(h)
    masks.append(mask)
  out = {"forward": h @ B.T, "hs": hs, "masks": masks}
  if tangent:
    out["pseudo"] = dh @ B.T
  return out


def shown(path: pathlib.Path) -> str:
  """``path`` relative to the repository when it lies inside (BENCH_OUT_DIR
  may point anywhere), else as given."""
  try:
    return str(pathlib.Path(path).resolve().relative_to(REPO))
  except ValueError:
    return str(path)


def write_json(name: str, payload: dict) -> pathlib.Path:
  OUT_DIR.mkdir(parents=True, exist_ok=True)
  path = OUT_DIR / f"{name}.json"
  payload = {
    "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
    "machine": machine(),
    **payload,
  }
  path.write_text(json.dumps(payload, indent=1))
  return path


def table(header: list[str], rows: list[list]) -> str:
  """A GitHub markdown table (also readable in a terminal)."""

  def fmt(x):
    if isinstance(x, float):
      return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
    return str(x)

  rows = [[fmt(x) for x in r] for r in rows]
  widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
  line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
  sep = "| " + " | ".join("-" * w for w in widths) + " |"
  return "\n".join([line(header), sep] + [line(r) for r in rows])


def ms(seconds: float) -> float:
  return seconds * 1e3
