"""Experiment runner: typed configs, resumable sweeps, summaries.

An experiment is an ``Experiment`` record of plain functions:

- ``config_type``: a frozen dataclass with a ``seed: int`` field and a
  ``validate()`` method raising ``ConfigError``; ``presets`` maps ``"quick"``
  and ``"paper"`` to instances.
- ``points(cfg) -> list[dict]``: the sweep points, JSON-able dicts. A point's
  identity is its canonical JSON, so the list may be recomputed on resume.
- ``run_point(cfg, point) -> dict``: computes one point's metrics (JSON-able;
  non-finite floats become ``null``). Randomness comes from ``cfg.seed`` and
  the point, never from global state.
- ``report(cfg, records, out_dir) -> str``: writes figures (PNG) into
  ``out_dir`` through ``save_figure`` and returns the markdown summary.

``run_experiment`` lays out one run directory::

    DIR/config.json     the config, preset, seed, jax/jaxlib versions, devices
    DIR/results.jsonl   one record per completed point, appended and fsynced
    DIR/*.png           figures
    DIR/summary.md      the markdown summary

Killing the process at any moment loses at most the point in flight: each
record is one ``write`` of one line followed by ``fsync``, a torn last line is
dropped on the next start, and points already on disk are skipped, so a rerun
computes only what is missing and never writes a point twice. ``config.json``,
``summary.md`` and figures are written to a temporary file and renamed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import tempfile
import typing
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import jax
import numpy as np


class ConfigError(ValueError):
  """A configuration value is invalid; the message names the field."""


@dataclasses.dataclass(frozen=True)
class Experiment:
  name: str
  description: str
  config_type: type
  presets: Mapping[str, Any]
  points: Callable[[Any], Sequence[dict]]
  run_point: Callable[[Any, dict], dict]
  report: Callable[[Any, list, Path], str]


# --------------------------------------------------------------------------
# Configs


def _field_types(cls) -> dict[str, Any]:
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _parse_scalar(text: str, typ, field: str):
  if typ is bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
      return True
    if low in ("0", "false", "no", "off"):
      return False
    raise ConfigError(f"{field}: expected a bool, got {text!r}")
  if typ in (int, float):
    try:
      return typ(text)
    except ValueError:
      raise ConfigError(f"{field}: expected {typ.__name__}, got {text!r}") from None
  if typ is str:
    return text
  raise ConfigError(f"{field}: cannot be set from the command line")


def parse_value(text: str, typ, field: str):
  """Parses ``text`` as a value of the annotated type ``typ``
  (int, float, str, bool, or ``tuple[T, ...]`` written comma-separated)."""
  origin = typing.get_origin(typ)
  if origin is tuple:
    (elem, *rest) = typing.get_args(typ)
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
      raise ConfigError(f"{field}: expected a comma-separated list, got {text!r}")
    return tuple(_parse_scalar(p.strip(), elem, field) for p in parts)
  return _parse_scalar(text, typ, field)


def apply_overrides(cfg, overrides: Sequence[str]):
  """Returns ``cfg`` with ``key=value`` overrides applied and validated."""
  types = _field_types(type(cfg))
  changes = {}
  for item in overrides:
    if "=" not in item:
      raise ConfigError(f"--set expects key=value, got {item!r}")
    key, value = item.split("=", 1)
    key = key.strip()
    if key not in types:
      raise ConfigError(
          f"unknown config key {key!r}; known keys: {', '.join(sorted(types))}")
    changes[key] = parse_value(value.strip(), types[key], key)
  new = dataclasses.replace(cfg, **changes)
  validate_config(new)
  return new


def validate_config(cfg) -> None:
  """Type-checks every field against its annotation, then ``cfg.validate()``."""
  for name, typ in _field_types(type(cfg)).items():
    value = getattr(cfg, name)
    origin = typing.get_origin(typ)
    if origin is tuple:
      elem = typing.get_args(typ)[0]
      if not isinstance(value, tuple) or not value:
        raise ConfigError(f"{name}: expected a non-empty tuple, got {value!r}")
      if not all(_is_type(v, elem) for v in value):
        raise ConfigError(f"{name}: expected {elem.__name__} entries, got {value!r}")
    elif not _is_type(value, typ):
      raise ConfigError(f"{name}: expected {getattr(typ, '__name__', typ)}, got {value!r}")
  _check_common_fields(cfg)
  if hasattr(cfg, "validate"):
    cfg.validate()


# Fields that mean the same in every experiment's config, checked here once;
# an experiment's ``validate()`` adds what is specific to it.
_COMMON_CHECKS = {
    "num_seeds": (lambda v: v >= 1, "must be >= 1"),
    "num_sequences": (lambda v: v >= 1, "must be >= 1"),
    "eps_x": (lambda v: v > 0, "must be > 0"),
    "L": (lambda v: v >= 2, "must be >= 2 (Def. 3.1 has two bias tokens)"),
    "dtype": (lambda v: v in ("float32", "float64"), "must be float32 or float64"),
    "ms": (lambda v: all(m >= 1 for m in v), "widths must be >= 1"),
}


def _check_common_fields(cfg) -> None:
  for name, (ok, message) in _COMMON_CHECKS.items():
    if hasattr(cfg, name) and not ok(getattr(cfg, name)):
      raise ConfigError(f"{name}: {message}, got {getattr(cfg, name)!r}")


def _is_type(value, typ) -> bool:
  if typ is float:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if typ is int:
    return isinstance(value, int) and not isinstance(value, bool)
  return isinstance(value, typ)


def require(cond: bool, message: str) -> None:
  """Raises ``ConfigError(message)`` unless ``cond``; for ``validate()``."""
  if not cond:
    raise ConfigError(message)


def require_parses(field: str, parse: Callable[[Any], Any], values) -> None:
  """Calls ``parse(v)`` on every value; a ``ValueError`` becomes a
  ``ConfigError`` naming ``field``. For ``validate()``."""
  for v in values:
    try:
      parse(v)
    except ValueError as e:
      raise ConfigError(f"{field}: {e}") from None


def loglog_slope(xs, ys) -> float:
  """Least-squares slope of log(y) against log(x): the exponent k of a power
  law y ~ x^k. NaN with fewer than two points."""
  xs, ys = np.asarray(xs, float), np.asarray(ys, float)
  if xs.size < 2:
    return float("nan")
  return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


# --------------------------------------------------------------------------
# Files


def atomic_write_bytes(path: Path, data: bytes) -> None:
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    if os.path.exists(tmp):
      os.unlink(tmp)
    raise


def atomic_write_text(path: Path, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig, path: Path, dpi: int = 120) -> None:
  """Saves a matplotlib figure as PNG atomically and closes it."""
  import io
  import matplotlib.pyplot as plt
  buf = io.BytesIO()
  fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
  plt.close(fig)
  atomic_write_bytes(Path(path), buf.getvalue())


def to_jsonable(x):
  """Converts NumPy/JAX scalars and arrays to JSON values; NaN/inf -> None."""
  if isinstance(x, dict):
    return {str(k): to_jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [to_jsonable(v) for v in x]
  if isinstance(x, (np.ndarray, jax.Array)):
    return to_jsonable(np.asarray(x).tolist())
  if isinstance(x, (np.bool_, bool)):
    return bool(x)
  if isinstance(x, (np.integer, int)):
    return int(x)
  if isinstance(x, (np.floating, float)):
    x = float(x)
    return x if math.isfinite(x) else None
  return x


def point_key(point: dict) -> str:
  return json.dumps(to_jsonable(point), sort_keys=True, separators=(",", ":"))


def load_records(path: Path) -> list[dict]:
  """Reads ``results.jsonl``; drops a torn last line and duplicate points."""
  path = Path(path)
  if not path.exists():
    return []
  raw = path.read_bytes()
  lines = raw.split(b"\n")
  records, seen, good_bytes, torn = [], set(), 0, False
  for i, line in enumerate(lines):
    if not line.strip():
      good_bytes += len(line) + (1 if i < len(lines) - 1 else 0)
      continue
    complete = i < len(lines) - 1  # had a newline after it
    try:
      rec = json.loads(line)
    except json.JSONDecodeError:
      rec = None
    if rec is None or not complete:
      torn = True
      break
    good_bytes += len(line) + 1
    key = rec.get("key")
    if key in seen:
      continue
    seen.add(key)
    records.append(rec)
  if torn:
    atomic_write_bytes(path, raw[:good_bytes])
  return records


def append_record(path: Path, record: dict) -> None:
  line = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
  fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
  try:
    os.write(fd, line)
    os.fsync(fd)
  finally:
    os.close(fd)


def environment() -> dict:
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


class RunConflict(RuntimeError):
  """The run directory holds results of a different configuration."""


def run_experiment(exp: Experiment, cfg, out_dir: Path, *, preset: str,
                   fresh: bool = False, progress: bool = True) -> tuple[list, str]:
  """Runs (or resumes) ``exp`` with ``cfg`` in ``out_dir``.

  **Returns:** ``(records, summary_markdown)``. Raises ``RunConflict`` when
  ``out_dir`` already holds a run with another config (pass ``fresh=True`` to
  discard it).
  """
  from tqdm import tqdm

  validate_config(cfg)
  out_dir = Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  cfg_json = to_jsonable(dataclasses.asdict(cfg))
  cfg_path, res_path = out_dir / "config.json", out_dir / "results.jsonl"
  if fresh:
    for p in (cfg_path, res_path, out_dir / "summary.md"):
      if p.exists():
        p.unlink()
  if cfg_path.exists():
    try:
      old = json.loads(cfg_path.read_text())
    except json.JSONDecodeError:
      old = None
    if old is not None and old.get("config") != cfg_json:
      raise RunConflict(
          f"{out_dir} holds a run of {exp.name} with another config; "
          "use --fresh to replace it or --out for a new directory")
  meta = {"experiment": exp.name, "preset": preset, "seed": cfg.seed,
          "config": cfg_json, "environment": environment()}
  atomic_write_text(cfg_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")

  points = list(exp.points(cfg))
  records = load_records(res_path)
  done = {r["key"] for r in records}
  todo = [p for p in points if point_key(p) not in done]
  bar = tqdm(total=len(points), initial=len(points) - len(todo),
             desc=exp.name, unit="pt", disable=not progress, leave=False)
  try:
    for point in todo:
      metrics = exp.run_point(cfg, point)
      record = {"key": point_key(point), "point": to_jsonable(point),
                **to_jsonable(metrics)}
      append_record(res_path, record)
      records.append(record)
      bar.update(1)
  finally:
    bar.close()
  wanted = {point_key(p) for p in points}
  records = [r for r in records if r["key"] in wanted]
  summary = exp.report(cfg, records, out_dir)
  atomic_write_text(out_dir / "summary.md", summary)
  return records, summary


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]],
                   fmt: str = "{:.3g}") -> str:
  """A GitHub markdown table; floats formatted with ``fmt``, None as 'n/a'."""
  def cell(v):
    if v is None:
      return "n/a"
    if isinstance(v, float):
      return fmt.format(v)
    return str(v)
  lines = ["| " + " | ".join(header) + " |",
           "| " + " | ".join("---" for _ in header) + " |"]
  lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
  return "\n".join(lines)
