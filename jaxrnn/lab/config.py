"""Typed experiment configs: fields with their checks, command-line overrides.

A config is a frozen dataclass whose fields are declared with ``option``::

    @dataclasses.dataclass(frozen=True)
    class Config:
      ms: tuple[int, ...] = option((32, 64), each(at_least(2)), help="widths m")
      eps_x: float = option(0.1, in_range(0, 1, low_open=True), help="Def. 3.1 scale")
      seed: int = option(0, seed_range)

``config_class(L=6, d=4, ...)`` declares the fields most experiments share
(``STANDARD_FIELDS``: their types, checks and help written once) instead.

``validate_config`` checks, before any computation:

1. every field against its annotation (int, float, str, bool,
   ``tuple[T, ...]``);
2. generic limits: every float finite, and every number (int or float, also
   inside tuples, and written inside the spec strings of fields checked with
   ``parses``, e.g. ``"sin:1e300"``) at most ``MAX_VALUE`` in magnitude,
   unless ``allow_large=True`` (the CLI's ``--allow-large``): a width of 10^7
   or 2 * 10^9 seeds is a typo far more often than a plan, and would end in
   an out-of-memory error or an XLA abort long after the start; checks marked
   with ``limit`` (the sequence length ``L`` up to ``MAX_LENGTH``) are lifted
   the same way;
3. the ``seed`` field, which the framework requires of every config, in
   ``[0, MAX_SEED]``, the range its seed arithmetic supports (not lifted by
   ``allow_large``);
4. the field's own checks, then the config's ``validate()`` method if it has
   one (for conditions that involve several fields).

Nothing here knows the name of any experiment's field. Failures raise
``ConfigError`` with a message that names the field; the CLI prints it as one
line and exits with status 2. (Memory estimates of a whole sweep are made
where the program is built, in ``jaxrnn.sweep``, which raises
``jaxrnn.checks.ResourceError``.)
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import math
import re
import textwrap
import typing
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

#: Largest seed accepted (experiments derive per-point seeds as
#: ``seed * 1_000_003 + offset``, which must stay below 2^63).
MAX_SEED = 2**31 - 1

#: Largest magnitude of any number in a config (ints and floats, also tuple
#: entries and numbers written inside spec strings such as ``"sin:3"``; the
#: seed has its own range), unless ``allow_large=True``. The paper presets
#: stay below 2 * 10^4.
MAX_VALUE = 10**6

#: Largest sequence length ``L`` of the standard field, unless
#: ``allow_large=True``. A report's cost grows with L (one statistic and
#: bootstrap per lag): the ``backward_correlation`` report took 25 s at
#: L = 1000 (two widths, one d_out, 2 busy CPU cores), so 10^6 would take
#: hours after the points were computed. The paper presets use L <= 20.
MAX_LENGTH = 1000


class ConfigError(ValueError):
  """A configuration value is invalid; the message names the field."""


Check = tuple[Callable[[Any], bool], str]

#: A config dataclass type, for functions that return the config they were given.
ConfigT = TypeVar("ConfigT")


def option(default: Any, *checks: Check, help: str = "") -> Any:
  """A config field with a default, value checks and a one-line help text.

  **Arguments:** ``default``; ``checks``: pairs ``(predicate, message)``
  such as ``at_least(1)``; ``help``: shown by ``jaxrnn run NAME --help``
  (``describe_fields``).
  """
  return dataclasses.field(default=default, metadata={"checks": checks, "help": help})


def at_least(low: float) -> Check:
  """Check: the value is ``>= low``."""
  return (lambda v: v >= low, f"must be >= {low}")


def greater_than(low: float) -> Check:
  """Check: the value is ``> low``."""
  return (lambda v: v > low, f"must be > {low}")


def in_range(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> Check:
  """Check: ``low <= value <= high`` (``<`` on an open side)."""

  def ok(v):
    return (v > low if low_open else v >= low) and (v < high if high_open else v <= high)

  bra, ket = "(" if low_open else "[", ")" if high_open else "]"
  return (ok, f"must lie in {bra}{low}, {high}{ket}")


def at_most(high: float) -> Check:
  """Check: the value is ``<= high``."""
  return (lambda v: v <= high, f"must be <= {high}")


class _Limit(tuple):
  """A check that ``allow_large`` lifts (see ``limit``)."""


def limit(check: Check) -> Check:
  """Marks ``check`` as a size limit that ``allow_large=True`` (the CLI's
  ``--allow-large``) lifts, like the generic ``MAX_VALUE``; its message then
  says so."""
  pred, message = check
  return _Limit((pred, f"{message} (pass --allow-large to try anyway)"))


def one_of(*values) -> Check:
  """Check: the value is one of ``values``."""
  return (lambda v: v in values, "must be one of " + ", ".join(map(repr, values)))


def each(check: Check) -> Check:
  """Applies ``check`` to every entry of a tuple field."""
  pred, message = check
  return (lambda v: all(pred(x) for x in v), f"entries {message}")


class _Parses(tuple):
  """A ``parses`` check: the field's strings are specs with numbers in them."""


