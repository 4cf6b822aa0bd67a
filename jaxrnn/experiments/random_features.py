"""Experiment ``random_features``: Lemma 4.4, linear maps from random ReLU features.

What is measured. For T in R^{m x d} with i.i.d. N(0, 1) entries and the readout
``p = 2 T v / m`` (``jaxrnn.features.relu_readout``; the paper writes
``p = 2 T v``, see ``jaxrnn.features``), the error

    err(v, x) = v^T x - p^T relu(T x)

over ``num_pairs`` pairs (v, x) per draw of T (a seed) and widths m. Per seed:
the RMS and mean of the normalized error ``|err| / (||v|| ||x||)``, the
fraction of pairs within the bound (8) ``|err| <= ||v|| ||x|| / sqrt(m)``, the
RMS of ``err / sigma`` with our predicted standard deviation ``sigma =
sqrt((2 + 3 cos^2) / m) ||v|| ||x||``, and the least-squares gain of the
paper's literal readout ``(2 T v)^T relu(T x)`` on ``v^T x``.

What the paper says (Sec. 4.4): any linear function "can be represented by a
one-hidden layer FFN with activation function ReLU, with a small
approximation error of the order 1/√m" (``lemma4.4-rate``), and Lemma 4.4
writes the bound (8) ``|v^T x - p^T σ(T x)| <= ||v|| ||x|| / sqrt(m)``
with ``p = 2 T v``. The constant of (8) is not derived in the main text (the
lemma is "from a companion paper", and its ``p = 2 T v`` is m times too large
for N(0, 1) entries, see below), so the paper claim tested is the order:
``sqrt(m) * rms`` stays bounded as m grows (95% bootstrap interval of its
log-log slope in m below 0.05: bounded on the grid up to a margin of ours),
whatever its value.

The diagnostics (ours, rules with our margins): the rate is exactly m^-1/2
(slope of the RMS error within -1/2 ± 0.05: our standard deviation predicts
it); the literal constant 1 of (8) covers at least 95% of pairs at every m
(the level a high-probability bound would need); our standard deviation
(``rms(err / sigma)`` within 1 ± 0.1 at every m); the normalization (the
gain of ``p = 2 T v`` divided by m within 1 ± 0.05 at every m, and its slope
in m within 1 ± 0.05).

Design choices where the paper is silent:

- Pairs: v ~ N(0, I_d); x = ||g|| (c v/||v|| + sqrt(1 - c^2) u) with c uniform
  on [-1, 1], u a random unit vector orthogonal to v and ||g|| the norm of an
  independent N(0, I_d) draw, so every angle between v and x is represented
  (random Gaussian pairs in d = 16 are nearly orthogonal).
- One T per seed shared by that seed's pairs; the per-seed statistics are
  the unit of the bootstrap; pooled values (over seeds x pairs) for the
  fractions and RMS ratios.
- float64 (the error at m = 2^14 is ~1e-2 of v^T x; float32 would do too).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import features, lab
from jaxrnn.lab import at_least, option


@lab.config_class(ms=(64, 128, 256, 512, 1024, 2048, 4096), dtype="float64")
class Config:
  d: int = option(16, at_least(2), help="input dimension")
  num_pairs: int = option(256, at_least(2), help="pairs (v, x) per seed")
  num_seeds: int = option(8, at_least(1), help="draws of T per point")


PRESETS = {
  "quick": Config(),
  # 4096 pairs per m; seeds are vmapped, so the largest intermediate is
  # num_seeds * num_pairs * m floats (0.5 GB in float64 at m = 2^14).
  "paper": Config(ms=tuple(2**k for k in range(6, 15)), num_pairs=256, num_seeds=16),
  # The smallest run that reaches every code path (tests, smoke runs): two
  # widths for the slope in m.
  "tiny": Config(ms=(16, 64), num_pairs=16, num_seeds=2),
}

#: The rules' margins (see the module docstring): ours, the paper gives none.
RATE_TOL = 0.05
BOUND_GROWTH = 0.05
WITHIN_LEVEL = 0.95
SIGMA_TOL = 0.1
GAIN_TOL = 0.05


def _pairs(key, n, d, dtype):
  kv, ku, kc, kn = jax.random.split(key, 4)
  v = jax.random.normal(kv, (n, d), dtype)
  vhat = v / jnp.linalg.norm(v, axis=1, keepdims=True)
  u = jax.random.normal(ku, (n, d), dtype)
  u = u - jnp.sum(u * vhat, axis=1, keepdims=True) * vhat
  u = u / jnp.linalg.norm(u, axis=1, keepdims=True)
  c = jax.random.uniform(kc, (n, 1), dtype, -1.0, 1.0)
  r = jnp.linalg.norm(jax.random.normal(kn, (n, d), dtype), axis=1, keepdims=True)
  x = r * (c * vhat + jnp.sqrt(1.0 - c**2) * u)
  return v, x


def per_seed(key, *, m: int, d: int, num_pairs: int, dtype: str):
  """One T (m, d) and ``num_pairs`` pairs (v, x): per-seed statistics of the
  normalized error of the readout."""
  dt = jnp.dtype(dtype)
  kt, kp = jax.random.split(key)
  T = features.random_relu_features(kt, m, d, 1.0, dt)
  v, x = _pairs(kp, num_pairs, d, dt)
  err = jax.vmap(features.relu_features_error, (None, 0, 0))(T, v, x)
  sigma = jax.vmap(features.relu_features_error_std, (0, 0, None))(v, x, m)
  scale = jnp.linalg.norm(v, axis=1) * jnp.linalg.norm(x, axis=1)
  vx = jnp.sum(v * x, axis=1)
  paper = jnp.sum((2.0 * v @ T.T) * jaxrnn.relu(x @ T.T), axis=1)  # p = 2 T v
  e = jnp.abs(err) / scale
  return {
    "rms": jnp.sqrt(jnp.mean(e**2)),
    "mean_abs": jnp.mean(e),
    "p95": jnp.quantile(e, 0.95),
    "frac_within_bound": jnp.mean(e <= 1.0 / math.sqrt(m)),
    "z_rms": jnp.sqrt(jnp.mean((err / sigma) ** 2)),
    "paper_gain": jnp.sum(paper * vx) / jnp.sum(vx * vx),
  }


points = lab.width_points


def run_point(cfg: Config, point: dict) -> dict:
  m = point["m"]
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    out = jaxrnn.sweep(lab.bind(per_seed, cfg, m=m), keys)
  return {k: np.asarray(v, np.float64) for k, v in out.items()}  # per seed


# --------------------------------------------------------------------------
# Declarations

#: The per-seed fields the table, figure and verdicts read.
SHOWN = ("rms", "p95", "frac_within_bound", "z_rms", "paper_gain")
#: The paper's statement of the order (Sec. 4.4, before Lemma 4.4).
CLAIM = lab.claims.CLAIMS["lemma4.4-rate"]
REGIME = lab.Regime(
  "T ∈ R^(m×d) with i.i.d. N(0, 1) entries, any v, x; readout p = 2Tv/m (the paper's 2Tv "
  "rescaled by 1/m, whose gain is checked below)",
  True,
)


def _pooled_rms(values) -> float | None:
  """RMS over all pairs from per-seed RMS values (equal pairs per seed)."""
  return lab.reduce_finite(values, lambda v: np.sqrt(np.mean(v**2)))


def _root_m(rs: lab.Records, ms) -> list:
  """Per-seed √m·rms at each width m (bounded iff the error is O(1/√m))."""
  return [lab.scaled(v, math.sqrt(m)) for m, v in zip(ms, lab.series(rs, "rms", ms))]


def _row(rs: lab.Records, m: int) -> list:
  """The table's row at width m."""
  rms, gain = rs.values("rms", m=m), lab.stats(rs.values("paper_gain", m=m))
  const, within = _pooled_rms(rms), lab.reduce_finite(rs.values("frac_within_bound", m=m))
  cells = [m, lab.stats(rms).n, lab.robust(rms), None if const is None else math.sqrt(m) * const]
  cells += [within, _pooled_rms(rs.values("z_rms", m=m)), gain.fmt(".4g", robust=True)]
  return cells + [None if gain.median is None else 1.0 / m * gain.median]


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  rs, ms = lab.Records(records, "m"), list(cfg.ms)
  rms_m = _root_m(rs, ms)
  consts = lab.finite_values(map(_pooled_rms, rms_m))
  frac = lab.reduce_finite(map(lab.reduce_finite, lab.series(rs, "frac_within_bound", ms)), np.min)
  note = f"√m·rms {consts.min():.3g} … {consts.max():.3g}" if consts.size else ""
  bounded = "error of the order 1/√m: √m·rms stays bounded as m grows"
  within = f"(8) with the literal constant 1 holds for at least {WITHIN_LEVEL:.0%} of pairs at "
  sigma = "error's std is sqrt((2 + 3cos²)/m)‖v‖‖x‖ (our derivation): rms(err/σ_pred) = 1"
  z = dict(zip(ms, map(_pooled_rms, lab.series(rs, "z_rms", ms))))
  gain = "the paper's p = 2Tv is m times too large: its gain on v^T x is m"
  rate = "rate: rms error ∝ m^-1/2 exactly (as our σ predicts)"
  gains = {m: _row(rs, m)[-1] for m in ms}  # gain / m
  paper, what = dict(claim=CLAIM, regime=REGIME), "min over m of the fraction within (8)"
  fit = lambda key: lab.trend(rs, key, ms)
  return [
    lab.check(bounded, lab.power_law(ms, rms_m), below=BOUND_GROWTH, note=note, **paper),
    lab.check(rate, fit("rms"), near=-0.5, tol=RATE_TOL),
    lab.check(within + "every m", frac, above=WITHIN_LEVEL, what=what),
    lab.check(sigma, z, within=(1 - SIGMA_TOL, 1 + SIGMA_TOL), spec=".3f"),
    lab.check(gain, gains, within=(1 - GAIN_TOL, 1 + GAIN_TOL), spec=".3f"),
    lab.check("the gain of p = 2Tv grows ∝ m^1", fit("paper_gain"), near=1.0, tol=GAIN_TOL),
  ]


