"""Statistics over seeds shared by the experiments: one bootstrap over seeds,
log-log curvature, power-law crossings, power laws in several covariates and
a front-padding helper.

Every resampling of a curve here (and in ``lab.power_law``) is
``boot_log_means``: at each x the seeds are resampled with replacement,
independently per x, from one generator seeded with ``seed``, resample by
resample; the statistic is the mean over the resampled seeds of ``log y``.
``power_fit`` (several covariates) resamples the seed indices once for all
cells together. Intervals are the 2.5-97.5% range over ``n_boot`` resamples.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from jaxrnn.lab.report import Slope, finite, finite_values

#: "At most polynomial": the log-log slope may rise by at most this much per
#: unit of ln x (``loglog_curvature``; an exponential e^{bx} raises it by b x
#: per unit of ln x, so 0.5 at x = 10 means b = 0.05, 5% per step).
CURVATURE_MARGIN = 0.5


def log_points(xs: Sequence[float], per_x: Sequence) -> tuple[list, int]:
  """``([(log x, log of the positive finite values at x)], left_out)``: each
  entry of ``per_x`` is a value or a list of per-seed values; non-finite and
  non-positive values are left out (counted), an x with none left is dropped."""
  pts, left_out = [], 0
  for x, ys in zip(xs, per_x):
    ys = list(ys) if isinstance(ys, (list, tuple, np.ndarray)) else [ys]
    v = finite_values(ys)
    left_out += len(ys) - int(np.sum(v > 0))
    v = v[v > 0]
    if v.size and finite(x) is not None and x > 0:
      pts.append((math.log(x), np.log(v)))
  return pts, left_out


def boot_log_means(pts: list, n_boot: int, seed: int) -> np.ndarray:
  """(n_boot, n_x): per resample, the mean of ``log y`` over the seeds at
  each x resampled with replacement (``pts`` as ``log_points`` returns).
  Resample b draws its indices for x_1, ..., x_n in turn; cost
  O(n_boot sum_x n_seeds(x))."""
  rng = np.random.default_rng(seed)
  sizes = {ly.size for _, ly in pts}
  if len(sizes) == 1:  # one draw of every index, in the same order as the loop below
    n = sizes.pop()
    ly = np.stack([p[1] for p in pts])  # (n_x, n)
    idx = rng.integers(0, n, (n_boot, len(pts), n))
    return np.take_along_axis(ly[None], idx, axis=2).mean(axis=2)
  out = np.empty((n_boot, len(pts)))
  for b in range(n_boot):
    for j, (_, ly) in enumerate(pts):
      out[b, j] = ly[rng.integers(0, ly.size, ly.size)].mean()
  return out


def ls_slopes(lx: np.ndarray, ly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """Least-squares slope and intercept of ``ly`` (..., n) on ``lx`` (n,),
  one fit per leading index."""
  lx_c = lx - lx.mean()
  ly = np.asarray(ly, np.float64)
  k = (ly - ly.mean(axis=-1, keepdims=True)) @ lx_c / np.dot(lx_c, lx_c)
  return k, ly.mean(axis=-1) - k * lx.mean()


def loglog_curvature(xs, per_x, *, n_boot: int = 2000, seed: int = 0) -> Slope:
  """Second derivative of log y in log x from a least-squares quadratic fit
  ``log y = a + k log x + (c/2) (log x)^2`` of the mean over seeds of log y
  (c: how fast the log-log slope changes per unit of log x), as a ``Slope``
  with a bootstrap 95% interval over seeds (``boot_log_means``). A power law
  gives 0, an exponential ``e^{b x}`` b x (> 0), a saturating curve < 0. NaN
  with fewer than three x."""
  pts, left_out = log_points(xs, per_x)
  n = len(pts)
  if n < 3:
    return Slope(math.nan, math.nan, math.nan, n, 0, left_out)
  lx = np.array([p[0] for p in pts])
  u = lx - lx.mean()
  coef = np.linalg.pinv(np.stack([np.ones(n), u, u**2], axis=1))[2]  # the quadratic's row
  value = float(2.0 * (np.array([p[1].mean() for p in pts]) @ coef))
  n_seeds = max(p[1].size for p in pts)
  if n_seeds <= 1:
    return Slope(value, value, value, n, 1, left_out)
  lo, hi = np.quantile(2.0 * (boot_log_means(pts, n_boot, seed) @ coef), [0.025, 0.975])
  return Slope(value, float(lo), float(hi), n, n_seeds, left_out)


def power_law_crossing(
  xs, per_x, level: float = 1.0, *, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
  """The x beyond which the fitted power law ``y ~ c x^k`` (least squares of
  the mean over seeds of log y on log x, as ``lab.power_law``) is below
  ``level``: ``(level / c)^(1/k)`` for k < 0, inf for k >= 0 (the fit does not
  fall). Returns ``(value, lo, hi)``, the interval over ``boot_log_means``
  (NaN with one seed); all NaN when fewer than two x have values."""
  pts, _ = log_points(xs, per_x)
  if len(pts) < 2:
    return (math.nan, math.nan, math.nan)
  lx = np.array([p[0] for p in pts])

  def log_cross(means):
    k, c = ls_slopes(lx, means)
    with np.errstate(divide="ignore", invalid="ignore"):
      return np.where(k < 0, (math.log(level) - c) / np.where(k < 0, k, -1.0), np.inf)

  def ex(v):
    v = float(v)
    return math.inf if v == math.inf else math.exp(min(v, 700.0))

  value = ex(log_cross(np.array([p[1].mean() for p in pts])))
  if max(p[1].size for p in pts) <= 1:
    return (value, math.nan, math.nan)
  boot = log_cross(boot_log_means(pts, n_boot, seed))
  lo, hi = np.quantile(boot, [0.025, 0.975], method="nearest")
  return (value, ex(lo), ex(hi))


def fmt_crossing(c: tuple[float, float, float], cap: float = 1e12) -> str:
  """``1.2e+04 [5e+03, 4e+04]``; values above ``cap`` as ``>cap``, inf as ∞,
  NaN as n/a."""

  def f(v):
    if math.isnan(v):
      return "n/a"
    if math.isinf(v):
      return "∞"
    return f">{cap:.0e}" if v > cap else f"{v:.2g}"

  return f(c[0]) if math.isnan(c[1]) else f"{f(c[0])} [{f(c[1])}, {f(c[2])}]"


def pad_front(xs, L_max: int):
  """(n, L, d) -> (n, L_max, d) with zero tokens in front (an RNN's h stays 0
  on them: a zero token on h = 0 gives ReLU(0) = 0, so the outputs are those
  of length L). Works on jax and NumPy arrays."""
  import jax.numpy as jnp

  pad = jnp.zeros((xs.shape[0], L_max - xs.shape[1], xs.shape[2]), xs.dtype)
  return jnp.concatenate([pad, xs], axis=1)


def exp_rate(xs, per_x) -> Slope:
  """Growth rate per unit x of ``y ~ c e^{k x}``: the slope of ln y against
  x, with ``lab.power_law``'s bootstrap interval (a power law in e^x)."""
  from jaxrnn.lab.report import power_law

  return power_law([float(np.exp(x)) for x in xs], per_x)