def parses(parse: Callable[[Any], Any]) -> Check:
  """Every entry (or the value) is accepted by ``parse``, which raises
  ``ValueError``/``TypeError`` with its own message otherwise. The numbers
  written inside such a spec (``"sin:1e300"``, ``"pow:100000000"``, a
  lambda ``"1e300"``), and any number ``parse`` returns, obey the generic
  limits of ``validate_config`` like numeric fields: finite, and at most
  ``MAX_VALUE`` in magnitude unless ``allow_large``."""

  def ok(v):
    for x in v if isinstance(v, tuple) else (v,):
      parse(x)
    return True

  return _Parses((ok, "", parse))


# A number written in a spec string: digits with an optional fraction and
# exponent, not part of a name (the 1 of "cos1" is not a number).
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def _spec_numbers(text: str, parsed: Any) -> list[float]:
  """The numbers written in ``text`` and those ``parsed`` holds."""
  out = [float(t) for t in _NUMBER.findall(text)] if isinstance(text, str) else []
  for v in parsed if isinstance(parsed, (tuple, list)) else (parsed,):
    if isinstance(v, (int, float)) and not isinstance(v, bool):
      out.append(float(v))
  return out


def _check_spec_numbers(name: str, value, parse, allow_large: bool) -> None:
  for x in value if isinstance(value, tuple) else (value,):
    for v in _spec_numbers(x, parse(x)):
      if not math.isfinite(v):
        raise ConfigError(f"{name}: {x!r} holds a non-finite number")
      if not allow_large and abs(v) > MAX_VALUE:
        raise ConfigError(
          f"{name}: {x!r} holds {v:g}, beyond the limit {MAX_VALUE:.0e} on config values "
          "(pass --allow-large to try anyway)"
        )


seed_range: Check = in_range(0, MAX_SEED)

_DTYPES = one_of("float32", "float64")

#: The fields most experiments share, declared once: name -> (type, checks,
#: help). ``config_class`` adds those an experiment names, with its defaults.
STANDARD_FIELDS: dict[str, tuple[Any, tuple[Check, ...], str]] = {
  "ms": (tuple[int, ...], (each(at_least(2)),), "widths m"),
  "L": (int, (at_least(2), limit(at_most(MAX_LENGTH))), "sequence length L (Def. 3.1)"),
  "d": (int, (at_least(3),), "input dimension d (Def. 3.1; true tokens have d - 1)"),
  "d_out": (int, (at_least(1),), "output dimension"),
  "eps_x": (float, (greater_than(0),), "scale eps_x of the middle tokens (Def. 3.1)"),
  "num_seeds": (int, (at_least(1),), "networks (seeds) per point"),
  "num_sequences": (int, (at_least(1),), "test sequences per network"),
  "num_train": (int, (at_least(2),), "sequences for the least-squares decoder"),
  "ridge": (float, (at_least(0),), "relative ridge of the least-squares decoder"),
  "batch_size": (int, (at_least(1),), "minibatch size"),
  "dtype": (str, (_DTYPES,), "floating-point dtype of the computation"),
}


