"""The one-command accelerator check runs on a CPU with a tiny workload
(``benchmarks/accelerator.py --tiny``), so it is known to work before an
accelerator is at hand."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _run_check(out_dir, *args: str, timeout: float = 900) -> dict:
  """Runs ``accelerator.py --tiny ARGS --out-dir OUT_DIR`` on the CPU; its JSON."""
  env = dict(os.environ)
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")])
  proc = subprocess.run(
    [sys.executable, os.path.join(REPO, "benchmarks", "accelerator.py"), "--tiny", *args]
    + ["--out-dir", str(out_dir)],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=timeout,
  )
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  return json.loads((out_dir / "accelerator.json").read_text())


@pytest.mark.slow
def test_accelerator_check_runs_tiny_on_cpu(tmp_path):
  res = _run_check(tmp_path)
  md = (tmp_path / "accelerator.md").read_text()
  assert res["tiny"] and res["device"]["platform"] == "cpu"
  steps = res["steps"]
  assert list(steps) == ["device", "precision", "peers", "sweeps", "kernel", "experiments"]
  for name in ("device", "precision", "peers", "sweeps", "experiments"):
    assert steps[name]["status"] == "ok", (name, steps[name].get("output_tail"))
  assert steps["kernel"]["status"] == "skipped" and steps["kernel"]["note"]
  # Each benchmark's own JSON is inside, with its numbers.
  prec = steps["precision"]["result"]
  assert prec["m"] == 64 and 0 < prec["highest"]["forward_rel_err_vs_float64"] < 1e-4
  peers = steps["peers"]["result"]["results"]["small"]
  assert peers["times"]["jax"]["forward"]["median"] > 0
  grid = steps["sweeps"]["result"]["grid"]
  assert [(g["m"], g["K"]) for g in grid] == [(8, 1), (8, 4)]
  assert all(g["speedup"] > 0 and g["max_abs_loss_difference"] < 1e-5 for g in grid)
  assert [e["name"] for e in steps["experiments"]["experiments"]] == ["linearization"]
  # every stored point of the run is counted
  n_lines = len((tmp_path / "runs/linearization/quick/results.jsonl").read_text().splitlines())
  assert steps["experiments"]["records"] == {"linearization": n_lines} and n_lines > 2
  assert (tmp_path / "runs" / "linearization" / "quick" / "results.jsonl").exists()
  # One markdown page with the summary table and the benchmarks' tables.
  assert "| step" in md and "## sweeps" in md and "## peers" in md and "## precision" in md


@pytest.mark.slow
def test_accelerator_check_budget_skips_what_does_not_fit(tmp_path):
  # A 5 s budget leaves every step after the device probe (which always runs)
  # less than the 10 s minimum, so the experiments step is left out and says
  # why; the JSON is complete.
  res = _run_check(tmp_path, "--budget", "5", "--skip", "precision,peers,sweeps", timeout=300)
  assert res["complete"] and res["budget_seconds"] == 5
  steps = res["steps"]
  assert steps["device"]["status"] == "ok"
  assert steps["experiments"]["status"] == "skipped"
  assert "budget" in steps["experiments"]["note"]
  assert not (tmp_path / "runs").exists()


def test_summary_names_an_unfinished_experiment_with_its_stored_points():
  # A run stopped by its time limit: one experiment finished, one did not.
  sys.path.insert(0, os.path.join(REPO, "benchmarks"))
  try:
    import accelerator
  finally:
    sys.path.pop(0)
  st = {
    "experiments": [{"name": "existence", "seconds": 12.0}],
    "records": {"existence": 4, "linearization": 26},
  }
  text = accelerator._figures("experiments", st)
  assert text.startswith("1 finished: existence 12 s")
  assert "linearization: 26 points stored, unfinished" in text
  assert "existence: 4" not in text
