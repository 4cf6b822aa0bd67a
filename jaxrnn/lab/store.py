"""The result store of one run directory: append-only records that are never
guessed at, one writer at a time.

Layout of a run directory ``DIR``::

    DIR/config.json     the config, its hash, preset, seed, versions, devices
    DIR/results.jsonl   one JSON record per completed point, appended + fsynced
    DIR/*.png           figures;  DIR/summary.md  the summary
    DIR/.lock           held (``fcntl.flock``) by the process writing DIR

Rules (each has a test in ``tests/lab/test_store_faults.py``):

- A record is one line ``{"key", "point", "config_hash", ...metrics}``
  (plus ``nonfinite`` when some metric was NaN or inf and is stored as
  ``null``), written with one ``write`` and an ``fsync``. Only a *torn last
  line* (no trailing newline, not a valid record: the process died mid-write)
  is cut from the file, and its bytes are kept in ``results.jsonl.torn``; a
  last line that lacks only its newline but is a valid record is kept and its
  newline added. Any other line that is not a valid record of this config
  stops the run with ``StoreError`` naming the file and the line number;
  nothing is rewritten.
- Records carry the hash of the config that produced them. A directory whose
  ``config.json`` is missing or unreadable while it holds records, or whose
  config or records carry another hash, is refused (``RunConflict``): pass
  ``fresh=True`` (``--fresh``) or use another directory.
- ``config.json`` describes the records next to it: written while there are
  none, never rewritten to describe records it did not produce. A resume in
  another environment (devices, dtype rules, versions: see ``open_run``) is
  refused (``RunConflict``) unless accepted explicitly, which lists the new
  environment in ``config.json`` under ``resumed_environments``.
- ``fresh=True`` moves the old contents aside into ``DIR/old-<time>/``; it
  deletes nothing.
- Every file is created with the same mode, ``0o666`` less the process's
  umask (as ``open`` does), whether appended or written by rename.
- ``RunLock`` takes an exclusive ``flock`` on ``DIR/.lock`` for the whole
  run and writes its PID there; a second writer fails at once with
  ``RunLocked`` naming the PID. The kernel releases the lock when its holder
  dies, so a lock left by a killed run is taken over without any cleanup.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import hashlib
import json
import math
import os
import secrets
from pathlib import Path

import numpy as np

_ADVICE = "use --fresh to move the old run aside or --out for another directory"


def atomic_write_bytes(path: Path, data: bytes) -> None:
  """Writes ``data`` to a temporary file ``.NAME.<random>.tmp`` in the same
  directory, fsyncs it and renames it over ``path``: readers see the old or
  the new file, never half. The file gets the mode ``open`` would give it
  (``0o666`` less the umask, applied by the kernel), like every other file of
  a run directory."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


class StoreError(RuntimeError):
  """A run directory holds something that is not a valid record of this run."""


class RunConflict(StoreError):
  """The run directory belongs to another config (or cannot tell which)."""


class RunLocked(StoreError):
  """Another process is writing the run directory."""


# --------------------------------------------------------------------------
# Files


def atomic_write_text(path: Path, text: str) -> None:
  atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(x):
  """NumPy/JAX scalars and arrays to JSON values; NaN and inf become None
  (JSON has no non-finite numbers; reports show them as missing)."""
  if isinstance(x, dict):
    return {str(k): to_jsonable(v) for k, v in x.items()}
  if isinstance(x, (list, tuple)):
    return [to_jsonable(v) for v in x]
  if hasattr(x, "__array__") and not isinstance(x, (str, bytes)):
    return to_jsonable(np.asarray(x).tolist())
  if isinstance(x, (np.bool_, bool)):
    return bool(x)
  if isinstance(x, (np.integer, int)):
    return int(x)
  if isinstance(x, (np.floating, float)):
    x = float(x)
    return x if math.isfinite(x) else None
  return x


def canonical_json(x) -> str:
  return json.dumps(to_jsonable(x), sort_keys=True, separators=(",", ":"))


def point_key(point: dict) -> str:
  """The identity of a sweep point: its canonical JSON."""
  return canonical_json(point)


def config_hash(config: dict) -> str:
  """First 16 hex digits of the SHA-256 of the config's canonical JSON."""
  return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------
# Records


_FIX = (
  "the file was not changed; fix or remove that line by hand to keep the other "
  "records, or " + _ADVICE
)