def config_class(**standard: Any) -> Callable[[type], type]:
  """Class decorator: a frozen config dataclass whose fields are the
  ``STANDARD_FIELDS`` named in ``standard`` (with those defaults), then the
  fields the class declares itself, then the ``seed`` every config has.

  Example::

    @config_class(L=10, d=6, eps_x=0.05, num_seeds=16, dtype="float32")
    class Config:
      d_outs: tuple[int, ...] = option((1, 4), each(at_least(1)), help="output dims")

  A field with other checks or help than the standard one is declared in the
  class instead (and not named here).
  """
  unknown = sorted(set(standard) - set(STANDARD_FIELDS))
  if unknown:
    raise TypeError(f"config_class: no standard fields {unknown}; known: {sorted(STANDARD_FIELDS)}")

  def wrap(cls: type) -> type:
    own = dict(cls.__dict__.get("__annotations__", {}))
    twice = sorted(set(own) & (set(standard) | {"seed"}))
    if twice:
      raise TypeError(f"{cls.__name__}: {twice} declared in the class and by config_class")
    annotations = {}
    for name, default in standard.items():
      typ, checks, help_ = STANDARD_FIELDS[name]
      annotations[name] = typ
      setattr(cls, name, option(default, *checks, help=help_))
    annotations.update(own)
    annotations["seed"] = int
    cls.seed = option(0, seed_range, help="base seed: every network and data draw derives from it")
    cls.__annotations__ = annotations
    return dataclasses.dataclass(frozen=True)(cls)

  return wrap


def bind(fn: Callable, cfg: Any, **values: Any) -> functools.partial:
  """``functools.partial(fn, **kw)`` where ``kw`` holds every keyword-only
  parameter of ``fn`` that is a field of ``cfg`` (by name), overridden by
  ``values``. Per-seed functions name their static settings like the config
  fields, and ``jaxrnn.sweep`` caches by value, so this is all the plumbing
  an experiment needs::

    fn = lab.bind(per_seed, cfg, m=point["m"])
  """
  params = inspect.signature(fn).parameters
  kw = {
    name: getattr(cfg, name)
    for name, p in params.items()
    if p.kind is p.KEYWORD_ONLY and hasattr(cfg, name)
  }
  unknown = set(values) - set(params)
  if unknown:
    raise TypeError(f"{fn.__name__} has no parameters {sorted(unknown)}")
  kw.update(values)
  missing = [
    n
    for n, p in params.items()
    if p.kind is p.KEYWORD_ONLY and p.default is p.empty and n not in kw
  ]
  if missing:
    raise TypeError(f"{fn.__name__}: no config field or value for {missing}")
  return functools.partial(fn, **kw)


def require(cond: bool, message: str) -> None:
  """Raises ``ConfigError(message)`` unless ``cond``; for ``validate()``."""
  if not cond:
    raise ConfigError(message)


def field_types(cls) -> dict[str, Any]:
  """The annotated type of every field of the config class ``cls``."""
  hints = typing.get_type_hints(cls)
  return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def field_help(cls) -> dict[str, str]:
  """The help text of every field of the config class ``cls``."""
  return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def _parse_scalar(text: str, typ, name: str):
  if typ is bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
      return True
    if low in ("0", "false", "no", "off"):
      return False
    raise ConfigError(f"{name}: expected a bool, got {text!r}")
  if typ is int:
    try:
      return int(text)
    except ValueError:
      pass
    try:  # accept 1e3 for an int when it is one
      f = float(text)
    except ValueError:
      f = math.nan
    if math.isfinite(f) and f == int(f):
      if abs(f) > 2**53:  # not an exact integer any more: say what was written
        raise ConfigError(f"{name}: {text} is out of range")
      return int(f)
    raise ConfigError(f"{name}: expected an int, got {text!r}")
  if typ is float:
    try:
      return float(text)
    except ValueError:
      raise ConfigError(f"{name}: expected a float, got {text!r}") from None
  if typ is str:
    return text
  raise ConfigError(f"{name}: cannot be set from the command line")


