"""Experiment ``backward_correlation``: B vs Back_{i->L} (Lemma F.11).

What is measured. At a random initialization (Def. 3.2) and for random
normalized sequences (Def. 3.1), the normalized correlation

    corr_i = |<B, Back_{i->L}>_F| / (||B||_F ||Back_{i->L}||_F),   i = 1 .. L,

(``jaxrnn.backward_correlations`` over ``jaxrnn.backward_matrices``;
Frobenius inner product, which for d_out = 1 is the cosine of two m-vectors)
against the lag L - i, the width m and d_out. corr_L = 1 since Back_{L->L} =
B. The proof sketch of Lemma 4.2 needs corr_i small for i < L so that only
the i = L term of Eq. (4) survives: "The first L − 1 summands in the outer
sum above nearly vanish due to small correlation between B and
Back_{i→L} for i < L (see Lemma F.11)" (Sec. 4.2, ``lemma4.2-back``). The
paper gives no rate; its claim is tested through the trend it implies as
the network grows: for every d_out, corr (mean over i < L) falls with m
(95% bootstrap interval of the slope in m below 0), at a random
initialization (Def. 3.2) on normalized sequences (Def. 3.1).

What we expect (jaxrnn diagnostics: the rates and margins are ours).
Back_{L-1->L} = B D^(L) W: ``<B, B D W> = sum_rs b_r d_r W_rs b_s`` is a
sum of m^2 centred terms of size (2/m)^(1/2) |b|^2 / m, so corr ~ 1/sqrt(m),
and sqrt(m) corr stays bounded; nothing in the argument depends on the lag;
for d_out > 1 the d_out rows add independent centred terms, so the Frobenius
correlation falls like d_out^(-1/2). Each is decided by a rule in
the summary's verdict table (slopes with 95% bootstrap intervals over seeds):
the rate in m within -1/2 +- 0.1; the slope of sqrt(m) corr in m below 0.1;
the slope of corr against the lag below 0.1 and the slope of corr against
d_out within -1/2 +- 0.1 (both pooled over the widths after dividing by the
median at each width, so that each (m, seed) is one sample).

Design choices where the paper is silent (the appendix is unavailable):

- Frobenius inner product for d_out > 1 (one number per matrix pair); the
  mean over the d_out rows of the per-row |cosine| is recorded too. The
  networks for the d_out values of one seed share W, A and the first rows of
  B (one backward pass with d_out = max(d_outs) serves all).
- Per seed (one network), |corr| averaged over ``num_sequences`` sequences;
  seeds are the unit of the statistics (median and quartiles per cell,
  mean of logs in the fits).
- L = 10, d = 6, eps_x = 0.05 (< 1/L as in Thm. 4.5); float32.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import backward_correlations, init_params, lab, random_normalized_sequence
from jaxrnn.lab import at_least, each, option


@lab.config_class(L=10, d=6, eps_x=0.05, num_seeds=16, num_sequences=8, dtype="float32")
class Config:
  ms: tuple[int, ...] = option((64, 128, 256, 512, 1024), each(at_least(2)), help="widths m")
  d_outs: tuple[int, ...] = option((1, 4), each(at_least(1)), help="output dimensions")


PRESETS = {
  "quick": Config(),
  # Seeds are vmapped (32 copies of W at m = 2048: 0.5 GB in float32);
  # sequences go in batches of 4.
  "paper": Config(
    ms=(64, 128, 256, 512, 1024, 2048), d_outs=(1, 4, 16), L=20, num_seeds=32, num_sequences=16
  ),
  # The smallest run that reaches every code path (tests, smoke runs): two
  # widths for the slopes in m, two output dimensions for their comparison.
  "tiny": Config(ms=(16, 32), d_outs=(1, 2), L=4, num_seeds=2, num_sequences=2),
}

RATE_TOL = 0.1
GROWTH_MAX = 0.1


def per_seed(
  key, *, m: int, d_outs: tuple, L: int, d: int, eps_x: float, num_sequences: int, dtype: str
):
  """One network and ``num_sequences`` sequences: the mean over sequences of
  the Frobenius and per-row correlations, (len(d_outs), L) each."""
  dt = jnp.dtype(dtype)
  k_init, k_seq = jax.random.split(key)
  params = init_params(k_init, m, d, max(d_outs), dt)
  xs = jax.vmap(lambda k: random_normalized_sequence(k, L, d, eps_x, dt))(
    jax.random.split(k_seq, num_sequences)
  )
  # Sequences in batches of 4 (lax.map), not all at once: the Back matrices
  # are (L, d_out, m) per sequence, and seeds are already vmapped by sweep.
  out = jax.lax.map(lambda x: backward_correlations(params, x, tuple(d_outs)), xs, batch_size=4)
  return {"frob": jnp.mean(out["frob"], axis=0), "rows": jnp.mean(out["rows"], axis=0)}


points = lab.width_points


def run_point(cfg: Config, point: dict) -> dict:
  m = point["m"]
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    out = jaxrnn.sweep(lab.bind(per_seed, cfg, m=m, d_outs=tuple(cfg.d_outs)), keys)
  frob = np.asarray(out["frob"], np.float64)  # (seeds, n_dout, L)
  rows = np.asarray(out["rows"], np.float64)
  res = {}
  for j, k in enumerate(cfg.d_outs):
    res[str(k)] = {
      "corr": frob[:, j, :],  # (seeds, L), index i-1
      "corr_rows": rows[:, j, :],
      "corr_early": frob[:, j, :-1].mean(axis=1),  # (seeds,) mean over i < L
    }
  return res


# --------------------------------------------------------------------------
# Declarations

#: The paper's statement (Sec. 4.2, proof of Lemma 4.2) and the conditions it needs.
CLAIM = lab.claims.CLAIMS["lemma4.2-back"]
REGIME = lab.Regime(
  "random initialization (Def. 3.2), normalized sequences (Def. 3.1), i < L", True
)


def _early(rs: lab.Records, m, k) -> list:
  """Per-seed corr at d_out = k and width m, mean over i < L."""
  return rs.values(f"{k}/corr_early", m=m)


def _lag(rs: lab.Records, L: int, m, k, g) -> list:
  """Per-seed corr at d_out = k, width m and lag g = L - i."""
  return rs.values(f"{k}/corr", column=L - 1 - g, m=m)


def _pooled(rs: lab.Records, ms, k, field: str, column: int | None = None) -> list:
  """Per-seed ``field`` (``column``) over the median of the mean over i < L at
  d_out = k and the same m, pooled over the widths (each (m, seed) one sample)."""
  out = []
  for m in ms:
    med = rs.median(f"{k}/corr_early", m=m)
    if med:
      out += lab.scaled(rs.values(field, column=column, m=m), 1.0 / med)
  return out


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  return _verdicts(cfg, lab.Records(records, "m"))


def _verdicts(cfg: Config, rs: lab.Records) -> list:
  out, ms, d_outs, lags = [], list(cfg.ms), list(cfg.d_outs), range(1, cfg.L)
  for k in d_outs:
    rate = lab.trend(rs, f"{k}/corr_early", ms)
    const = lab.power_law(ms, [lab.scaled(_early(rs, m, k), math.sqrt(m)) for m in ms])
    by_lag = [_pooled(rs, ms, k, f"{k}/corr", cfg.L - 1 - g) for g in lags]
    falls = f"d_out={k}: corr(B, Back_{{i→L}}) (mean over i<L) falls with m"
    bounded = f"d_out={k}: √m·corr stays bounded (grows slower than m^{GROWTH_MAX:g})"
    lagged = f"d_out={k}: corr grows with the lag L−i slower than (L−i)^{GROWTH_MAX:g} "
    out += [
      lab.check(falls, rate, below=0, claim=CLAIM, regime=REGIME),
      lab.check(f"d_out={k}: corr (i<L) ∝ m^-1/2", rate, near=-0.5, tol=RATE_TOL),
      lab.check(bounded, const, below=GROWTH_MAX),
      lab.check(lagged + "(pooled over m)", lab.power_law(lags, by_lag), below=GROWTH_MAX),
    ]
  if len(d_outs) >= 2:
    per_k = [_pooled(rs, ms, d_outs[0], f"{k}/corr_early") for k in d_outs]
    rule = "Frobenius corr ∝ d_out^-1/2 (rows add independent terms; pooled over m)"
    out.append(lab.check(rule, lab.power_law(d_outs, per_k), near=-0.5, tol=RATE_TOL))
  return out


def declare(cfg: Config, records: list) -> lab.Report:
  rs, ms, L = lab.Records(records, "m"), list(cfg.ms), cfg.L
  shown, lags, vs = sorted({1, max(1, (L - 1) // 2), L - 1}), range(1, L), _verdicts(cfg, rs)
  cells = [(k, m) for k in cfg.d_outs for m in ms if _early(rs, m, k)]

  def row(k, m):
    med = rs.median(f"{k}/corr_early", m=m)
    lag_medians = [lab.stats(_lag(rs, L, m, k, g)).median for g in shown]
    root_m = None if med is None else math.sqrt(m) * med
    return [k, m, *lag_medians, lab.robust(_early(rs, m, k)), root_m]

  head = f"d_out | m | {' | '.join(f'lag {g}' for g in shown)} | mean over i<L | √m·median"
  table = lab.Table(head, cells, "Lag columns: median over seeds.", cells=lambda c: row(*c))
  colors, decay, root_m, by_lag = lab.color_map([f"d_out={k}" for k in cfg.d_outs]), [], [], []
  for k in cfg.d_outs:  # one curve per d_out in each panel
    early, color = lab.series(rs, f"{k}/corr_early", ms), colors[f"d_out={k}"]
    slope = lab.power_law(ms, early).fmt()
    decay.append(lab.band(f"d_out={k}: {slope}", ms, early, color=color))
    scaled = [lab.scaled(v, math.sqrt(m)) for m, v in zip(ms, early)]
    root_m.append(lab.band(f"d_out={k}", ms, scaled, color=color))
    top = next((m for m, v in zip(ms[::-1], early[::-1]) if v), None)
    if top is not None:
      per_lag = [_lag(rs, L, top, k, g) for g in lags]
      by_lag.append(lab.band(f"d_out={k}, m={top}", lags, per_lag, color=color))
  ref = rs.median(f"{cfg.d_outs[0]}/corr_early", m=ms[0])
  if ref is not None:
    decay.append(lab.line("∝ m^-1/2", ms, [ref * math.sqrt(ms[0] / m) for m in ms]))
  corr = "|corr(B, Back_{i→L})|"
  panels = [
    lab.width_panel("decay in m (legend: slope [95%])", f"{corr}, mean over i<L", decay, ms),
    lab.width_panel("√m · corr", "√m · |corr|", root_m, ms, ylog=False, ylim=(0, None)),
    lab.Panel("against the lag (lag 0 is 1 by definition)", "lag L − i", corr, by_lag, xlog=False),
  ]
  return lab.Report(
    "backward_correlation: B vs Back_{i→L} at initialization (Lemma F.11)",
    f"L={L}, d={cfg.d}, ε_x={cfg.eps_x}, {cfg.num_sequences} sequences per network, "
    f"{cfg.num_seeds} networks (seeds) per cell, {cfg.dtype}. Correlation = |⟨B, Back⟩_F| / "
    "(‖B‖_F‖Back‖_F), averaged over a network's sequences; cells give median [25%, 75%] "
    "over seeds (n = seeds with a finite value).",
    [table, lab.Figure("backward_correlation", panels)],
    vs,
    reading=["For i = L the correlation is 1 by definition."],
    choices=(
      "Frobenius inner product for d_out > 1 (per-row mean |cos| also stored as corr_rows); "
      "|corr| averaged over a network's sequences, seeds as the statistical unit; slopes by "
      "least squares of the mean log over seeds, 95% bootstrap intervals over seeds; the lag "
      "and d_out trends pooled over the widths after dividing by each width's median; the "
      f"rates and margins of the diagnostics (± {RATE_TOL:g}, growth below {GROWTH_MAX:g}) are "
      "ours."
    ),
    missing={
      "non-finite per-seed means over i<L": rs.missing_of("corr_early"),
      "non-finite per-seed, per-lag values": rs.missing_of("corr"),
    },
  )


report = lab.reporter(declare)


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Lemma F.11: |corr(B, Back_{i->L})| against m, lag and d_out"
)
