"""The experiment framework: typed configs, the result store, report helpers.

This is the floor between the math (``jaxrnn`` and its namespaces) and the
experiments (``jaxrnn.experiments.*``): it knows nothing of RNNs, only of
configs, records, statistics, verdicts and figures. An experiment module
reads as config, per-point function, report; everything they share is here.
The library never imports it; an experiment hands it the function that
saves its artifacts (``SAVE_ARTIFACTS``), so it imports no serializer.

- ``jaxrnn.lab.config``: ``option`` fields with checks, ``config_class``
  (the fields most experiments share, declared once), ``ConfigError``,
  ``apply_overrides``, ``validate_config``.
- ``jaxrnn.lab.store``: run directories, append-only records, the lock.
- ``jaxrnn.lab.claims``: the claim register, the paper's statements quoted
  with their locations (``Claim``), and the ``Regime`` a statement needs.
- ``jaxrnn.lab.report``: ``stats``, ``power_law`` slopes with intervals,
  ``Verdict`` rules (paper claims or jaxrnn diagnostics), tables and figures.
- ``jaxrnn.lab.declare``: declarative reports (``Report`` of ``Table``,
  ``Figure``/``Panel`` and verdicts from ``check``), ``render``, ``rerender``.
- ``jaxrnn.lab.fits``: the one bootstrap over seeds, log-log curvature,
  power-law crossings.
- ``jaxrnn.lab.runner``: ``Experiment``, ``run_experiment`` and
  ``width_points``.
"""

from jaxrnn.lab import claims
from jaxrnn.lab.claims import Claim, Regime
from jaxrnn.lab.config import (
  MAX_SEED,
  ConfigError,
  apply_overrides,
  at_least,
  bind,
  config_class,
  each,
  greater_than,
  in_range,
  one_of,
  option,
  parses,
  require,
  seed_range,
  validate_config,
)
from jaxrnn.lab.declare import (
  Figure,
  Panel,
  Records,
  Report,
  Table,
  band,
  check,
  hline,
  line,
  render,
  reporter,
  rerender,
  robust,
  scaled,
)
from jaxrnn.lab.fits import (
  CURVATURE_MARGIN,
  boot_log_means,
  fmt_crossing,
  log_points,
  loglog_curvature,
  pad_front,
  power_law_crossing,
)
from jaxrnn.lab.report import (
  NOT_TESTABLE,
  OUTCOMES,
  Slope,
  Stats,
  Summary,
  Verdict,
  about,
  band_plot,
  color_map,
  extrapolate,
  figure,
  finite,
  finite_values,
  markdown_table,
  missing_note,
  power_law,
  read_verdicts,
  save_figure,
  seq_colors,
  slope_verdict,
  stats,
  style_axes,
  tally,
  threshold_verdict,
  verdict_table,
  x_axis_ticks,
)
from jaxrnn.lab.runner import Experiment, environment, run_experiment, width_points
from jaxrnn.lab.store import RunConflict, RunLocked, StoreError, load_records

__all__ = [
  "claims",
  "Claim",
  "Regime",
  "NOT_TESTABLE",
  "OUTCOMES",
  "about",
  "extrapolate",
  "tally",
  "MAX_SEED",
  "ConfigError",
  "apply_overrides",
  "at_least",
  "bind",
  "config_class",
  "each",
  "greater_than",
  "in_range",
  "one_of",
  "option",
  "parses",
  "require",
  "seed_range",
  "validate_config",
  "Slope",
  "Stats",
  "Summary",
  "Verdict",
  "band_plot",
  "color_map",
  "figure",
  "finite",
  "finite_values",
  "markdown_table",
  "missing_note",
  "power_law",
  "save_figure",
  "slope_verdict",
  "stats",
  "style_axes",
  "threshold_verdict",
  "verdict_table",
  "read_verdicts",
  "seq_colors",
  "x_axis_ticks",
  "Figure",
  "Panel",
  "Records",
  "Report",
  "Table",
  "band",
  "check",
  "hline",
  "line",
  "render",
  "reporter",
  "rerender",
  "robust",
  "scaled",
  "CURVATURE_MARGIN",
  "boot_log_means",
  "fmt_crossing",
  "log_points",
  "loglog_curvature",
  "pad_front",
  "power_law_crossing",
  "Experiment",
  "environment",
  "run_experiment",
  "width_points",
  "RunConflict",
  "RunLocked",
  "StoreError",
  "load_records",
]

from jaxrnn.lab.declare import plateau_check, stability_check

__all__ += ["plateau_check", "stability_check"]
