"""Formal languages over {0, 1} (Sec. 5). Simple reference definitions; see
``accepts``."""

from __future__ import annotations

import re

import numpy as np

_TOMITA = {
    "tomita1": lambda s: re.fullmatch(r"1*", s) is not None,
    "tomita2": lambda s: re.fullmatch(r"(10)*", s) is not None,
    "tomita3": lambda s: re.search(r"(?<!1)(11)*1(?!1)0*(?<!0)(00)*0(?!0)", s) is None,
    "tomita4": lambda s: "000" not in s,
    "tomita5": lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
    "tomita6": lambda s: (s.count("0") - s.count("1")) % 3 == 0,
    "tomita7": lambda s: re.fullmatch(r"0*1*0*1*", s) is not None,
}


def _as_str(bits) -> str:
  if isinstance(bits, str):
    if set(bits) - {"0", "1"}:
      raise ValueError(f"bits must contain only '0' and '1', got {bits!r}")
    return bits
  arr = np.asarray(bits)
  if arr.ndim != 1:
    raise ValueError(f"bits must be 1-D, got shape {arr.shape}")
  if arr.size and not np.all((arr == 0) | (arr == 1)):
    raise ValueError("bits must contain only 0 and 1")
  return "".join(str(int(b)) for b in arr)


def accepts(name: str, bits) -> bool:
  """Membership of one 0/1 string in the language ``name``."""
  s = _as_str(bits)
  if name == "parity":
    return s.count("1") % 2 == 1
  if name == "one_one":
    return s.count("1") == 1
  if name.startswith("contains:"):
    pattern = _as_str(name[len("contains:"):])
    return pattern in s
  if name in _TOMITA:
    return bool(_TOMITA[name](s))
  raise ValueError(f"unknown language {name!r}")
