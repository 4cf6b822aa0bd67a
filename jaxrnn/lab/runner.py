"""Experiments and their runs: an ``Experiment`` is four plain functions over a
typed config; ``run_experiment`` runs or resumes one in a run directory.

An experiment module defines

- ``Config``: a frozen dataclass (fields declared with ``lab.option``) with a
  ``seed: int`` field; ``PRESETS`` maps ``"quick"``, ``"paper"`` and ``"tiny"`` to
  instances;
- ``points(cfg) -> list[dict]``: the sweep points (JSON-able dicts; a point's
  identity is its canonical JSON, so the list may be recomputed on resume);
- ``run_point(cfg, point) -> dict``: one point's metrics (JSON-able).
  Randomness comes from ``cfg.seed`` and the point only. It may also return
  a pytree of arrays under ``"artifacts"`` (trained parameters, a
  ``TrainResult``): it is never part of the record. Such a module declares
  how to write them, ``SAVE_ARTIFACTS = fn`` with ``fn(stem, tree) -> path``
  writing ``tree`` to a file named ``stem`` plus a suffix of its choosing
  (the languages experiment writes a ``jaxrnn.flax`` checkpoint); with
  ``save_params=True`` (CLI ``--save-params``) the runner calls it with
  ``stem = DIR/params/<point digest>`` before the record, and the record
  names the file in ``params_file``. The framework itself imports no
  serializer. ``save_params`` is refused for a module without
  ``SAVE_ARTIFACTS``, which would write nothing;
- ``report(cfg, records, out_dir) -> str``: figures into ``out_dir`` and the
  markdown summary;

and ``EXPERIMENT = lab.Experiment.from_module(__name__, "one line")``.

Killing a run at any moment loses at most the point in flight; rerunning the
same command computes only the missing points (see ``jaxrnn.lab.store`` for
the rules that keep every record and never mislabel one).

Every point runs under ``jax.default_matmul_precision(MATMUL_PRECISION)``
(``"highest"``: true float32 products). The experiments measure gaps far
below the 10-bit mantissa of TensorFloat-32 and the bfloat16 passes that
JAX uses for float32 matmuls by default on GPUs and TPUs (a Taylor remainder
that shrinks with omega, a kernel's drift in 1/sqrt(m)), so the same preset must
mean the same arithmetic on every device. On a CPU nothing changes (XLA:CPU
multiplies float32 in full precision either way). ``config.json`` records it
under ``environment``; a notebook that calls the library directly on a GPU
chooses for itself, e.g. with the same context manager.

Non-finite values never pass silently. Before any work, the config must pass
``validate_config`` (finite floats, the generic size limits, the seed range)
and every sweep point must hold only finite numbers. After each point, every
metric (and every entry of an array metric) is checked: NaN and inf are
stored as ``null`` (JSON has no such numbers), the record lists them in its
``nonfinite`` field (``{"metric": "2 NaN of 4"}``), a ``NonFiniteMetrics``
warning names the point, and the summary ends with a note counting them. A
report therefore receives ``None`` for those values and must render anyway:
mark the cells ``n/a``, leave the points out of fits and figures, and say how
many were left out and why (``lab.missing_note``; ``record["nonfinite"]``
tells NaN from inf).
"""

from __future__ import annotations

import dataclasses
import math
import platform
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from jaxrnn.lab import store
from jaxrnn.lab.config import ConfigError, validate_config

#: Fields of a record that ``run_point`` may not return.
RESERVED_FIELDS = frozenset({"key", "point", "config_hash", "nonfinite", "params_file"})

#: The float32 matmul precision of every point (``jax.default_matmul_precision``).
MATMUL_PRECISION = "highest"

#: The field of ``run_point``'s result that holds arrays to save, not record.
ARTIFACTS_FIELD = "artifacts"


class NonFiniteMetrics(UserWarning):
  """A point returned NaN or inf metrics (stored as null, listed in the
  record's ``nonfinite`` field)."""


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
  #: ``save(stem, tree) -> path``: writes the ``artifacts`` (trained
  #: parameters) of ``run_point`` when ``save_params=True``; the module
  #: declares it as ``SAVE_ARTIFACTS``; None for an experiment without any
  save_artifacts: Callable[[Path, Any], Path] | None = None
  #: whether ``run_experiment`` checks every point before the first one runs
  #: (see ``check_grid``); ``from_module`` sets it (``PREFLIGHT``, default
  #: ``True``)
  preflight: bool = False

  @property
  def saves_params(self) -> bool:
    """Whether ``save_params`` / ``--save-params`` writes anything."""
    return self.save_artifacts is not None

  @classmethod
  def from_module(cls, module_name: str, description: str, *, name: str | None = None):
    """Collects ``Config``, ``PRESETS``, ``points``, ``run_point`` and
    ``report`` (and ``SAVE_ARTIFACTS``, default None, and ``PREFLIGHT``,
    default ``True``) from the module ``module_name`` (pass ``__name__``)."""
    mod = sys.modules[module_name]
    return cls(
      name=name or module_name.rsplit(".", 1)[-1],
      description=description,
      config_type=mod.Config,
      presets=mod.PRESETS,
      points=mod.points,
      run_point=mod.run_point,
      report=mod.report,
      save_artifacts=getattr(mod, "SAVE_ARTIFACTS", None),
      preflight=bool(getattr(mod, "PREFLIGHT", True)),
    )


def width_points(cfg: Any) -> list[dict]:
  """One point ``{"m": m}`` per width of ``cfg.ms``: the ``points`` of an
  experiment that runs one sweep over seeds per width."""
  return [{"m": m} for m in cfg.ms]


#: The entries of ``environment()`` that can change a record's numbers: the
#: JAX build, the devices (their kind and number set how ``jaxrnn.sweep``
#: lays out the seeds, which moves the last bits), the dtype rules, the
#: matmul precision. A run directory is resumed only under the same values
#: (``store.open_run``).
RESULT_ENVIRONMENT = (
  "jax",
  "jaxlib",
  "backend",
  "device_kind",
  "device_count",
  "process_count",
  "x64",
  "dtype_promotion",
  "matmul_precision",
)


def environment() -> dict:
  """Versions and devices, recorded in ``config.json`` (the entries named in
  ``RESULT_ENVIRONMENT`` decide whether a run may be resumed)."""
  import jax
  import jaxlib

  devices = jax.devices()
  return {
    "jax": jax.__version__,
    "jaxlib": jaxlib.__version__,
    "python": platform.python_version(),
    "platform": platform.platform(),
    "backend": jax.default_backend(),
    "devices": [str(d) for d in devices],
    "device_kind": devices[0].device_kind,
    "device_count": len(devices),
    "process_count": jax.process_count(),
    "x64": bool(jax.config.jax_enable_x64),
    "dtype_promotion": str(jax.config.jax_numpy_dtype_promotion),
    "matmul_precision": MATMUL_PRECISION,
  }


def check_environment() -> None:
  """The environment variable jaxrnn reads (``JAXRNN_ALLOW_LARGE``) holds a
  valid value; ``ConfigError`` naming it otherwise, before any work."""
  import jaxrnn

  try:
    jaxrnn.check_sweep_environment()
  except ValueError as e:
    raise ConfigError(str(e)) from None


def check_grid(exp: Experiment, cfg: Any, points: Sequence[dict], cfg_hash: str) -> dict:
  """Checks every point before the first one runs; returns the points it
  computed, ``{key: (record, artifacts)}``.

  Each point's ``run_point`` runs inside ``jaxrnn.sweep``'s ``plan_only()``:
  up to its first sweep, whose program is compiled (and cached for the real
  run) and whose memory is compared with what is available, raising
  ``ResourceError`` (a ``MemoryError``) where the point would; nothing is
  run. So a grid whose last point cannot fit is refused before the first
  point is computed, and a value that only a point's own code refuses (a
  ``ValueError`` or an arithmetic error before its first sweep) becomes a
  ``ConfigError`` naming the point. A point that returns without calling
  ``sweep`` has simply been computed; its result is returned so that it is
  not computed twice (it is written in its turn, after the check). Runs
  only for experiments with ``preflight`` and more than one point."""
  if not exp.preflight or len(points) < 2:
    return {}
  import jaxrnn

  done = {}
  for point in points:
    try:
      with jaxrnn.sweep_plan_only():
        done[store.point_key(point)] = _record(exp, cfg, point, cfg_hash)
    except jaxrnn.SweepPlanned:
      continue
    except (ValueError, ArithmeticError) as e:
      if isinstance(e, ConfigError):
        raise
      raise ConfigError(
        f"{exp.name}: point {store.point_key(point)} cannot run: {e}; nothing was run"
      ) from e
  return done


