"""Limits are checked for the whole grid before the first point runs: a
grid whose last point cannot fit in memory, or whose last point's own code
refuses a value, is refused with one line before any record is written
(the runner plans every point's first sweep, running nothing); and the
sequence length is limited to what the reports can summarize in bounded
time."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import jaxrnn
from jaxrnn import cli, experiments
from jaxrnn.experiments import backward_correlation

REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Config:
  sizes: tuple[int, ...] = (4, 4, 4)
  refuse_at: int = -1  # this point's own code raises ValueError before its sweep
  seed: int = 0


CALLS = []


def _points(cfg):
  return [{"i": i} for i in range(len(cfg.sizes))]


def _run_point(cfg, point):
  i = point["i"]
  CALLS.append(i)
  if i == cfg.refuse_at:
    raise ValueError(f"size {cfg.sizes[i]} is not supported here")
  n = cfg.sizes[i]
  fn = lambda key: jnp.zeros((n,)) + jax.random.normal(key, ())
  out = jaxrnn.sweep(fn, jaxrnn.seed_keys(0, 2))
  return {"v": float(out.sum())}


def _report(cfg, records, out_dir):
  return f"{len(records)} records\n"


GRID = experiments.Experiment(
  name="grid",
  description="points with sweeps of chosen sizes",
  config_type=Config,
  presets={"quick": Config()},
  points=_points,
  run_point=_run_point,
  report=_report,
  # (a framework without the grid check has no such field; the tests then fail, not error)
  **({"preflight": True} if "preflight" in experiments.Experiment.__dataclass_fields__ else {}),
)


def _run(tmp_path, cfg):
  CALLS.clear()
  # allow_large lifts the generic limit on config values, not the memory check
  return experiments.run_experiment(
    GRID, cfg, tmp_path / "run", preset="quick", progress=False, allow_large=True
  )


@pytest.mark.slow
def test_a_last_point_that_cannot_fit_is_refused_before_the_first_point_runs(tmp_path):
  with pytest.raises(MemoryError, match="Nothing was run"):
    _run(tmp_path, Config(sizes=(4, 4, 10**12)))  # 4 TB of float32 per seed
  assert not (tmp_path / "run" / "results.jsonl").exists()


@pytest.mark.slow
def test_a_value_that_a_later_point_refuses_stops_the_run_before_any_record(tmp_path):
  with pytest.raises(experiments.ConfigError, match=r'point \{"i":2\} cannot run: size 4'):
    _run(tmp_path, Config(refuse_at=2))
  assert not (tmp_path / "run" / "results.jsonl").exists()


@pytest.mark.slow
def test_the_check_compiles_each_program_once_and_the_records_are_the_same(tmp_path):
  records, _ = _run(tmp_path, Config(sizes=(3, 5, 7)))
  assert [r["point"]["i"] for r in records] == [0, 1, 2]
  assert CALLS == [0, 1, 2, 0, 1, 2]  # checked up to the sweep, then run
  plain = dataclasses.replace(GRID, preflight=False)
  CALLS.clear()
  again, _ = experiments.run_experiment(
    plain, Config(sizes=(3, 5, 7)), tmp_path / "plain", preset="quick", progress=False
  )
  assert CALLS == [0, 1, 2]
  assert [r["v"] for r in again] == [r["v"] for r in records]


@pytest.mark.slow
def test_the_issue_grid_refuses_its_large_width_before_writing_the_small_one(tmp_path):
  """``--set ms=16,1000000``: the m = 10^6 point needs tens of TiB; the
  m = 16 record used to be written before the refusal."""
  env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO))
  sets = ["ms=16,1000000", "d_outs=1", "L=4", "num_seeds=2", "num_sequences=2"]
  argv = [sys.executable, "-m", "jaxrnn", "run", "backward_correlation", "--no-progress"]
  argv += ["--out", str(tmp_path)] + [a for s in sets for a in ("--set", s)]
  res = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env)
  assert res.returncode == 2, res.stderr
  lines = res.stderr.strip().splitlines()
  assert len(lines) == 1 and "not enough memory" in lines[0] and "Nothing was run" in lines[0]
  assert not any(p.read_bytes() for p in tmp_path.rglob("results.jsonl"))  # no record written


def test_the_sequence_length_is_limited_to_what_the_reports_summarize():
  cfg = backward_correlation.PRESETS["quick"]
  with pytest.raises(experiments.ConfigError, match=r"L: must be <= 1000 .*--allow-large"):
    experiments.apply_overrides(cfg, ["L=1000000"])
  experiments.apply_overrides(cfg, ["L=1000"])
  assert experiments.apply_overrides(cfg, ["L=1000000"], allow_large=True).L == 10**6


@pytest.mark.slow
def test_the_cli_refuses_a_long_sequence_with_one_line(capsys):
  status = cli.main(["run", "backward_correlation", "--set", "L=1000000"])
  err = capsys.readouterr().err
  assert status == 2 and len(err.strip().splitlines()) == 1 and "L: must be <= 1000" in err
