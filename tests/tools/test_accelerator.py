"""The one-command accelerator check runs on a CPU with a tiny workload
(``benchmarks/accelerator.py --tiny``), so it is known to work before an
accelerator is at hand."""

import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


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
  first = steps["sweeps"]["result"]["first_call"]  # compile counted, one process a point
  assert [(r["m"], r["K"]) for r in first] == [(8, 1), (8, 4)]
  assert all(r["sweep_s"] > 0 and r["loop_s"] > 0 for r in first)
  assert [e["name"] for e in steps["experiments"]["experiments"]] == ["linearization"]
  # every stored point of the run is counted
  (results,) = (tmp_path / "runs" / "linearization").glob("quick+set-*/results.jsonl")  # tiny --set
  n_lines = len(results.read_text().splitlines())
  assert steps["experiments"]["records"] == {"linearization": n_lines} and n_lines > 2
  # One markdown page with the summary table and the benchmarks' tables.
  assert "| step" in md and "## sweeps" in md and "## peers" in md and "## precision" in md
  # The experiment's compilations, counted by compile_time.py's worker (the
  # suite runs with the persistent cache off: every program is compiled).
  comp = steps["experiments"]["compile"]["linearization"]
  assert comp["programs"] > 0 and comp["compiled"] == comp["programs"], comp
  assert 0 < comp["compile_s"] < comp["wall_s"] and comp["largest"][1] > 100
  assert "## compile" in md and "| linearization" in md.split("## compile")[1]


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


def _accelerator_module():
  """benchmarks/accelerator.py as a module (its helpers, without running it)."""
  from benchmarks import accelerator

  return accelerator


def test_summary_names_an_unfinished_experiment_with_its_stored_points():
  # A run stopped by its time limit: one experiment finished, one did not.
  accelerator = _accelerator_module()
  st = {
    "experiments": [{"name": "existence", "seconds": 12.0}],
    "records": {"existence": 4, "linearization": 26},
  }
  text = accelerator._figures("experiments", st)
  assert text.startswith("1 finished: existence 12 s")
  assert "linearization: 26 points stored, unfinished" in text
  assert "existence: 4" not in text


def _sleeper(seconds: float, text: str) -> list[str]:
  """A command that prints its start time, sleeps, then prints ``text`` and
  its end time."""
  code = (
    "import time; print(time.time(), flush=True); "
    f"time.sleep({seconds}); print({text!r}); print(time.time())"
  )
  return [sys.executable, "-c", code]


def test_parallel_step_runs_commands_side_by_side(tmp_path):
  # Three 1.5 s commands, two at a time: the first two overlap, the third
  # starts only once one of them has ended (never three at once); each
  # command's output is kept in its own log and in the step's output.
  acc = _accelerator_module()
  commands = {f"c{i}": _sleeper(1.5, f"done {i}") for i in range(3)}
  st = acc.run_parallel("t", commands, 2, 120, dict(os.environ), tmp_path / "logs")
  assert st["status"] == "ok" and st["jobs"] == 2, st
  assert {n: r["status"] for n, r in st["runs"].items()} == dict.fromkeys(commands, "ok")
  span = {}
  for n in commands:
    start, text, end = (tmp_path / "logs" / f"{n}.log").read_text().splitlines()
    assert text == f"done {n[1]}"
    span[n] = (float(start), float(end))
  assert span["c1"][0] < span["c0"][1] and span["c0"][0] < span["c1"][1]  # side by side
  assert span["c2"][0] >= min(span["c0"][1], span["c1"][1])  # at most two at once
  assert [line for line in st["_output"].splitlines() if line.startswith("done")] == [
    "done 0",
    "done 1",
    "done 2",
  ]


@pytest.mark.slow
def test_parallel_step_stops_at_its_limit_and_says_what_did_not_run(tmp_path):
  # One at a time, a 2 s limit: the first command (60 s) is killed with its
  # process group, the second never starts; a failing command is "failed".
  acc = _accelerator_module()
  commands = {"slow": _sleeper(60, "never"), "next": _sleeper(0, "x")}
  st = acc.run_parallel("t", commands, 1, 2, dict(os.environ), tmp_path / "a")
  assert st["status"] == "timed out" and st["seconds"] < 30, st
  assert st["runs"]["slow"]["status"] == "timed out"
  assert st["runs"]["next"]["status"] == "not started"
  fail = {"bad": [sys.executable, "-c", "raise SystemExit(3)"], "good": _sleeper(0, "y")}
  st = acc.run_parallel("t", fail, 2, 60, dict(os.environ), tmp_path / "b")
  assert st["status"] == "failed" and st["exit_code"] == 3, st
  assert st["runs"]["good"]["status"] == "ok"


def test_shared_env_splits_the_accelerator_memory_and_keeps_user_settings():
  acc = _accelerator_module()
  env = acc._shared_env({"PATH": "/bin"}, 4)
  assert env["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.188"
  mine = acc._shared_env({"XLA_PYTHON_CLIENT_PREALLOCATE": "false"}, 4)
  assert "XLA_PYTHON_CLIENT_MEM_FRACTION" not in mine
  assert mine["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


def _compile_time_module():
  from benchmarks import compile_time

  return compile_time


def test_compile_figures_are_booked_per_experiment(tmp_path):
  ct = _compile_time_module()
  # StableHLO dumps: the largest modules by lines, the files removed.
  stats = ct._new_stats()
  for i, (name, lines) in enumerate([("jit_a", 10), ("jit_big", 300), ("jit_c", 50), ("jit_d", 5)]):
    (tmp_path / f"jax_ir{i:04d}_{name}_compile.mlir").write_text("op\n" * lines)
  ct._book_ir(stats, tmp_path)
  assert stats["hlo"]["modules"] == 4 and stats["hlo"]["lines"] == 365
  largest = [x[:2] for x in stats["hlo"]["largest"]]
  assert largest == [["jit_big", 300], ["jit_c", 50], ["jit_a", 10]]
  assert not list(tmp_path.glob("*.mlir"))
  # A worker's JSON: what happened outside the experiment (the CLI's own
  # programs) is booked to the one experiment of a `run`.
  inner = ct._new_stats() | {"programs": 5, "cache_hits": 2, "compile_s": 3.0, "trace_s": 0.5}
  inner |= {"compile_cpu_s": 1.0}
  inner |= {"lower_s": 0.25, "wall_s": 10.0, "by_module": {"jit(f)": [2, 2.5]}}
  outside = ct._new_stats() | {"programs": 1, "compile_s": 0.5, "by_module": {"jit(g)": [1, 0.5]}}
  outside |= {"compile_cpu_s": 0.25}
  js = {"experiments": {"linearization": inner, ct.OUTSIDE: outside}}
  per = ct.by_experiment(js, "linearization")
  assert list(per) == ["linearization"]
  row = ct.summary_row(per["linearization"])
  assert (row["programs"], row["compiled"], row["cache_hits"]) == (6, 4, 2)
  assert row["compile_s"] == 3.5 and row["trace_lower_s"] == 0.75
  assert row["compile_cpu_s"] == 1.25
  assert row["rest_s"] == 10.0 - 3.5 - 0.75
  assert row["slowest"] == ["jit(f)", 2, 2.5]
  # in a `reproduce` the outside events keep their own row
  assert list(ct.by_experiment(js, None)) == ["linearization", ct.OUTSIDE]
  total = ct.compile_table({"a": row, "b": row}).splitlines()[-1]
  cells = [c.strip() for c in total.strip("|").split("|")]
  assert cells[:9] == ["**total**", "12", "8", "4", "7.0", "2.5", "1.5", "11.5", "20.0"]