def run_experiment(
  exp: Experiment,
  cfg: Any,
  out_dir: Path,
  *,
  preset: str,
  fresh: bool = False,
  progress: bool = True,
  writer: bool = True,
  allow_large: bool = False,
  save_params: bool = False,
  accept_environment: bool = False,
  overrides: Mapping[str, Any] | None = None,
) -> tuple[list, str]:
  """Runs (or resumes) ``exp`` with ``cfg`` in ``out_dir``.

  **Arguments:** ``exp``, ``cfg`` (validated here); ``out_dir`` the run
  directory; ``preset`` recorded in ``config.json``; ``fresh`` moves an old
  run aside first; ``progress`` shows a tqdm bar; ``writer=False`` computes
  every point but writes nothing (the other processes of a multi-process
  run, where process 0 writes); ``allow_large`` lifts the generic size limit
  of ``validate_config``; ``save_params`` writes each new point's
  ``artifacts`` (see the module docstring; points already stored keep no
  artifacts, so use it on a fresh directory); it is refused with a
  ``ConfigError`` for an experiment without parameters to save
  (``exp.saves_params`` false), which would otherwise write nothing;
  ``accept_environment`` resumes a run directory whose records were made in
  another environment (``RESULT_ENVIRONMENT``), which is otherwise refused
  with ``store.RunConflict``; ``config.json`` then keeps the environment of
  the earlier records and lists the new one under ``resumed_environments``;
  ``overrides`` (the fields the command line changed from the preset) is
  recorded in ``config.json`` under ``overrides``.

  Before the first point: the config (``validate_config``), the environment
  variables (``check_environment``), and every point to compute
  (``check_grid``: memory and the points' own value checks).

  **Returns:** ``(records, summary_markdown)``. Raises ``ConfigError``
  (before any computation), ``store.RunConflict``, ``store.RunLocked`` or
  ``store.StoreError``. Warns ``NonFiniteMetrics`` for each point with NaN or
  inf metrics.
  """
  from tqdm import tqdm

  validate_config(cfg, allow_large=allow_large)
  if not isinstance(cfg, exp.config_type):
    raise ConfigError(f"{exp.name} expects a {exp.config_type.__name__}")
  if save_params and not exp.saves_params:
    raise ConfigError(f"{exp.name} trains no parameters to save (save_params / --save-params)")
  check_environment()
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
  if overrides:
    meta["overrides"] = store.to_jsonable(dict(overrides))
  points = list(exp.points(cfg))
  for p in points:
    _check_point(exp, p)
  keys = [store.point_key(p) for p in points]
  if len(set(keys)) != len(keys):
    raise ConfigError(f"{exp.name}: the config gives the same sweep point twice")
  if not writer:
    checked = check_grid(exp, cfg, points, meta["config_hash"])
    records = [
      (checked[k] if k in checked else _record(exp, cfg, p, meta["config_hash"]))[0]
      for p, k in zip(points, keys)
    ]
    return records, exp.report(cfg, records, out_dir) + _nonfinite_note(records)

  out_dir.mkdir(parents=True, exist_ok=True)
  with store.RunLock(out_dir):
    if fresh:
      store.move_aside(out_dir)
    records = store.open_run(
      out_dir, meta, result_environment=RESULT_ENVIRONMENT, accept_environment=accept_environment
    )
    done = {r["key"] for r in records}
    todo = [p for p, k in zip(points, keys) if k not in done]
    checked = check_grid(exp, cfg, todo, meta["config_hash"])
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
        key = store.point_key(point)
        if key in checked:
          record, artifacts = checked.pop(key)
        else:
          record, artifacts = _record(exp, cfg, point, meta["config_hash"])
        if save_params and artifacts is not None:
          record["params_file"] = _save_artifacts(exp, out_dir, record["key"], artifacts)
        store.append_record(res_path, record)
        records.append(record)
        bar.update(1)
    wanted = set(keys)
    records = [r for r in records if r["key"] in wanted]
    summary = exp.report(cfg, records, out_dir) + _nonfinite_note(records)
    store.atomic_write_text(out_dir / "summary.md", summary)
  return records, summary


def _check_point(exp: Experiment, point) -> None:
  """A sweep point is a dict of finite JSON values (a NaN would be stored as
  null and make two points one)."""
  if not isinstance(point, dict):
    raise ConfigError(f"{exp.name}: a sweep point must be a dict, got {point!r}")
  bad = nonfinite_entries(point)
  if bad:
    raise ConfigError(
      f"{exp.name}: sweep point {point!r} holds non-finite values ({_describe(bad)})"
    )


def nonfinite_entries(tree, prefix: str = "") -> dict[str, str]:
  """``{path: "2 NaN, 1 +inf of 8"}`` for every leaf of ``tree`` (dicts,
  lists, tuples, NumPy/JAX arrays, numbers) that holds NaN or inf; paths
  join dict keys with ``.``. Reads the values on the host."""
  import numpy as np

  out = {}
  if isinstance(tree, dict):
    for k, v in tree.items():
      out.update(nonfinite_entries(v, f"{prefix}.{k}" if prefix else str(k)))
    return out
  if isinstance(tree, (str, bytes, bool)) or tree is None:
    return out
  if isinstance(tree, (list, tuple)) and not _numeric(tree):
    for i, v in enumerate(tree):  # mixed, ragged or with None (missing by design)
      out.update(nonfinite_entries(v, f"{prefix}[{i}]"))
    return out
  if isinstance(tree, float):
    if not math.isfinite(tree):
      out[prefix] = "NaN" if math.isnan(tree) else ("+inf" if tree > 0 else "-inf")
    return out
  try:
    arr = np.asarray(tree)
  except (TypeError, ValueError):
    return out
  if not np.issubdtype(arr.dtype, np.inexact):
    return out
  nan = int(np.isnan(arr).sum())
  pinf = int(np.isposinf(arr).sum())
  ninf = int(np.isneginf(arr).sum())
  if nan + pinf + ninf:
    if arr.ndim == 0:
      out[prefix] = "NaN" if nan else ("+inf" if pinf else "-inf")
    else:
      parts = [f"{n} {k}" for n, k in ((nan, "NaN"), (pinf, "+inf"), (ninf, "-inf")) if n]
      out[prefix] = f"{', '.join(parts)} of {arr.size}"
  return out


def _numeric(seq) -> bool:
  import numpy as np

  try:
    return np.asarray(seq).dtype.kind in "biuf"
  except (TypeError, ValueError):
    return False


def _describe(bad: dict[str, str], most: int = 4) -> str:
  items = [f"{k}: {v}" for k, v in list(bad.items())[:most]]
  more = len(bad) - most
  return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


def _save_artifacts(exp: Experiment, out_dir: Path, key: str, tree) -> str:
  """Writes ``tree`` with the experiment's ``save_artifacts`` to
  ``params/<digest of key>`` plus its suffix (before the record that names
  it, so a stored record's file always exists) and returns the path
  relative to ``out_dir``."""
  import hashlib

  stem = out_dir / "params" / hashlib.sha256(key.encode()).hexdigest()[:16]
  stem.parent.mkdir(parents=True, exist_ok=True)
  path = Path(exp.save_artifacts(stem, tree))
  return path.relative_to(out_dir).as_posix()


def _record(exp: Experiment, cfg, point: dict, cfg_hash: str) -> tuple[dict, Any]:
  """``(record, artifacts)`` of one point (``artifacts`` None when the
  experiment returns none); runs under ``MATMUL_PRECISION``."""
  import jax

  with jax.default_matmul_precision(MATMUL_PRECISION):
    raw = exp.run_point(cfg, point)
  if not isinstance(raw, dict):
    raise TypeError(f"{exp.name}.run_point must return a dict, got {type(raw).__name__}")
  raw = dict(raw)
  artifacts = raw.pop(ARTIFACTS_FIELD, None)
  clash = RESERVED_FIELDS & set(map(str, raw))
  if clash:
    raise ValueError(f"{exp.name}.run_point returned reserved fields {sorted(clash)}")
  bad = nonfinite_entries(raw)
  record = {
    "key": store.point_key(point),
    "point": store.to_jsonable(point),
    "config_hash": cfg_hash,
    **store.to_jsonable(raw),
  }
  if bad:
    record["nonfinite"] = bad
    warnings.warn(
      f"{exp.name} point {store.point_key(point)}: non-finite metrics stored as null "
      f"({_describe(bad)})",
      NonFiniteMetrics,
      stacklevel=3,
    )
  return record, artifacts


def _nonfinite_note(records: list) -> str:
  """A closing note of the summary counting the points with non-finite
  metrics; '' when there are none."""
  hit = [r for r in records if r.get("nonfinite")]
  if not hit:
    return ""
  names = sorted({k for r in hit for k in r["nonfinite"]})
  shown = ", ".join(f"`{n}`" for n in names[:8]) + (" ..." if len(names) > 8 else "")
  return (
    f"\n\n> **Non-finite metrics:** {len(hit)} of {len(records)} points returned NaN or "
    f"inf (stored as null; each record's `nonfinite` field says which): {shown}.\n"
  )