def _record_problem(rec) -> str | None:
  """What makes ``rec`` not a record, or None."""
  if not isinstance(rec, dict):
    shown = json.dumps(rec)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return f"not a record (a JSON object with key, point, config_hash), got {shown}"
  for name, typ in (("key", str), ("point", dict), ("config_hash", str)):
    if not isinstance(rec.get(name), typ):
      return f"record has no {typ.__name__} field {name!r}"
  if "nonfinite" in rec and not isinstance(rec["nonfinite"], dict):
    return "record field 'nonfinite' is not an object"
  if rec["key"] != point_key(rec["point"]):
    return "record key does not match its point"
  return None


def _validate_record(rec, where: str, expected_hash: str | None) -> dict:
  problem = _record_problem(rec)
  if problem:
    raise StoreError(f"{where}: {problem}; {_FIX}")
  if expected_hash is not None and rec["config_hash"] != expected_hash:
    raise RunConflict(
      f"{where}: record of config {rec['config_hash']}, this run is config "
      f"{expected_hash}; {_ADVICE}"
    )
  return rec


_TORN = object()


def _parse_line(line: bytes, where: str):
  if not line.strip():
    raise StoreError(f"{where}: empty line; {_FIX}")
  try:
    return json.loads(line)
  except UnicodeDecodeError:
    raise StoreError(f"{where}: not UTF-8 text; {_FIX}") from None
  except json.JSONDecodeError as e:
    raise StoreError(f"{where}: not JSON ({e.msg}); {_FIX}") from None


def load_records(
  path: Path, expected_hash: str | None = None, *, repair: bool = True
) -> list[dict]:
  """Reads ``results.jsonl``: every complete line must be a record (of config
  ``expected_hash`` when given), keys unique; ``StoreError`` naming the file
  and line otherwise, and the file is left as it is.

  The last line may lack its newline. If it is a valid record (an editor
  dropped the newline), it is kept and, with ``repair``, its newline added.
  If it is not JSON but starts like a record (``{``), it is a torn write (the
  process died mid-``write``): with ``repair`` it is cut from the file and
  its bytes appended to ``results.jsonl.torn``, the only change ever made to
  a record file. Anything else on that line is an error like on any other.
  """
  path = Path(path)
  if not path.exists():
    return []
  raw = path.read_bytes()
  complete, _, tail = raw.rpartition(b"\n")
  lines = complete.split(b"\n") if complete or raw.startswith(b"\n") else []
  records, seen = [], {}

  def add(rec, i):
    if rec["key"] in seen:
      raise StoreError(
        f"{path}, line {i}: point already recorded on line {seen[rec['key']]}; {_FIX}"
      )
    seen[rec["key"]] = i
    records.append(rec)

  for i, line in enumerate(lines, start=1):
    where = f"{path}, line {i}"
    add(_validate_record(_parse_line(line, where), where, expected_hash), i)
  if tail:
    i = len(lines) + 1
    where = f"{path}, line {i} (last, no newline)"
    try:
      rec = json.loads(tail)
    except (json.JSONDecodeError, UnicodeDecodeError):
      rec = _TORN
    if rec is _TORN and not tail.startswith(b"{"):
      # A torn write is a prefix of a record line, which starts with '{'.
      raise StoreError(f"{where}: neither a record nor the start of one; {_FIX}")
    if rec is not _TORN:
      add(_validate_record(rec, where, expected_hash), i)
      if repair:
        with open(path, "ab") as f:
          f.write(b"\n")
          os.fsync(f.fileno())
    elif repair:
      with open(path.with_name(path.name + ".torn"), "ab") as f:
        f.write(tail + b"\n")
        os.fsync(f.fileno())
      with open(path, "r+b") as f:
        f.truncate(len(raw) - len(tail))
        os.fsync(f.fileno())
  return records


def append_record(path: Path, record: dict) -> None:
  """Appends one record as one line (one ``write``, then ``fsync``)."""
  line = (json.dumps(record, sort_keys=True, allow_nan=False) + "\n").encode("utf-8")
  fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
  try:
    written = os.write(fd, line)
    if written != len(line):
      raise OSError(errno.EIO, f"short write to {path}")
    os.fsync(fd)
  finally:
    os.close(fd)


# --------------------------------------------------------------------------
# One run directory


