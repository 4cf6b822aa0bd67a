"""Limits before work: values that cannot work are
refused before any computation with one line and exit status 2 (the old CLI
gave tracebacks, an XLA abort, or exit 0 with an empty table), and memory
errors during the work end the same way with the finished points kept.
"""

import subprocess
import sys

import pytest

from jaxrnn import cli, experiments


def run_main(capsys, *args):
  """Runs the CLI in-process; returns (status, stdout, stderr)."""
  try:
    status = cli.main(list(args))
  except SystemExit as e:
    status = e.code
  out = capsys.readouterr()
  return status, out.out, out.err


@pytest.mark.parametrize(
  "args,message",
  [
    (["--seed", "4611686018427387904"], "seed: must lie in [0, 2147483647]"),
    (["--seed", "-1"], "seed: must lie in [0, 2147483647]"),
    (["--seed", "2^62"], "argument --seed: invalid int value: '2^62'"),
    (["--set", "seed=1e23"], "seed: 1e23 is out of range"),
    (["--set", "eps_x=inf"], "eps_x: must be finite, got inf"),
    (["--set", "eps_x=nan"], "eps_x: must be finite, got nan"),
    (["--set", "eps_x=1e300"], "eps_x: 1e+300 is beyond the limit 1e+06"),
    (["--set", "omegas=0.1,inf"], "omegas: must be finite, got inf"),
    (["--set", "ms=1e7"], "ms: 10000000 is beyond the limit 1e+06"),
    (["--set", "num_seeds=2e9"], "num_seeds: 2000000000 is beyond the limit 1e+06"),
    (["--set", "ms=8,1e400"], "ms: expected an int, got '1e400'"),
  ],
)
def test_impossible_values_are_refused_before_any_work(args, message, tmp_path, capsys):
  out = tmp_path / "out"
  status, _, err = run_main(capsys, "run", "linearization", "--out", str(out), *args)
  assert status == 2, err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in err, err
  assert message in lines[0]
  assert not out.exists()  # nothing was started


def test_allow_large_lifts_the_generic_limit(tmp_path, capsys, monkeypatch):
  from tests import _fake_experiment as F

  F.install(monkeypatch)
  args = ["run", F.NAME, "--out", str(tmp_path), "--no-progress", "--set", "nan_every=2000000"]
  status, _, err = run_main(capsys, *args)
  assert status == 2 and "pass --allow-large to try anyway" in err
  status, _, err = run_main(capsys, *args, "--allow-large")
  assert status == 0, err


def _failing_experiment(monkeypatch, error):
  import dataclasses

  from tests import _fake_experiment as F

  def run_point(cfg, point):
    if point["i"] == 3:
      error()
    return F.run_point(cfg, point)

  exp = dataclasses.replace(F.EXPERIMENT, run_point=run_point)
  monkeypatch.setattr(experiments, "get", lambda name: exp)
  return F


def _estimate_refuses():
  from jaxrnn.checks import ResourceError

  raise ResourceError("the sweep needs ~12.0 GiB on cpu:0,\nonly 3.1 GiB are available")


def _xla_out_of_memory():
  import jax.numpy as jnp

  jnp.zeros((10**7, 10**7)).block_until_ready()  # XLA: RESOURCE_EXHAUSTED


@pytest.mark.parametrize(
  "error,message",
  [
    (_estimate_refuses, "not enough memory: the sweep needs ~12.0 GiB on cpu:0,"),
    (_xla_out_of_memory, "out of memory while computing (RESOURCE_EXHAUSTED"),
  ],
)
@pytest.mark.slow
def test_memory_errors_are_one_line_and_keep_the_done_points(
  error, message, tmp_path, capsys, monkeypatch
):
  F = _failing_experiment(monkeypatch, error)
  status, _, err = run_main(capsys, "run", F.NAME, "--out", str(tmp_path), "--no-progress")
  assert status == 2, err
  lines = err.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in err, err
  assert lines[0].startswith("jaxrnn: error: " + message), lines[0]
  assert [r["point"]["i"] for r in F.records(tmp_path)] == [0, 1, 2]


@pytest.mark.slow
def test_a_closed_pipe_ends_quietly(tmp_path):
  proc = subprocess.Popen(
    [sys.executable, "-m", "jaxrnn", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
  )
  proc.stdout.close()  # the reader is gone, like `jaxrnn list | head -0`
  err = proc.stderr.read().decode()
  proc.wait(timeout=120)
  assert "Traceback" not in err, err