def parse_value(text: str, typ, name: str):
  """Parses ``text`` as a value of the annotated type ``typ`` (int, float,
  str, bool, or ``tuple[T, ...]`` written comma-separated)."""
  if typing.get_origin(typ) is tuple:
    elem = typing.get_args(typ)[0]
    parts = [p for p in text.split(",") if p.strip()]
    if not parts:
      raise ConfigError(f"{name}: expected a comma-separated list, got {text!r}")
    return tuple(_parse_scalar(p.strip(), elem, name) for p in parts)
  return _parse_scalar(text, typ, name)


def parse_overrides(cls: type, overrides: Sequence[str]) -> dict[str, Any]:
  """The ``key=value`` strings ``overrides`` as ``{key: typed value}`` for
  the config class ``cls`` (values parsed by ``parse_value``, not yet
  checked). ``ConfigError`` for an item without ``=``, an unknown key, or a
  key given twice (which would otherwise silently keep the last value)."""
  types = field_types(cls)
  changes: dict[str, Any] = {}
  given: dict[str, str] = {}
  for item in overrides:
    if "=" not in item:
      raise ConfigError(f"--set expects key=value, got {item!r}")
    key, value = (s.strip() for s in item.split("=", 1))
    if key not in types:
      raise ConfigError(f"unknown config key {key!r}; known keys: {', '.join(sorted(types))}")
    if key in given:
      raise ConfigError(
        f"config key {key!r} is given twice ({given[key]!r} and {item.strip()!r}); give it once"
      )
    given[key] = item.strip()
    changes[key] = parse_value(value, types[key], key)
  return changes


def apply_overrides(
  cfg: ConfigT, overrides: Sequence[str], *, allow_large: bool = False
) -> ConfigT:
  """Returns ``cfg`` with ``key=value`` overrides applied and validated
  (``allow_large``: see ``validate_config``); a key given twice is refused
  (``parse_overrides``)."""
  new = dataclasses.replace(cfg, **parse_overrides(type(cfg), overrides))
  validate_config(new, allow_large=allow_large)
  return new


def changed_fields(cfg: Any, base: Any, *, ignore: Sequence[str] = ("seed",)) -> dict[str, Any]:
  """``{name: value of cfg}`` for every field whose value in ``cfg`` differs
  from ``base`` (two configs of one class), in field order, leaving out the
  fields named in ``ignore`` (by default the seed, which ``config.json``
  records on its own)."""
  return {
    f.name: getattr(cfg, f.name)
    for f in dataclasses.fields(cfg)
    if f.name not in ignore and getattr(cfg, f.name) != getattr(base, f.name)
  }


#: Hex digits of the digest in ``run_name`` (a collision of two override sets
#: in one experiment and preset would be refused by the result store as
#: "another config", never mixed).
RUN_NAME_DIGITS = 8


def run_name(preset: str, changes: dict[str, Any]) -> str:
  """The name of a run directory: ``preset`` when ``changes`` (as
  ``changed_fields`` returns them) is empty, else ``PRESET+set-HASH`` with
  HASH the first ``RUN_NAME_DIGITS`` hex digits of the SHA-256 of the
  changes' canonical JSON; so the same overrides, however written
  (``ms=8,16`` or ``ms=8, 16``), name the same directory, and a directory
  named after the preset holds the preset."""
  if not changes:
    return preset
  text = json.dumps(_jsonable(changes), sort_keys=True, separators=(",", ":"))
  return f"{preset}+set-{hashlib.sha256(text.encode()).hexdigest()[:RUN_NAME_DIGITS]}"


def _jsonable(x):
  if isinstance(x, dict):
    return {str(k): _jsonable(v) for k, v in x.items()}
  if isinstance(x, (tuple, list)):
    return [_jsonable(v) for v in x]
  return x


def type_name(typ) -> str:
  """How ``--set`` reads a field of annotated type ``typ``: ``int``,
  ``float``, ``str``, ``bool``, or ``list of T`` (comma-separated)."""
  if typing.get_origin(typ) is tuple:
    return f"list of {type_name(typing.get_args(typ)[0])}"
  return getattr(typ, "__name__", str(typ))


def format_value(value: Any) -> str:
  """A config value as ``--set`` takes it: lists comma-separated, bools
  ``true``/``false``."""
  if isinstance(value, (tuple, list)):
    return ",".join(format_value(v) for v in value)
  if isinstance(value, bool):
    return "true" if value else "false"
  return str(value)


def describe_fields(cls: type, presets: dict[str, Any], *, width: int = 100) -> str:
  """Every field of the config class ``cls``: its name, type, help text and
  its value in each of ``presets`` (``{name: config}``; presets with the same
  value share a line), as ``jaxrnn run NAME --help`` prints them."""
  types = field_types(cls)
  helps = field_help(cls)
  lines = []
  for f in dataclasses.fields(cls):
    lines.append(f"  {f.name} ({type_name(types[f.name])})")
    if helps[f.name]:
      lines += textwrap.wrap(
        helps[f.name], width, initial_indent=" " * 6, subsequent_indent=" " * 6
      )
    groups: dict[str, list[str]] = {}
    for name, cfg in presets.items():
      groups.setdefault(format_value(getattr(cfg, f.name)), []).append(name)
    for value, names in groups.items():
      lines += textwrap.wrap(
        f"{', '.join(names)}: {value}",
        width,
        initial_indent=" " * 6,
        subsequent_indent=" " * 8,
        break_on_hyphens=False,
      )
  return "\n".join(lines)


def _is_type(value, typ) -> bool:
  if typ is float:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
  if typ is int:
    return isinstance(value, int) and not isinstance(value, bool)
  return isinstance(value, typ)


def _check_type(name: str, value, typ, allow_large: bool) -> None:
  if typing.get_origin(typ) is tuple:
    elem = typing.get_args(typ)[0]
    if not isinstance(value, tuple) or not value:
      raise ConfigError(f"{name}: expected a non-empty tuple, got {value!r}")
    bad = [v for v in value if not _is_type(v, elem)]
    if bad:
      raise ConfigError(f"{name}: expected {elem.__name__} entries, got {bad[0]!r}")
    values = value
  else:
    if not _is_type(value, typ):
      raise ConfigError(f"{name}: expected {getattr(typ, '__name__', typ)}, got {value!r}")
    values = (value,)
  for v in values:
    if isinstance(v, float) and not math.isfinite(v):
      raise ConfigError(f"{name}: must be finite, got {v!r}")
    if name == "seed" or allow_large or isinstance(v, bool):
      continue
    if isinstance(v, (int, float)) and abs(v) > MAX_VALUE:
      raise ConfigError(
        f"{name}: {v!r} is beyond the limit {MAX_VALUE:.0e} on config values "
        "(pass --allow-large to try anyway)"
      )


def validate_config(cfg: Any, *, allow_large: bool = False) -> None:
  """Type-checks every field, applies the generic limits (finite floats,
  magnitudes up to ``MAX_VALUE`` unless ``allow_large``, the seed in
  ``[0, MAX_SEED]``), runs the fields' checks, then ``cfg.validate()``."""
  if not dataclasses.is_dataclass(cfg):
    raise ConfigError(f"a config must be a dataclass instance, got {type(cfg).__name__}")
  types = field_types(type(cfg))
  for f in dataclasses.fields(cfg):
    value = getattr(cfg, f.name)
    _check_type(f.name, value, types[f.name], allow_large)
    if f.name == "seed" and not 0 <= value <= MAX_SEED:
      raise ConfigError(
        f"seed: must lie in [0, {MAX_SEED}] (the range of the seed arithmetic), got {value!r}"
      )
    for check in f.metadata.get("checks", ()):
      if allow_large and isinstance(check, _Limit):
        continue
      pred, message = check[0], check[1]
      try:
        ok = pred(value)
      except (ValueError, TypeError, ArithmeticError) as e:
        raise ConfigError(f"{f.name}: {e}") from None
      if not ok:
        raise ConfigError(f"{f.name}: {message}, got {value!r}")
      if isinstance(check, _Parses):
        _check_spec_numbers(f.name, value, check[2], allow_large)
  if hasattr(cfg, "validate"):
    cfg.validate()