def declare(cfg: Config, records: list) -> lab.Report:
  rs, ms = lab.Records(records, "m"), list(cfg.ms)
  head = "m | seeds | rms err/(‖v‖‖x‖) per seed | √m·rms (pooled over seeds) | frac within (8) | "
  head += "rms(err/σ_pred) | gain of p=2Tv per seed | gain/m"
  colors = lab.color_map(["rms", "95th percentile", "√m·rms", "frac within (8)", "rms(err/σ)"])

  per_m = {k: lab.series(rs, k, ms) for k in ("rms", "p95", "frac_within_bound", "z_rms")}
  per_m["root_m"] = _root_m(rs, ms)

  def band(label, key, marker="o"):  # one colour per quantity, across panels
    return lab.band(label, ms, per_m[key], color=colors[label], marker=marker)

  sigma = "constant of (8), fraction within (8), σ check"
  error = [band("rms", "rms"), band("95th percentile", "p95", "^")]
  error.append(lab.line("bound (8): 1/√m", ms, [1 / math.sqrt(m) for m in ms]))
  const = [band("√m·rms", "root_m"), band("frac within (8)", "frac_within_bound", "s")]
  const += [band("rms(err/σ)", "z_rms", "^"), lab.hline(1.0, color="k")]
  const.append(lab.hline(WITHIN_LEVEL, f"level {WITHIN_LEVEL:g}", ls="--"))
  med = "median over seeds (25-75%)"
  y_err = f"|err| / (‖v‖‖x‖), {med}"
  panels = [
    lab.width_panel(f"normalized error, slope {lab.trend(rs, 'rms', ms).fmt()}", y_err, error, ms),
    lab.width_panel(sigma, f"value, {med}", const, ms, ylog=False),
  ]
  return lab.Report(
    "random_features: Lemma 4.4, v^T x from p^T relu(T x)",
    f"T ∈ R^(m×{cfg.d}) with N(0,1) entries, p = 2Tv/m, {cfg.num_pairs} pairs (v, x) per "
    f"draw of T, {cfg.num_seeds} draws (seeds) per m, {cfg.dtype}. Per-seed values "
    "summarized as median [25%, 75%] over seeds (n = seeds with a finite value).",
    [lab.Table(head, ms, cells=lambda m: _row(rs, m)), lab.Figure("random_features", panels)],
    verdicts(cfg, records),
    choices=(
      "v Gaussian and x at a uniformly random cosine c ∈ [-1, 1] to v with a Gaussian-like "
      "norm; one T per seed shared by its pairs; per-seed statistics are the unit of the "
      "bootstrap; fractions and rms ratios pooled over seeds; slopes by least squares of the "
      f"mean log over seeds against log m; 'bounded' = slope of √m·rms below {BOUND_GROWTH:g} "
      "and the other margins are ours."
    ),
    missing={"non-finite per-seed values": lab.count_nonfinite(records, SHOWN)},
  )


report = lab.reporter(declare)


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Lemma 4.4: error of v^T x ~ p^T relu(Tx) against the width m"
)
