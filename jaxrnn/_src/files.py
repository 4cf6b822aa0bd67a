"""Files written whole or not at all.

``atomic_write_bytes`` writes a temporary file in the target's directory,
fsyncs it and renames it over the target, so a reader (or a run resumed
after a crash) sees the old file or the new one, never half of one. Used by
the result store (``jaxrnn.lab``) and by ``jaxrnn.flax.save``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _umask() -> int:
  try:  # Linux: read it without changing it (os.umask would, for a moment)
    with open("/proc/self/status") as f:
      for line in f:
        if line.startswith("Umask:"):
          return int(line.split()[1], 8)
  except (OSError, ValueError):
    pass
  old = os.umask(0o022)
  os.umask(old)
  return old


def file_mode() -> int:
  """Mode of every file written here (and of every file of a run directory):
  what ``open`` gives, 0o666 less the process's current umask."""
  return 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
  """Writes ``data`` to a temporary file in the same directory, fsyncs it and
  renames it over ``path``: readers see the old or the new file, never half."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fchmod(f.fileno(), file_mode())
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise
