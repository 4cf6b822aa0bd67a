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
# Report


def _early(by, m, k) -> list:
  rec = by.get((m, k))
  return list(rec.get("corr_early") or []) if rec else []


def _at_lag(by, m, k, lag, L) -> list:
  """Per-seed corr at lag L - i (i = L - lag)."""
  rec = by.get((m, k))
  if not rec or rec.get("corr") is None:
    return []
  return [row[L - 1 - lag] if row is not None else None for row in rec["corr"]]


def _pooled_lag(by, ms, k, lag, L) -> list:
  """Per-seed corr at ``lag`` divided by the median over seeds of the mean
  over i<L at the same m, pooled over the widths (the lag trend without the
  width trend; each (m, seed) is one sample)."""
  out = []
  for m in ms:
    med = lab.stats(_early(by, m, k)).median
    if med:
      out += [v / med if lab.finite(v) is not None else None for v in _at_lag(by, m, k, lag, L)]
  return out


def _pooled_dout(by, ms, k, k0) -> list:
  """Per-seed mean corr (i<L) at d_out = k divided by the median at d_out = k0
  and the same m, pooled over the widths."""
  out = []
  for m in ms:
    med = lab.stats(_early(by, m, k0)).median
    if med:
      out += [v / med if lab.finite(v) is not None else None for v in _early(by, m, k)]
  return out


#: The paper's statement (Sec. 4.2, proof of Lemma 4.2) and the conditions it needs.
CLAIM = lab.claims.CLAIMS["lemma4.2-back"]
REGIME = lab.Regime(
  "random initialization (Def. 3.2), normalized sequences (Def. 3.1), i < L", True
)


def _index(cfg: Config, records: list) -> dict:
  by = {(r["point"]["m"], k): r.get(str(k)) for r in records for k in cfg.d_outs}
  return {key: v for key, v in by.items() if v is not None}


def _fits(cfg: Config, by: dict) -> dict:
  """The slopes the verdicts read: per d_out, corr (i<L) in m, √m·corr in m,
  corr against the lag (pooled over m); and corr against d_out."""
  ms, d_outs, L = list(cfg.ms), list(cfg.d_outs), cfg.L
  lags = list(range(1, L))
  slopes, const, lag = {}, {}, {}
  for k in d_outs:
    slopes[k] = lab.power_law(ms, [_early(by, m, k) for m in ms])
    const[k] = lab.power_law(
      ms,
      [
        [math.sqrt(m) * v if lab.finite(v) is not None else None for v in _early(by, m, k)]
        for m in ms
      ],
    )
    lag[k] = lab.power_law(lags, [_pooled_lag(by, ms, k, g, L) for g in lags])
  dout = (
    lab.power_law(d_outs, [_pooled_dout(by, ms, k, d_outs[0]) for k in d_outs])
    if len(d_outs) >= 2
    else None
  )
  return {"slopes": slopes, "const": const, "lag": lag, "dout": dout}


def _verdicts(cfg: Config, fits: dict) -> list:
  out = []
  for k in cfg.d_outs:
    out += [
      lab.slope_verdict(
        f"d_out={k}: corr(B, Back_{{i→L}}) (mean over i<L) falls with m",
        fits["slopes"][k],
        below=0,
        claim=CLAIM,
        regime=REGIME,
      ),
      lab.slope_verdict(
        f"d_out={k}: corr (i<L) ∝ m^-1/2", fits["slopes"][k], near=-0.5, tol=RATE_TOL
      ),
      lab.slope_verdict(
        f"d_out={k}: √m·corr stays bounded (grows slower than m^{GROWTH_MAX:g})",
        fits["const"][k],
        below=GROWTH_MAX,
      ),
      lab.slope_verdict(
        f"d_out={k}: corr grows with the lag L−i slower than (L−i)^{GROWTH_MAX:g} (pooled over m)",
        fits["lag"][k],
        below=GROWTH_MAX,
      ),
    ]
  if fits["dout"] is not None:
    out.append(
      lab.slope_verdict(
        "Frobenius corr ∝ d_out^-1/2 (rows add independent terms; pooled over m)",
        fits["dout"],
        near=-0.5,
        tol=RATE_TOL,
      )
    )
  return out


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  return _verdicts(cfg, _fits(cfg, _index(cfg, records)))


def report(cfg: Config, records: list, out_dir) -> str:
  by = _index(cfg, records)
  ms, d_outs, L = list(cfg.ms), list(cfg.d_outs), cfg.L
  lags = list(range(1, L))
  s = lab.Summary(
    "backward_correlation: B vs Back_{i→L} at initialization (Lemma F.11)",
    setup=(
      f"L={L}, d={cfg.d}, ε_x={cfg.eps_x}, {cfg.num_sequences} sequences per network, "
      f"{cfg.num_seeds} networks (seeds) per cell, {cfg.dtype}. Correlation = |⟨B, Back⟩_F| / "
      "(‖B‖_F‖Back‖_F), averaged over a network's sequences; cells give median [25%, 75%] "
      "over seeds (n = seeds with a finite value)."
    ),
  )
  missing = {
    "non-finite per-seed means over i<L": sum(
      len(_early(by, m, k)) - lab.finite_values(_early(by, m, k)).size for m in ms for k in d_outs
    ),
    "non-finite per-seed, per-lag values": sum(
      sum(lab.finite(v) is None for v in _at_lag(by, m, k, g, L))
      for m in ms
      for k in d_outs
      for g in lags
    ),
  }
  shown = sorted({1, max(1, (L - 1) // 2), L - 1})
  rows = []
  for k in d_outs:
    for m in ms:
      if (m, k) not in by:
        continue
      e = lab.stats(_early(by, m, k))
      rows.append(
        [k, m]
        + [lab.stats(_at_lag(by, m, k, g, L)).median for g in shown]
        + [e.fmt(".3g", robust=True), math.sqrt(m) * e.median if e.median is not None else None]
      )
  s.table(
    ["d_out", "m"] + [f"lag {g}" for g in shown] + ["mean over i<L", "√m·median"],
    rows,
    caption="Lag columns: median over seeds.",
  )

  fits = _fits(cfg, by)
  slopes = fits["slopes"]
  m_top = {k: next((m for m in reversed(ms) if (m, k) in by), None) for k in d_outs}
  vs = _verdicts(cfg, fits)

  colors = lab.color_map([f"d_out={k}" for k in d_outs])
  fig, axes = lab.figure(3, 1, width=4.8, height=4.0)
  for k in d_outs:
    c = colors[f"d_out={k}"]
    lab.band_plot(
      axes[0], ms, [_early(by, m, k) for m in ms], label=f"d_out={k}: {slopes[k].fmt()}", color=c
    )
    lab.band_plot(
      axes[1],
      ms,
      [
        [math.sqrt(m) * v if lab.finite(v) is not None else None for v in _early(by, m, k)]
        for m in ms
      ],
      label=f"d_out={k}",
      color=c,
    )
    mt = m_top[k]
    if mt is not None:
      lab.band_plot(
        axes[2], lags, [_at_lag(by, mt, k, g, L) for g in lags], label=f"d_out={k}, m={mt}", color=c
      )
  mm = np.asarray(ms, float)
  ref = lab.stats(_early(by, ms[0], d_outs[0])).median
  if ref is not None:
    axes[0].plot(mm, ref * np.sqrt(mm[0] / mm), "k--", lw=1, label="∝ m^-1/2")
  for ax, ylabel, title, ylog in (
    (axes[0], "|corr(B, Back_{i→L})|, mean over i<L", "decay in m (legend: slope [95%])", True),
    (axes[1], "√m · |corr|", "√m · corr", False),
  ):
    lab.style_axes(ax, "width m", ylabel, title, xbase=2, ylog=ylog)
    ax.set_xticks(ms, [str(m) for m in ms], fontsize=8)
    ax.minorticks_off()
  lab.style_axes(
    axes[2],
    "lag L − i",
    "|corr(B, Back_{i→L})|",
    "against the lag (lag 0 is 1 by definition)",
    xlog=False,
  )
  axes[1].set_ylim(bottom=0)
  s.figure(out_dir / "backward_correlation.png", "backward_correlation", fig=fig)
  s.verdicts(vs)
  s.bullets(
    "Reading",
    [f"{v.rule}: {v.outcome} ({v.measured})." for v in vs]
    + ["For i = L the correlation is 1 by definition.", lab.missing_note(missing)],
  )
  s.choices(
    "Frobenius inner product for d_out > 1 (per-row mean |cos| also stored as corr_rows); "
    "|corr| averaged over a network's sequences, seeds as the statistical unit; slopes by "
    "least squares of the mean log over seeds, 95% bootstrap intervals over seeds; the lag "
    "and d_out trends pooled over the widths after dividing by each width's median; the rates "
    f"and margins of the diagnostics (± {RATE_TOL:g}, growth below {GROWTH_MAX:g}) are ours."
  )
  return s.render()


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Lemma F.11: |corr(B, Back_{i->L})| against m, lag and d_out"
)
