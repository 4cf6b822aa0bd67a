"""``benchmarks/gpu_gallery.py`` works before a GPU is at hand: a tiny
gallery on the CPU, stopped by its time limit in one call and finished by
the next; the choice of XLA flags from the diagnosis; XLA's phase timers
read from a log."""

import argparse
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def _gallery_module():
  from benchmarks import gpu_gallery

  return gpu_gallery


def _call(tmp_path, *args: str) -> str:
  env = dict(os.environ)
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")])
  proc = subprocess.run(
    [sys.executable, os.path.join(REPO, "benchmarks", "gpu_gallery.py"), "--tiny"]
    + ["--out-dir", str(tmp_path / "out"), "--docs-dir", str(tmp_path / "docs"), *args],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=600,
  )
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  return proc.stdout


@pytest.mark.slow
def test_tiny_gallery_stops_at_its_time_limit_and_the_next_call_finishes_it(tmp_path):
  # Call 0 runs nothing but the device probe (kept in the state), so that
  # call 1's 3 s all go to the run: too short for it (importing JAX and
  # compiling take longer), so it is stopped and recorded; the diagnosis is
  # left for later.
  _call(tmp_path, "--only", "none", "--skip-diagnose")
  state = json.loads((tmp_path / "out" / "gallery.json").read_text())
  assert state["device"]["platform"] == "cpu" and state["runs"] == {}
  out = _call(tmp_path, "--time-limit", "3", "--min-start", "1", "--skip-diagnose")
  assert out.rstrip().endswith("call again to continue")
  state = json.loads((tmp_path / "out" / "gallery.json").read_text())
  run = state["runs"]["linearization"]
  assert run["status"] == "partial" and [c["status"] for c in run["calls"]] == ["stopped"]
  assert state["diagnose"] == {}
  # Call 2: the diagnosis (two variants), then the run to its end.
  out = _call(tmp_path)
  assert out.rstrip().endswith("gallery complete")
  state = json.loads((tmp_path / "out" / "gallery.json").read_text())
  assert list(state["diagnose"]) == ["default", "stats"]
  for rec in state["diagnose"].values():
    assert rec["status"] == "ok", rec
    assert rec["summary"]["compiled"] > 0 and rec["summary"]["slowest"][2] > 0
  # the stats variant's phase timers: XLA:CPU's on this machine
  labels = [p[0] for p in state["diagnose"]["stats"]["phases"]]
  assert any("CPU" in label for label in labels), labels
  run = state["runs"]["linearization"]
  assert run["status"] == "done" and [c["status"] for c in run["calls"]] == ["stopped", "ok"]
  assert run["wall_s"] == round(sum(c["seconds"] for c in run["calls"]), 1)
  assert run["calls"][-1]["points"] > 0 and run["calls"][-1]["compile"]["programs"] > 0
  assert state["xla_flags"]["flags"] == ""  # no flag-only variant was tried
  # published: the finished run's files and the page with its row
  pub = tmp_path / "docs" / "linearization" / "quick"
  assert {"config.json", "results.jsonl", "summary.md"} <= {f.name for f in pub.iterdir()}
  page = (tmp_path / "docs" / "index.md").read_text()
  assert "## Where compile time goes" in page
  assert "[`linearization`](linearization/quick/summary.md)" in page and "| done" in page
  assert json.loads((tmp_path / "docs" / "gallery.json").read_text()) == state


def _variant(status, slowest_s, flags="", sets=()):
  return {
    "status": status,
    "xla_flags": flags,
    "set": list(sets),
    "summary": {"slowest": ["jit(per_seed_radius)", 1, slowest_s]},
  }


def test_auto_flags_are_those_of_the_fastest_flag_only_variant_if_it_saves_a_third(tmp_path):
  gg = _gallery_module()
  args = argparse.Namespace(
    tiny=False,
    out_dir=tmp_path,
    docs_dir=tmp_path / "docs",
    time_limit=10,
    min_start=1,
    only="",
    variants="",
    xla_flags="auto",
  )
  diag = {
    "default": _variant("ok", 60.0),
    "float32": _variant("ok", 5.0, sets=["dtype=float32"]),  # not a flag: never chosen
    "ptxas-O0": _variant("ok", 30.0, gg.VARIANTS["ptxas-O0"][0]),
    "parallel-llvm": _variant("ok", 20.0, gg.VARIANTS["parallel-llvm"][0]),
    "libnvptxcompiler": _variant("failed", None, gg.VARIANTS["libnvptxcompiler"][0]),
  }
  g = gg.Gallery(args)
  g.state["diagnose"] = diag
  assert g.choose_flags() == gg.VARIANTS["parallel-llvm"][0]
  assert "parallel-llvm" in g.state["xla_flags"]["reason"]
  # fixed once chosen (the cache keys depend on it)
  g.state["diagnose"]["ptxas-O0"] = _variant("ok", 1.0, gg.VARIANTS["ptxas-O0"][0])
  assert g.choose_flags() == gg.VARIANTS["parallel-llvm"][0]
  # nothing saves a third: XLA's defaults
  g2 = gg.Gallery(argparse.Namespace(**{**vars(args), "out_dir": tmp_path / "b"}))
  g2.state["diagnose"] = {"default": _variant("ok", 60.0), "ptxas-O0": diag["ptxas-O0"] | {}}
  g2.state["diagnose"]["ptxas-O0"]["summary"] = {"slowest": ["m", 1, 45.0]}
  assert g2.choose_flags() == ""


def test_phase_timers_are_summed_per_phase():
  gg = _gallery_module()
  log = "\n".join(
    [
      "I1205 13:15:08.27 13018 cpu_compiler.cc:1269] Running HLO passes on [jit_a] for CPU "
      "time: 1 ms (1000 us) (cumulative: 1 ms, max: 1 ms, #called: 1)",
      "I1205 13:15:08.30 13018 cpu_compiler.cc:1269] Running HLO passes on [jit_b] for CPU "
      "time: 3 ms (3000 us) (cumulative: 4 ms, max: 3 ms, #called: 2)",
      "I1205 13:15:08.31 13018 nvptx_compiler.cc:99] Compile 12 kernels with ptxas "
      "time: 2.5 s (2500000 us) (cumulative: 2.5 s, max: 2.5 s, #called: 1)",
      "unrelated line time: nothing",
    ]
  )
  assert gg.phases(log) == [
    ["Compile N kernels with ptxas", 2.5, 1],
    ["Running HLO passes on […] for CPU", 0.004, 2],
  ]
