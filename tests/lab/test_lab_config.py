"""Config classes of the experiment framework (``jaxrnn.lab``): the standard
fields are declared once, with their checks and help, and a config built
from them behaves like one written out by hand."""

import dataclasses

import pytest

from jaxrnn import lab
from jaxrnn.lab.config import STANDARD_FIELDS, field_help, field_types


@lab.config_class(L=7, d=5, eps_x=0.2, dtype="float64")
class _Config:
  ks: tuple[int, ...] = lab.option((1, 2), lab.each(lab.at_least(1)), help="block counts")


def test_standard_fields_come_with_their_defaults_types_checks_and_help():
  cfg = _Config()
  assert dataclasses.is_dataclass(cfg)
  assert [f.name for f in dataclasses.fields(cfg)] == ["L", "d", "eps_x", "dtype", "ks", "seed"]
  assert (cfg.L, cfg.d, cfg.eps_x, cfg.dtype, cfg.ks, cfg.seed) == (7, 5, 0.2, "float64", (1, 2), 0)
  types, helps = field_types(_Config), field_help(_Config)
  assert types["L"] is int and types["eps_x"] is float and types["seed"] is int
  assert helps["eps_x"] == STANDARD_FIELDS["eps_x"][2] and helps["ks"] == "block counts"
  with pytest.raises(dataclasses.FrozenInstanceError):
    cfg.L = 3  # frozen, as every config
  lab.validate_config(cfg)
  # The standard checks run like any other field's, naming the field.
  for change, message in (
    ({"L": 1}, "L: must be >= 2"),
    ({"eps_x": 0.0}, "eps_x: must be > 0"),
    ({"dtype": "float16"}, "dtype: must be one of"),
    ({"seed": -1}, "seed: must lie in"),
    ({"ks": (0,)}, "ks: entries must be >= 1"),
  ):
    with pytest.raises(lab.ConfigError, match=message):
      lab.validate_config(dataclasses.replace(cfg, **change))
  # ... and overrides parse by the standard field's type.
  assert lab.apply_overrides(cfg, ["L=9", "eps_x=0.5"]).L == 9


def test_config_class_refuses_unknown_and_doubly_declared_fields():
  with pytest.raises(TypeError, match="no standard fields \\['width'\\]"):
    lab.config_class(width=3)
  with pytest.raises(TypeError, match="declared in the class and by config_class"):

    @lab.config_class(L=3)
    class _Twice:
      L: int = 4

  with pytest.raises(TypeError, match="\\['seed'\\] declared"):

    @lab.config_class()
    class _Seed:
      seed: int = 1


def test_width_points_gives_one_point_per_width():
  @lab.config_class(ms=(8, 16, 32))
  class Widths:
    pass

  assert lab.width_points(Widths()) == [{"m": 8}, {"m": 16}, {"m": 32}]
  assert lab.width_points(Widths(ms=(4,))) == [{"m": 4}]
