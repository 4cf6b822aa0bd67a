"""Several hosts, tested on one: two local processes joined by
``jax.distributed`` (loopback coordinator, CPU collectives) give the same
sweep as one process, and the result store is written once, by process 0."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here starts processes or runs experiments

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
WORKER = os.path.join(HERE, "_distributed_worker.py")
TIMEOUT = 420  # seconds per run; a healthy run takes well under a minute on 2 idle cores
RTOL, ATOL = 1e-5, 1e-6  # default (fast) mode: float32 rounding, see test_sweep.py


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env():
  env = dict(os.environ)
  env["JAX_PLATFORMS"] = "cpu"
  env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=1"  # one device per process
  env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")])
  for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
    env.pop(proxy, None)  # jax.distributed warns and may stall behind a proxy
  return env


def _launch(n, out, run_dir):
  """Starts n processes; retries with a fresh port if the coordinator's port
  was taken between choosing and binding it (the only race here)."""
  for attempt in range(3):
    port = _free_port()
    procs = [
      subprocess.Popen(
        [sys.executable, WORKER, str(i), str(n), str(port), str(out), str(run_dir)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
      )
      for i in range(n)
    ]
    logs, codes = [], []
    try:
      for p in procs:
        logs.append(p.communicate(timeout=TIMEOUT)[0])
        codes.append(p.returncode)
    finally:
      for p in procs:
        if p.poll() is None:
          p.kill()
          p.wait()
    if all(c == 0 for c in codes):
      return logs
    text = "\n".join(logs)
    if attempt < 2 and ("address already in use" in text.lower() or "bind" in text.lower()):
      continue
    raise AssertionError(f"exit codes {codes}\n" + "\n----\n".join(logs))
  raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  base = tmp_path_factory.mktemp("dist")
  one, two = base / "one", base / "two"
  one.mkdir()
  two.mkdir()
  _launch(1, one, base / "run_one")
  _launch(2, two, base / "run_two")
  return base, one, two


def test_two_processes_give_the_same_sweep_as_one(runs):
  _, one, two = runs
  ref = np.load(one / "sweep_0.npz")
  assert int(ref["num_devices"]) == 1
  for pid in (0, 1):
    got = np.load(two / f"sweep_{pid}.npz")
    assert int(got["num_devices"]) == 2  # the mesh spans both processes
    for name in ref.files:
      if name == "num_devices":
        continue
      assert got[name].shape == ref[name].shape, name
      assert got[name].shape[0] == 7, name  # padding to 8 seeds dropped
      if name.startswith("inv_"):  # bit for bit
        np.testing.assert_array_equal(got[name], ref[name], err_msg=f"process {pid}: {name}")
      else:
        np.testing.assert_allclose(
          got[name], ref[name], rtol=RTOL, atol=ATOL, err_msg=f"process {pid}: {name}"
        )


def _read_store(run_dir):
  with open(run_dir / "results.jsonl") as f:
    return [json.loads(line) for line in f if line.strip()]


def _close(a, b, where):
  if isinstance(a, dict):
    assert a.keys() == b.keys(), where
    for k in a:
      _close(a[k], b[k], f"{where}.{k}")
  elif isinstance(a, list):
    assert len(a) == len(b), where
    for i, (x, y) in enumerate(zip(a, b)):
      _close(x, y, f"{where}[{i}]")
  elif isinstance(a, float) and isinstance(b, float):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=where)
  else:
    assert a == b, where


def test_the_store_is_written_once_by_process_zero(runs):
  base, one, two = runs
  stored = _read_store(base / "run_two")
  keys = [r["key"] for r in stored]
  # Two points, each stored once: a second writer would have appended them
  # again (or failed on the run's lock).
  assert len(keys) == 2 and len(set(keys)) == 2, keys
  assert (base / "run_two" / "config.json").exists()
  assert (base / "run_two" / "summary.md").exists()
  rec0 = json.loads((two / "records_0.json").read_text())
  rec1 = json.loads((two / "records_1.json").read_text())
  # Process 1 computed the same records (it took part in every sweep) ...
  _close(rec1, rec0, "process 1 vs process 0")
  # ... what process 0 stored is what it computed ...
  _close(stored, rec0, "store vs process 0")
  # ... and the same as a one-process run.
  _close(stored, _read_store(base / "run_one"), "two processes vs one")


CLI_SETS = ["ms=8", "omegas=0.01,0.1", "num_seeds=3", "num_sequences=2", "L=4", "scalings=relative"]


def _cli(args, n, pid=None, port=None):
  argv = [sys.executable, "-m", "jaxrnn", "run", "linearization", "--no-progress", *args]
  for s in CLI_SETS:
    argv += ["--set", s]
  if n > 1:
    argv += ["--distributed", "--coordinator", f"127.0.0.1:{port}"]
    argv += ["--num-processes", str(n), "--process-id", str(pid)]
  env = _env()
  env["JAX_CPU_COLLECTIVES_IMPLEMENTATION"] = "gloo"
  return subprocess.Popen(
    argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
  )


def test_the_documented_multi_host_command_on_two_local_processes(tmp_path):
  """What docs/accelerators.md tells each host to run (``--distributed
  --coordinator --num-processes --process-id``), as two local processes: the run directory
  is written once, by process 0, with the records of a one-process run; only
  process 0 prints the summary."""
  single = _cli(["--out", str(tmp_path / "one")], 1)
  assert single.wait(timeout=TIMEOUT) == 0, single.stdout.read()
  for attempt in range(3):
    port = _free_port()
    procs = [_cli(["--out", str(tmp_path / "two")], 2, i, port) for i in range(2)]
    logs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
    codes = [p.returncode for p in procs]
    if codes == [0, 0]:
      break
    if attempt == 2 or "address already in use" not in "\n".join(logs).lower():
      raise AssertionError(f"exit codes {codes}\n" + "\n----\n".join(logs))
  assert "## Verdicts" in logs[0] or "## " in logs[0]
  assert "results in" in logs[0] and "results in" not in logs[1]
  from jaxrnn import cli, experiments

  run = cli.run_dir("", experiments.get("linearization"), "quick", CLI_SETS)
  stored = _read_store(tmp_path / "two" / run)
  keys = [r["key"] for r in stored]
  assert len(keys) == len(set(keys)) == 2
  _close(stored, _read_store(tmp_path / "one" / run), "two vs one")
