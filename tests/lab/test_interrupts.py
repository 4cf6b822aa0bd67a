"""Ctrl-C and SIGKILL at random moments of a real run.

The old CLI segfaulted on about half of the Ctrl-C's (a ``KeyboardInterrupt``
raised inside jaxlib's module initialization, or interpreter teardown racing
an abandoned XLA compilation; see ``jaxrnn/_sigint.py``), printed a traceback
during the imports, and once finished with exit 0. Here one run directory
goes through a chain of interrupted runs of the real ``python -m jaxrnn``:
Ctrl-C during the imports, Ctrl-C while the first point compiles, then
Ctrl-C and SIGKILL at random moments (a fixed seed, so the test is
repeatable), and a last run that completes. Every Ctrl-C must end with exit
status 130 and exactly the one-line resume message (or with 0 if the run had
already finished), every SIGKILL with -9; after each, ``results.jsonl`` must
be a byte prefix of an uninterrupted run's file (only a SIGKILL may leave a
torn last line), and the completed file must be byte-identical to it.

``tools/sigint_trials.py`` runs the same check 30 times in a row; this test
runs a few to stay cheap in CI. To save time, the uninterrupted run fills a
JAX compilation cache that the later runs read, except the one interrupted
while compiling, which compiles.
"""

import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
  pytest.mark.skipif(
    not os.path.exists("/proc/self/status"), reason="watches the child through /proc (Linux)"
  ),
  pytest.mark.slow,  # every test here starts jaxrnn processes
]


def _load_trials_tool():
  """``tools/sigint_trials.py``: the same environment and SIGINT disposition
  for the test's runs as for the 30-trial tool's."""
  path = Path(__file__).resolve().parents[2] / "tools" / "sigint_trials.py"
  spec = importlib.util.spec_from_file_location("sigint_trials", path)
  mod = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(mod)
  return mod


_TOOL = _load_trials_tool()
_env = _TOOL._env  # a clean environment, optionally with a compilation cache
_default_sigint = _TOOL._default_sigint  # children start with SIGINT at its default
# The trial tool's tiny run, relative scaling only: 6 points (2 widths x 3 radii).
ARGS = [*_TOOL.ARGS, "--set", "scalings=relative"]
MESSAGE = _TOOL.MESSAGE  # the one-line resume message


def _start(out: Path, env: dict) -> subprocess.Popen:
  return subprocess.Popen(
    [sys.executable, "-m", "jaxrnn", *ARGS, "--out", str(out)],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.PIPE,
    env=env,
    preexec_fn=_default_sigint,
  )


def _threads(pid: int) -> int:
  try:
    with open(f"/proc/{pid}/status") as f:
      for line in f:
        if line.startswith("Threads:"):
          return int(line.split()[1])
  except OSError:
    pass
  return 0


def _wait_for(cond, proc, what: str, timeout: float = 240) -> None:
  deadline = time.time() + timeout
  while not cond():
    if proc.poll() is not None:
      pytest.fail(f"the run ended before {what}: {proc.stderr.read().decode()}")
    if time.time() > deadline:
      pytest.fail(f"timed out waiting for {what}")
    time.sleep(0.01)


def _check_prefix(raw: bytes, ref: bytes, torn_allowed: bool, label: str) -> None:
  complete = raw[: raw.rfind(b"\n") + 1]
  assert ref.startswith(complete), f"{label}: records differ from the uninterrupted run"
  tail = raw[len(complete) :]
  if tail:
    assert torn_allowed, f"{label}: a Ctrl-C left a torn line {tail[:40]!r}"
    assert ref[len(complete) :].startswith(tail), f"{label}: torn tail is not a record prefix"


def test_interrupts_at_random_moments_lose_nothing(tmp_path):
  cache = tmp_path / "jax-cache"
  t0 = time.time()
  ref_run = subprocess.run(
    [sys.executable, "-m", "jaxrnn", *ARGS, "--out", str(tmp_path / "ref")],
    capture_output=True,
    text=True,
    env=_env(cache),
    timeout=600,
  )
  t_ref = time.time() - t0
  assert ref_run.returncode == 0, ref_run.stderr
  (ref_dir,) = (tmp_path / "ref" / "linearization").iterdir()  # quick+set-HASH: ARGS --set
  ref = (ref_dir / "results.jsonl").read_bytes()
  assert ref.count(b"\n") == 6

  out = tmp_path / "cut"
  run_dir = out / "linearization" / ref_dir.name
  results = run_dir / "results.jsonl"
  rng = random.Random(20261126)
  trials = [
    ("imports", signal.SIGINT),
    ("compile", signal.SIGINT),
    ("random", signal.SIGINT),
    ("random", signal.SIGKILL),
    ("random", signal.SIGINT),
  ]
  outcomes = []
  for phase, sig in trials:
    started = time.time()
    proc = _start(out, _env(None if phase == "compile" else cache))
    # Python's own start-up (before jaxrnn/__init__.py runs) is not covered;
    # the handler's watcher thread is the first thread the process starts.
    _wait_for(lambda p=proc: _threads(p.pid) >= 2, proc, "the SIGINT handler")
    if phase == "imports":
      delay = rng.uniform(0.0, 0.5)  # inside `import jax`
    elif phase == "compile":
      cfg = run_dir / "config.json"
      _wait_for(
        lambda c=cfg, t=started: c.exists() and c.stat().st_mtime >= t, proc, "config.json"
      )  # written under the lock right before the first point is traced
      delay = rng.uniform(0.0, 0.3)
    else:
      delay = rng.uniform(0.0, 0.5 * t_ref)
    time.sleep(delay)
    proc.send_signal(sig)
    sent = time.time()
    err = proc.communicate(timeout=300)[1].decode()
    label = f"{phase} {sig.name} after {delay:.2f} s"
    # Acted on at once (a run that finished its points after the signal
    # would take longer than this even on a fast machine).
    assert time.time() - sent < 10, f"{label}: the process went on after the signal"
    outcomes.append((label, proc.returncode))
    raw = results.read_bytes() if results.exists() else b""
    finished = raw == ref and (run_dir / "summary.md").exists()
    if sig == signal.SIGINT:
      if phase == "random" and proc.returncode == 0:
        assert finished, f"{label}: exit 0 but the run is not complete"
      else:
        assert proc.returncode == 130, f"{label}: exit {proc.returncode}\n{err}"
        assert err == MESSAGE, f"{label}: stderr was {err!r}"
    else:
      assert proc.returncode == -signal.SIGKILL, f"{label}: exit {proc.returncode}\n{err}"
    _check_prefix(raw, ref, torn_allowed=sig == signal.SIGKILL, label=label)

  final = subprocess.run(
    [sys.executable, "-m", "jaxrnn", *ARGS, "--out", str(out)],
    capture_output=True,
    text=True,
    env=_env(cache),
    timeout=600,
  )
  assert final.returncode == 0, final.stderr
  assert results.read_bytes() == ref, outcomes


def test_importing_jaxrnn_in_another_program_leaves_sigint_alone():
  code = (
    "import signal, threading; before = signal.getsignal(signal.SIGINT); import jaxrnn; "
    "print(before is signal.default_int_handler, signal.getsignal(signal.SIGINT) is before, "
    "threading.active_count())"
  )
  res = subprocess.run(
    [sys.executable, "-c", code],
    capture_output=True,
    text=True,
    timeout=300,
    preexec_fn=_default_sigint,
  )
  assert res.returncode == 0, res.stderr
  assert res.stdout.split() == ["True", "True", "1"]
