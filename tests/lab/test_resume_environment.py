"""A resume in another environment is refused: records made with two
devices and records made with one would otherwise sit in one
``results.jsonl``, and ``config.json`` was rewritten to describe only the
second. ``--accept-environment`` resumes anyway and lists both; an ordinary
resume leaves ``config.json`` as it is."""

import json
import os
import subprocess

import pytest

from jaxrnn.lab import runner
from tests import _fake_experiment as F

TWO_DEVICES = "--xla_force_host_platform_device_count=2"


def _run(out, *args, xla_flags=""):
  env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS=xla_flags)
  return subprocess.run(
    F.launcher("run", F.NAME, "--out", str(out), "--no-progress", *args),
    capture_output=True,
    text=True,
    timeout=120,
    env=env,
  )


@pytest.fixture
def interrupted_on_two_devices(tmp_path):
  """A run of 30 points on two CPU devices whose last 10 records are gone
  (as after an interruption); returns (out, results bytes, config bytes)."""
  out = tmp_path / "out"
  res = _run(out, "--seed", "3", xla_flags=TWO_DEVICES)
  assert res.returncode == 0, res.stderr
  run_dir = F.run_dir(out)
  cfg = json.loads((run_dir / "config.json").read_text())
  assert len(cfg["environment"]["devices"]) == 2
  path = run_dir / "results.jsonl"
  lines = path.read_bytes().split(b"\n")[:20]
  path.write_bytes(b"\n".join(lines) + b"\n")
  return out, path.read_bytes(), (run_dir / "config.json").read_bytes()


@pytest.mark.slow
def test_a_resume_on_another_device_count_is_refused_and_changes_nothing(
  interrupted_on_two_devices,
):
  out, raw, cfg_raw = interrupted_on_two_devices
  res = _run(out, "--seed", "3")  # one device now
  assert res.returncode == 2, (res.returncode, res.stderr)
  lines = res.stderr.strip().splitlines()
  assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
  assert "device_count: 2 -> 1" in lines[0]
  for way in ("--fresh", "--out", "--accept-environment"):
    assert way in lines[0]
  run_dir = F.run_dir(out)
  assert (run_dir / "results.jsonl").read_bytes() == raw
  assert (run_dir / "config.json").read_bytes() == cfg_raw


@pytest.mark.slow
def test_accept_environment_resumes_and_config_json_lists_both(interrupted_on_two_devices):
  out, raw, _ = interrupted_on_two_devices
  res = _run(out, "--seed", "3", "--accept-environment")
  assert res.returncode == 0, res.stderr
  run_dir = F.run_dir(out)
  assert (run_dir / "results.jsonl").read_bytes().startswith(raw)
  assert len(F.records(out)) == 30
  cfg = json.loads((run_dir / "config.json").read_text())
  assert cfg["environment"]["device_count"] == 2  # what made records 1-20
  (later,) = cfg["resumed_environments"]
  assert later["from_record"] == 21 and later["environment"]["device_count"] == 1
  # resuming again in the new environment needs no flag and changes nothing
  before = (run_dir / "config.json").read_bytes()
  res = _run(out, "--seed", "3")
  assert res.returncode == 0, res.stderr
  assert (run_dir / "config.json").read_bytes() == before


@pytest.mark.slow
def test_an_ordinary_resume_does_not_rewrite_config_json(tmp_path):
  out = tmp_path / "out"
  assert _run(out, "--seed", "4").returncode == 0
  run_dir = F.run_dir(out)
  path = run_dir / "results.jsonl"
  path.write_bytes(b"\n".join(path.read_bytes().split(b"\n")[:5]) + b"\n")
  cfg = run_dir / "config.json"
  cfg.write_bytes(cfg.read_bytes().replace(b'"platform"', b'"platform" ', 1))  # a marker
  marked = cfg.read_bytes()
  res = _run(out, "--seed", "4")
  assert res.returncode == 0, res.stderr
  assert cfg.read_bytes() == marked and len(F.records(out)) == 30


def test_the_environment_records_what_changes_results():
  env = runner.environment()
  for key in runner.RESULT_ENVIRONMENT:
    assert key in env, key
  for key in ("device_kind", "device_count", "x64", "dtype_promotion", "matmul_precision", "jax"):
    assert key in runner.RESULT_ENVIRONMENT
