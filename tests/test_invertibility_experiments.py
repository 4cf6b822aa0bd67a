"""Smoke tests of the Sec. 4.2-4.4 experiments on tiny configs."""

import dataclasses

import pytest

from jaxrnn import experiments as runner
from jaxrnn.experiments import invertibility, rerandomization

TINY = {
  "invertibility": (
    invertibility,
    dict(ms=(16, 32), Ls=(3, 4), eps_xs=(0.05,), num_seeds=2, num_sequences=4, num_train=8),
  ),
  "rerandomization": (
    rerandomization,
    dict(ms=(16, 32), num_blocks=(2, 4), L=3, num_seeds=2, num_sequences=2, wbar_max_m=16),
  ),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_experiment_runs_and_reports(name, tmp_path):
  mod, over = TINY[name]
  exp = mod.EXPERIMENT
  assert exp.name == name
  for preset in ("quick", "paper"):
    runner.validate_config(exp.presets[preset])
  cfg = dataclasses.replace(exp.presets["quick"], **over)
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert len(records) == len(mod.points(cfg))
  assert "## Reading" in summary and "Design choices" in summary
  assert list(tmp_path.glob("*.png"))
  # Resuming computes nothing new and gives the same summary.
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="quick", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="num_blocks"):
    runner.apply_overrides(rerandomization.PRESETS["quick"], ["num_blocks=3"])
  with pytest.raises(runner.ConfigError, match="Ls"):
    runner.apply_overrides(invertibility.PRESETS["quick"], ["Ls=2"])