class RunLock:
  """An exclusive ``flock`` on ``DIR/.lock`` for the life of a run."""

  def __init__(self, directory: Path):
    self.path = Path(directory) / ".lock"
    self._fd = None

  def __enter__(self):
    self.path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
      if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
        os.close(fd)
        raise
      holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
      os.close(fd)
      raise RunLocked(
        f"{self.path.parent} is in use by another run (PID {holder}); "
        "wait for it or use another --out"
      ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    self._fd = fd
    return self

  def __exit__(self, *exc):
    if self._fd is not None:
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None


def move_aside(directory: Path) -> Path | None:
  """Moves every entry of ``directory`` except the lock and earlier
  ``old-*`` folders into ``directory/old-<time>/``. Returns that folder, or
  None when there was nothing to move."""
  directory = Path(directory)
  entries = (
    [p for p in directory.iterdir() if p.name != ".lock" and not p.name.startswith("old-")]
    if directory.exists()
    else []
  )
  if not entries:
    return None
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
  target = directory / f"old-{stamp}"
  target.mkdir()
  for p in entries:
    os.replace(p, target / p.name)
  return target


def read_config(path: Path) -> dict | None:
  """The ``config.json`` of a run directory, or None if absent. Unreadable
  or malformed files raise ``RunConflict``."""
  path = Path(path)
  if not path.exists():
    return None
  try:
    meta = json.loads(path.read_text())
  except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
    raise RunConflict(f"{path} cannot be read ({e}); {_ADVICE}") from None
  if not isinstance(meta, dict) or not isinstance(meta.get("config"), dict):
    raise RunConflict(f"{path} is not a jaxrnn config; {_ADVICE}")
  return meta


def remove_stale_temporaries(directory: Path) -> None:
  """Removes ``.NAME.*.tmp`` files that ``atomic_write_bytes`` left when its
  process was killed before the rename (incomplete copies, never a record)."""
  for p in Path(directory).glob(".*.tmp"):
    with contextlib.suppress(FileNotFoundError):
      p.unlink()


def _environment_value(env: dict, key: str):
  """``env[key]``, with the device count of a ``config.json`` written before
  it was recorded read off its device list."""
  if key == "device_count" and key not in env and isinstance(env.get("devices"), list):
    return len(env["devices"])
  return env.get(key)


def environment_differences(old, new: dict, keys) -> list[str]:
  """``"name: old -> new"`` for every entry of ``keys`` that differs between
  the environment ``old`` (of a ``config.json``) and ``new``; entries that
  ``old`` does not record are not compared. An ``old`` that is not a dict
  (a hand-edited file) differs in everything."""
  if not isinstance(old, dict):
    return ["environment: not recorded in config.json"]
  out = []
  for k in keys:
    before = _environment_value(old, k)
    if before is not None and before != new.get(k):
      out.append(f"{k}: {before} -> {new.get(k)}")
  return out


def open_run(
  directory: Path, meta: dict, *, result_environment=(), accept_environment: bool = False
) -> list[dict]:
  """Checks that ``directory`` belongs to the run described by ``meta`` (its
  ``config`` and ``config_hash``), and returns the records already there.
  Call it while holding ``RunLock``.

  ``config.json`` describes the records: it is written when the directory
  holds none, and otherwise left as it is. Records made in another
  environment (an entry of ``result_environment`` differs between the
  environment that made the last records and ``meta["environment"]``) are
  refused with ``RunConflict`` unless ``accept_environment``; then the new
  environment is appended to ``resumed_environments`` with the number of
  the first record it makes (``from_record``, counted from 1)."""
  directory = Path(directory)
  cfg_path, res_path = directory / "config.json", directory / "results.jsonl"
  old = read_config(cfg_path)
  if old is None and res_path.exists() and res_path.stat().st_size:
    raise RunConflict(
      f"{directory} holds results but no config.json, so they cannot be "
      f"attributed to this config; {_ADVICE}"
    )
  if old is not None and (
    old.get("config") != meta["config"] or old.get("experiment") != meta["experiment"]
  ):
    raise RunConflict(
      f"{directory} holds a run of {old.get('experiment')} with another config; {_ADVICE}"
    )
  remove_stale_temporaries(directory)
  records = load_records(res_path, meta["config_hash"])
  if old is None or not records:
    atomic_write_text(cfg_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return records
  later = old.get("resumed_environments")
  later = later if isinstance(later, list) else []
  last = later[-1].get("environment") if later and isinstance(later[-1], dict) else None
  last = last if last is not None else old.get("environment")
  diffs = environment_differences(last, meta["environment"], result_environment)
  if diffs:
    if not accept_environment:
      shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
      raise RunConflict(
        f"{directory} holds {len(records)} records made in another environment ({shown}); "
        "resuming would mix the two in one run: use --fresh to move the old run aside, --out "
        "for another directory, or --accept-environment to resume anyway (config.json then "
        "lists both)"
      )
    updated = dict(old)
    updated["resumed_environments"] = later + [
      {"from_record": len(records) + 1, "environment": meta["environment"]}
    ]
    atomic_write_text(cfg_path, json.dumps(updated, indent=2, sort_keys=True) + "\n")
  return records