def rate_difference(xs, per_a, per_b, *, n_boot: int = 2000, seed: int = 0) -> Slope:
  """``exp_rate(a) - exp_rate(b)`` (slopes of ln y against x) with a 95%
  interval from independent ``boot_log_means`` resamples of the seeds of a
  (``seed``) and of b (``seed + 1``) at every x; NaN unless both fit."""
  a, b = exp_rate(xs, per_a), exp_rate(xs, per_b)
  if not (a.ok and b.ok):
    return Slope(math.nan, math.nan, math.nan, 0, 0, a.left_out + b.left_out)

  def boot(per, seed):
    pts = []
    for x, ys in zip(xs, per):
      v = finite_values(ys if isinstance(ys, (list, tuple, np.ndarray)) else [ys])
      v = v[v > 0]
      if v.size:
        pts.append((float(x), np.log(v)))
    x = np.array([p[0] for p in pts])
    x = x - x.mean()
    means = boot_log_means(pts, n_boot, seed)
    return (means - means.mean(axis=1, keepdims=True)) @ x / np.dot(x, x)

  lo, hi = np.quantile(boot(per_a, seed) - boot(per_b, seed + 1), [0.025, 0.975])
  n_x, n_seeds = min(a.n_x, b.n_x), min(a.n_seeds, b.n_seeds)
  return Slope(a.value - b.value, float(lo), float(hi), n_x, n_seeds, 0)


# --------------------------------------------------------------------------
# Power laws in several covariates: y ~ c prod_j x_j^(a_j)


class PowerFit(NamedTuple):
  """``y ~ c prod_j x_j^(a_j)`` fitted by ``power_fit``: ``value``, ``lo``,
  ``hi`` are (k + 1,) arrays ``[ln c, a_1, ..., a_k]`` (the interval is the
  2.5-97.5% range over the bootstrap); ``boot`` the (n_boot, k + 1) bootstrap
  coefficients; ``n_cells`` cells fitted; ``n_seeds`` seeds per cell (most)."""

  value: np.ndarray
  lo: np.ndarray
  hi: np.ndarray
  boot: np.ndarray
  n_cells: int
  n_seeds: int

  @property
  def ok(self) -> bool:
    return bool(np.all(np.isfinite(self.value)))

  def coef(self, j: int) -> Slope:
    """Coefficient ``j`` (0: ln c, j >= 1: the exponent a_j) with its interval,
    as a ``Slope`` over ``n_cells`` points and ``n_seeds`` seeds."""
    return Slope(*(float(a[j]) for a in self[:3]), self.n_cells, self.n_seeds, 0)

  def fmt(self, j: int, spec: str = ".3f") -> str:
    """Coefficient ``j`` as ``value [lo, hi]``; ``value`` alone without a
    bootstrap (one seed), ``n/a`` without a fit."""
    v, lo, hi = (float(a[j]) for a in self[:3])
    if not math.isfinite(v):
      return "n/a"
    return f"{v:{spec}}" if math.isnan(lo) else f"{v:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def power_fit(xs, per_cell, *, n_boot: int = 2000, seed: int = 0) -> PowerFit:
  """Least squares in logs of a product of powers, with a bootstrap over seeds.

  ``xs`` (n_cells, k) positive covariates (e.g. L, eps_x, m), ``per_cell``
  n_cells lists of per-seed values y (index s = seed s; None, NaN or
  y <= 0 left out). Fits ``mean_s ln y = ln c + sum_j a_j ln x_j`` over the
  cells with a value. Unlike ``boot_log_means``, the bootstrap resamples the
  seed *indices* with replacement once for every cell together (seed s is
  one network, shared by the cells of its width), and refits. NaN
  coefficients with fewer cells than k + 2. Cost O(n_boot n_cells n_seeds).
  """
  X = np.asarray(xs, np.float64)
  if X.ndim != 2 or X.shape[0] != len(per_cell):
    raise ValueError(f"xs must be (n_cells, k) with one row per cell, got {X.shape}")
  n_seeds = max((len(v) for v in per_cell), default=0)
  Y = np.full((len(per_cell), max(n_seeds, 1)), np.nan)
  for i, vals in enumerate(per_cell):
    for j, v in enumerate(vals):
      f = finite(v)
      if f is not None and f > 0:
        Y[i, j] = math.log(f)
  keep = np.all(X > 0, axis=1) & np.any(np.isfinite(Y), axis=1)
  X, Y = X[keep], Y[keep]
  k = X.shape[1]
  nan = np.full(k + 1, np.nan)
  if X.shape[0] < k + 2:
    return PowerFit(nan, nan, nan, np.empty((0, k + 1)), int(X.shape[0]), n_seeds)
  D = np.concatenate([np.ones((X.shape[0], 1)), np.log(X)], axis=1)

  def fit(means):  # means (n_cells,) -> (k + 1,)
    ok = np.isfinite(means)
    if ok.sum() < k + 2:
      return nan
    return np.linalg.lstsq(D[ok], means[ok], rcond=None)[0]

  with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # nanmean of an all-NaN row
    value = fit(np.nanmean(Y, axis=1))
    if n_seeds <= 1:
      return PowerFit(value, nan, nan, np.empty((0, k + 1)), int(X.shape[0]), n_seeds)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_seeds, (n_boot, n_seeds))
    means = np.nanmean(Y[:, idx], axis=2)  # (n_cells, n_boot)
  if np.all(np.isfinite(means)):
    boot = np.linalg.lstsq(D, means, rcond=None)[0].T
  else:
    boot = np.stack([fit(means[:, b]) for b in range(n_boot)])
  boot = boot[np.all(np.isfinite(boot), axis=1)]
  lo, hi = np.quantile(boot, [0.025, 0.975], axis=0) if len(boot) else (nan, nan)
  return PowerFit(value, np.asarray(lo), np.asarray(hi), boot, int(X.shape[0]), n_seeds)


def power_fit_crossing(fit: PowerFit, xs: Sequence[float], level: float = 1.0) -> tuple:
  """The last covariate at which ``fit``'s ``c prod_j x_j^(a_j)``, the others
  fixed at ``xs`` (k - 1 values), falls to ``level``:
  ``x_k = (level / (c prod_{j<k} x_j^(a_j)))^(1 / a_k)`` when ``a_k < 0``, inf
  otherwise (the fit does not fall in x_k). Returns ``(value, lo, hi)``, the
  interval the 2.5-97.5% range over ``fit.boot`` (NaN without a bootstrap or
  a fit), as ``power_law_crossing`` does for one covariate."""

  def one(coef):
    if not np.all(np.isfinite(coef)):
      return math.nan
    if coef[-1] >= 0:
      return math.inf
    lx = math.log(level) - coef[0] - sum(a * math.log(x) for a, x in zip(coef[1:], xs))
    return math.exp(min(lx / coef[-1], 700.0))

  value = one(fit.value)
  if not len(fit.boot):
    return (value, math.nan, math.nan)
  lo, hi = np.quantile([one(c) for c in fit.boot], [0.025, 0.975], method="nearest")
  return (value, float(lo), float(hi))
