"""Experiments and their runs: an ``Experiment`` is four plain functions over a
typed config; ``run_experiment`` runs or resumes one in a run directory.

An experiment module defines

- ``Config``: a frozen dataclass (fields declared with ``lab.option``) with a
  ``seed: int`` field; ``PRESETS`` maps ``"quick"`` and ``"paper"`` to
  instances;
- ``points(cfg) -> list[dict]``: the sweep points (JSON-able dicts; a point's
  identity is its canonical JSON, so the list may be recomputed on resume);
- ``run_point(cfg, point) -> dict``: one point's metrics (JSON-able;
  non-finite floats are stored as ``null``). Randomness comes from
  ``cfg.seed`` and the point only;
- ``report(cfg, records, out_dir) -> str``: figures into ``out_dir`` and the
  markdown summary;

and ``EXPERIMENT = lab.Experiment.from_module(__name__, "one line")``.

Killing a run at any moment loses at most the point in flight; rerunning the
same command computes only the missing points (see ``jaxrnn.lab.store`` for
the rules that keep every record and never mislabel one).
"""

from __future__ import annotations

import dataclasses
import platform
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jaxrnn.lab import store
from jaxrnn.lab.config import ConfigError, validate_config


@dataclasses.dataclass(frozen=True)
class Experiment:
  """One experiment: its name, one-line description, config type, presets
  and the three functions ``points``, ``run_point``, ``report``."""

  name: str
  description: str
  config_type: type
  presets: Mapping[str, Any]
  points: Callable[[Any], Sequence[dict]]
  run_point: Callable[[Any, dict], dict]
  report: Callable[[Any, list, Path], str]

  @classmethod
  def from_module(cls, module_name: str, description: str, *, name: str | None = None):
    """Collects ``Config``, ``PRESETS``, ``points``, ``run_point`` and
    ``report`` from the module ``module_name`` (pass ``__name__``)."""
    mod = sys.modules[module_name]
    return cls(
      name=name or module_name.rsplit(".", 1)[-1],
      description=description,
      config_type=mod.Config,
      presets=mod.PRESETS,
      points=mod.points,
      run_point=mod.run_point,
      report=mod.report,
    )


def environment() -> dict:
  """Versions and devices, recorded in ``config.json``."""
  import jax
  import jaxlib

  return {
    "jax": jax.__version__,
    "jaxlib": jaxlib.__version__,
    "python": platform.python_version(),
    "platform": platform.platform(),
    "backend": jax.default_backend(),
    "devices": [str(d) for d in jax.devices()],
    "process_count": jax.process_count(),
    "x64": bool(jax.config.jax_enable_x64),
  }


def run_experiment(
  exp: Experiment,
  cfg,
  out_dir: Path,
  *,
  preset: str,
  fresh: bool = False,
  progress: bool = True,
  writer: bool = True,
) -> tuple[list, str]:
  """Runs (or resumes) ``exp`` with ``cfg`` in ``out_dir``.

  **Arguments:** ``exp``, ``cfg`` (validated here); ``out_dir`` the run
  directory; ``preset`` recorded in ``config.json``; ``fresh`` moves an old
  run aside first; ``progress`` shows a tqdm bar; ``writer=False`` computes
  every point but writes nothing (the other processes of a multi-process
  run, where process 0 writes).

  **Returns:** ``(records, summary_markdown)``. Raises ``ConfigError``,
  ``store.RunConflict``, ``store.RunLocked`` or ``store.StoreError``.
  """
  from tqdm import tqdm

  validate_config(cfg)
  if not isinstance(cfg, exp.config_type):
    raise ConfigError(f"{exp.name} expects a {exp.config_type.__name__}")
  out_dir = Path(out_dir)
  cfg_json = store.to_jsonable(dataclasses.asdict(cfg))
  meta = {
    "experiment": exp.name,
    "preset": preset,
    "seed": cfg.seed,
    "config": cfg_json,
    "config_hash": store.config_hash({"experiment": exp.name, "config": cfg_json}),
    "environment": environment(),
  }
  points = list(exp.points(cfg))
  keys = [store.point_key(p) for p in points]
  if len(set(keys)) != len(keys):
    raise ConfigError(f"{exp.name}: the config gives the same sweep point twice")
  if not writer:
    records = [_record(exp, cfg, p, meta["config_hash"]) for p in points]
    return records, exp.report(cfg, records, out_dir)

  out_dir.mkdir(parents=True, exist_ok=True)
  with store.RunLock(out_dir):
    if fresh:
      store.move_aside(out_dir)
    records = store.open_run(out_dir, meta)
    done = {r["key"] for r in records}
    todo = [p for p, k in zip(points, keys) if k not in done]
    res_path = out_dir / "results.jsonl"
    with tqdm(
      total=len(points),
      initial=len(points) - len(todo),
      desc=exp.name,
      unit="pt",
      disable=not progress,
      leave=False,
    ) as bar:
      for point in todo:
        record = _record(exp, cfg, point, meta["config_hash"])
        store.append_record(res_path, record)
        records.append(record)
        bar.update(1)
    wanted = set(keys)
    records = [r for r in records if r["key"] in wanted]
    summary = exp.report(cfg, records, out_dir)
    store.atomic_write_text(out_dir / "summary.md", summary)
  return records, summary


def _record(exp: Experiment, cfg, point: dict, cfg_hash: str) -> dict:
  metrics = store.to_jsonable(exp.run_point(cfg, point))
  clash = {"key", "point", "config_hash"} & set(metrics)
  if clash:
    raise ValueError(f"{exp.name}.run_point returned reserved fields {sorted(clash)}")
  return {
    "key": store.point_key(point),
    "point": store.to_jsonable(point),
    "config_hash": cfg_hash,
    **metrics,
  }
