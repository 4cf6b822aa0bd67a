"""Every point of an experiment runs under true float32 matmuls
(``lab.runner.MATMUL_PRECISION``), whatever JAX's default is on the device,
and ``config.json`` says so."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn import lab
from jaxrnn.lab import runner

pytestmark = pytest.mark.slow  # every test here starts processes or runs experiments


@dataclasses.dataclass(frozen=True)
class Config:
  seed: int = 0


def _points(cfg):
  return [{"i": 0}, {"i": 1}]


def _run_point(cfg, point):
  # What a jitted product traced inside the point sees.
  x = jnp.arange(6.0).reshape(2, 3)
  y = np.asarray(jax.jit(lambda a: a @ a.T)(x))
  return {"precision": str(jax.config.jax_default_matmul_precision), "y00": float(y[0, 0])}


def _report(cfg, records, out_dir):
  return "# precision\n"


EXP = lab.Experiment(
  name="precision_probe",
  description="records the matmul precision its points see",
  config_type=Config,
  presets={"quick": Config()},
  points=_points,
  run_point=_run_point,
  report=_report,
)


def test_points_run_under_highest_precision_and_it_is_recorded(tmp_path):
  before = jax.config.jax_default_matmul_precision
  records, _ = lab.run_experiment(EXP, Config(), tmp_path, preset="quick", progress=False)
  assert runner.MATMUL_PRECISION == "highest"
  assert [r["precision"] for r in records] == ["highest", "highest"]
  assert [r["y00"] for r in records] == [5.0, 5.0]
  # The scope ends with the point: nothing global is left changed.
  assert jax.config.jax_default_matmul_precision == before
  meta = json.loads((tmp_path / "config.json").read_text())
  assert meta["environment"]["matmul_precision"] == "highest"
