"""A fake experiment for the fault-injection tests: no JAX, one point per
index, so a run of 30 points takes milliseconds (or ``delay`` seconds per
point, for tests that need a run to be in flight).

It uses only what the CLI needs of an experiment (``jaxrnn.experiments.
Experiment`` and ``experiments.get``), so the same tests run against older
versions of the framework. ``install(monkeypatch)`` makes ``jaxrnn run fake``
find it in-process; ``launcher(...)`` is a ``python -c`` program that does the
same in a subprocess.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

from jaxrnn import experiments

NAME = "fake"


@dataclasses.dataclass(frozen=True)
class Config:
  n: int = 30
  delay: float = 0.0
  nan_every: int = 0  # every k-th point returns NaN / inf metrics (0: none)
  seed: int = 0


def points(cfg):
  return [{"i": i} for i in range(cfg.n)]


#: Environment variable naming a file: point 1 waits until it exists, so a
#: test can hold a run in flight (with its lock) as long as it needs.
GATE = "JAXRNN_FAKE_GATE"


def run_point(cfg, point):
  i = point["i"]
  gate = os.environ.get(GATE)
  if gate and i == 1:
    while not os.path.exists(gate):
      time.sleep(0.02)
  if cfg.delay:
    time.sleep(cfg.delay)
  value = i + 1000.0 * cfg.seed
  if cfg.nan_every and i % cfg.nan_every == 0:
    return {"v": math.nan, "per_seed": [1.0, math.inf, math.nan], "seed": cfg.seed}
  return {"v": value, "per_seed": [value, value + 0.5, value + 0.25], "seed": cfg.seed}


def report(cfg, records, out_dir):
  rows = [f"| {r['point']['i']} | {'n/a' if r['v'] is None else r['v']} |" for r in records]
  return "# fake\n\n| i | v |\n| --- | --- |\n" + "\n".join(rows) + "\n"


EXPERIMENT = experiments.Experiment(
  name=NAME,
  description="fake experiment for the fault-injection tests",
  config_type=Config,
  presets={"quick": Config(), "paper": Config(n=60)},
  points=points,
  run_point=run_point,
  report=report,
)


def install(monkeypatch) -> None:
  """Makes ``experiments.get("fake")`` return the fake experiment."""
  real_get = experiments.get
  monkeypatch.setattr(
    experiments, "get", lambda name: EXPERIMENT if name == NAME else real_get(name)
  )


def launcher(*cli_args: str) -> list[str]:
  """argv of a subprocess that runs ``jaxrnn <cli_args>`` with the fake
  experiment installed."""
  here = os.path.dirname(os.path.abspath(__file__))
  code = (
    f"import sys; sys.path.insert(0, {here!r}); import _fake_experiment as F; "
    "from jaxrnn import experiments, cli; real = experiments.get; "
    "experiments.get = lambda n: F.EXPERIMENT if n == F.NAME else real(n); "
    "sys.exit(cli.main(sys.argv[1:]))"
  )
  return [sys.executable, "-c", code, *cli_args]


def run_dir(out: Path, preset: str = "quick", sets=()) -> Path:
  """Where ``jaxrnn run fake --preset PRESET --set SETS...`` writes."""
  from jaxrnn import cli

  return cli.run_dir(out, EXPERIMENT, preset, sets)


def records(out: Path, preset: str = "quick", sets=()) -> list[dict]:
  path = run_dir(out, preset, sets) / "results.jsonl"
  return [json.loads(line) for line in path.read_text().splitlines()]
