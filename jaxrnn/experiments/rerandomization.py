"""Experiment ``rerandomization``: what moves when a block of rows is redrawn (Sec. 4.2).

What is measured. Split the m neurons into k disjoint blocks of s = m/k rows.
For blocks of every k (at most ``max_blocks`` per k, evenly spaced; all
vmapped in memory-bounded batches through ``lax.map(..., batch_size)``),
redraw that block's rows of ``[W, A]_r`` from N(0, 2/m) with a fresh key
(``jaxrnn.rerandomize.rerandomize_rows``, the traced-mask form of
``jaxrnn.rerandomize.rerandomize``) and measure, on random normalized
sequences (``jaxrnn.rerandomize.rerandomization_changes``):

- Δh: ``||h'^(l) - h^(l)|| / ||h^(l)||`` for every l = 1 .. L;
- ΔBack: ``||Back'_{i->L} - Back_{i->L}||_F / ||Back_{i->L}||_F`` for every i
  (i = L is B itself, never redrawn, and is left out of the mean);
- ΔWbar: ``||Wbar'^[L] - Wbar^[L]||_F / ||Wbar^[L]||_F`` (pattern-based,
  base = ``jaxrnn.inversion.zero_base_sequence``), for m <= ``wbar_max_m``;
- the l_inf inversion error before and after, and ``||xhat' - xhat||_inf``.

What the proof needs (Sec. 4.2): these changes are small, so that
concentration can be applied to the fresh rows. The block's own coordinates
give a floor for Δh: given h^(l-1), a redrawn row's preactivation is
independent of the old one with the same law N(0, σ^2), and for independent
g, g' ~ N(0, σ^2), ``E (relu g - relu g')^2 = 2 Var relu g = σ^2 (1 - 1/π)``
while ``E relu(g)^2 = σ^2 / 2``. So the block alone carries

    E ||Δh^(l)||^2 / ||h^(l)||^2 >= 2 (1 - 1/π) s/m,   i.e. Δh >= 1.17 sqrt(s/m),

with equality at l = 1 (nothing upstream changes). (The first version of this
docstring said sqrt(2 s/m): it forgot that relu outputs are positive, so the
old and new coordinates are correlated through their mean.) Propagation
through W can only add to it at l > 1.

The rules (each can fail; ``verdicts`` computes them), at the largest m that
has the quantity:

- Δh, ΔBack, ΔWbar shrink with the block fraction s/m = 1/k: log-log slope
  against s/m, bootstrap 95% interval over seeds, above 0; Δh follows
  sqrt(s/m): slope within 0.5 ± 0.1.
- They shrink with m at a fixed block size s: slope against m below 0
  (-1/2 if they scale like sqrt(s/m)).
- The floor: Δh^(1) / sqrt(2 (1 - 1/π) s/m) within 1 ± 0.15 (median over k and
  seeds); propagation adds little: Δh (mean over l) / floor <= 1.5 in every
  (m, k).
- Small: each change < ``SMALL`` at the smallest block fraction tried; and
  the number of blocks k* at which the power law fitted in k would reach
  ``SMALL`` (an extrapolation, with its bootstrap interval): reachable at
  width m only if the block size m / k* is at least one row.
- The decoder survives: mean inversion error after / before within
  [1/1.25, 1.25].

Design choices where the paper is silent:

- Blocks are contiguous index ranges (the rows are i.i.d., so any fixed
  partition is equivalent); B is not redrawn; the *rows* of W are redrawn,
  not the columns (Sec. 4.2: "re-randomize the rows of [W, A]_r").
- One fresh key per (seed, k, block); one set of sequences per seed;
  per seed, changes are averaged over the measured blocks and sequences
  (the maximum over blocks of Δh is kept as ``h_blockmax``). Records keep
  every seed; cells show median [quartiles] over seeds.
- ``SMALL`` = 0.1 and the margins above are this module's choices (the
  proof needs the changes to vanish, the paper gives no number).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import init_params, inversion_matrix, lab, random_normalized_sequence
from jaxrnn.experiments.invertibility import fmt_crossing, power_law_crossing, robust, seq_colors
from jaxrnn.inversion import zero_base_sequence
from jaxrnn.lab import at_least, each, option
from jaxrnn.rerandomize import relative_change, rerandomization_changes, rerandomize_rows

#: The floor of Δh per unit sqrt(s/m): sqrt(2 (1 - 1/π)) ≈ 1.17 (module docstring).
FLOOR = math.sqrt(2.0 * (1.0 - 1.0 / math.pi))
#: "Small": a relative change below this.
SMALL = 0.1
#: Δh^(1) / floor must lie within 1 ± FLOOR_TOL; Δh / floor at most AMPLIFICATION.
FLOOR_TOL = 0.15
AMPLIFICATION = 1.5
#: The decoder survives: inversion error after / before within [1/r, r].
INV_RATIO = 1.25
QUANTITIES = {"h": "Δh", "back": "ΔBack", "wbar": "ΔWbar"}


@lab.config_class(
  ms=(128, 256, 512), L=6, d=6, eps_x=0.05, num_seeds=5, num_sequences=8, dtype="float32"
)
class Config:
  num_blocks: tuple[int, ...] = option(
    (2, 4, 8, 16, 32), each(at_least(1)), help="numbers k of equal blocks of neurons"
  )
  max_blocks: int = option(8, at_least(1), help="blocks measured per k (evenly spaced)")
  wbar_max_m: int = option(1024, at_least(1), help="largest m at which Wbar^[L] is compared")

  def validate(self):
    lab.require(
      all(m % k == 0 for m in self.ms for k in self.num_blocks),
      "num_blocks: every k must divide every m (equal blocks)",
    )


PRESETS = {
  "quick": Config(),
  "paper": Config(
    ms=(256, 512, 1024, 2048, 4096),
    num_blocks=(2, 4, 8, 16, 32, 64),
    max_blocks=4,
    L=10,
    num_seeds=5,
    num_sequences=8,
  ),
}


def measured_blocks(k: int, max_blocks: int) -> list[int]:
  """The blocks of k that are measured: all if k <= max_blocks, else
  ``max_blocks`` evenly spaced ones."""
  if k <= max_blocks:
    return list(range(k))
  return [(i * k) // max_blocks for i in range(max_blocks)]


def per_seed(
  key,
  *,
  m: int,
  num_blocks: tuple,
  max_blocks: int,
  L: int,
  d: int,
  eps_x: float,
  num_sequences: int,
  with_wbar: bool,
  dtype: str,
):
  """``{k: {"h": (L,), "back": (L,), "wbar", "inv_err", "inv_err_new",
  "decoded", "h_blockmax"}}`` for one network, means over blocks and
  sequences."""
  dt = jnp.dtype(dtype)
  # Every measured (k, block) pair in one flat list: block sizes differ, so
  # the rows are selected by a traced mask (``rerandomize_rows``) and one
  # compiled body serves all k.
  pairs = [(m // k, b) for k in num_blocks for b in measured_blocks(k, max_blocks)]
  sizes = jnp.asarray([p[0] for p in pairs], jnp.int32)
  blocks = jnp.asarray([p[1] for p in pairs], jnp.int32)
  batch = max(1, min(len(pairs), (1 << 25) // (m * m)))  # ~128 MB of W copies
  k_init, k_seq, k_new = jax.random.split(key, 3)
  params = init_params(k_init, m, d, 1, dt)
  base = zero_base_sequence(L, d, dt)
  xs = jax.vmap(lambda k: random_normalized_sequence(k, L, d, eps_x, dt))(
    jax.random.split(k_seq, num_sequences)
  )
  wbar0 = inversion_matrix(params, base) if with_wbar else None

  def per_block(args):
    bkey, s, b = args
    new = rerandomize_rows(bkey, params, jnp.arange(m) // s == b)
    ch = jax.vmap(rerandomization_changes, (None, None, 0, None, None))(
      params, new, xs, base, False
    )
    res = {
      "h": jnp.mean(ch["h"], axis=0),
      "back": jnp.mean(ch["back"], axis=0),
      "inv_err": jnp.mean(ch["inv_err"]),
      "inv_err_new": jnp.mean(ch["inv_err_new"]),
      "decoded": jnp.mean(ch["decoded"]),
    }
    res["wbar"] = (
      relative_change(wbar0, inversion_matrix(new, base)) if with_wbar else jnp.asarray(jnp.nan, dt)
    )
    return res

  bkeys = jax.random.split(k_new, len(pairs))
  per = jax.lax.map(per_block, (bkeys, sizes, blocks), batch_size=batch)
  out, start = {}, 0
  for k in num_blocks:
    n = len(measured_blocks(k, max_blocks))
    sl = {name: v[start : start + n] for name, v in per.items()}
    out[str(k)] = {name: jnp.mean(v, axis=0) for name, v in sl.items()}
    out[str(k)]["h_blockmax"] = jnp.max(jnp.mean(sl["h"], axis=1))
    start += n
  return out


points = lab.width_points


def run_point(cfg: Config, point: dict) -> dict:
  m = point["m"]
  fn = lab.bind(per_seed, cfg, m=m, with_wbar=m <= cfg.wbar_max_m)
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    out = jaxrnn.sweep(fn, keys)
  # record[k][name]: (num_seeds, ...) per seed.
  return {
    k: {name: np.asarray(v, np.float64) for name, v in vals.items()} for k, vals in out.items()
  }


# --------------------------------------------------------------------------
# Report


class _Cells:
  """Per-seed values of the records, by (m, k)."""

  def __init__(self, cfg: Config, records: list):
    self.cfg = cfg
    self.by = {r["point"]["m"]: r for r in records}
    self.ms = [m for m in cfg.ms if m in self.by]
    self.missing = 0
    for m in self.ms:
      for k in cfg.num_blocks:
        for name in ("h", "back", "wbar", "inv_err", "inv_err_new"):
          if name == "wbar" and m > cfg.wbar_max_m:
            continue
          self.missing += sum(v is None for v in self.seeds(m, k, name))

  def _raw(self, m, k, name) -> list:
    r = self.by.get(m, {}).get(str(k))
    if not isinstance(r, dict) or r.get(name) is None:
      return []
    return list(r[name])

  def seeds(self, m, k, name) -> list:
    """Per-seed scalar of a quantity: Δh mean over l, ΔBack mean over i < L
    (Back_{L->L} = B is never redrawn), others as stored; None if missing."""
    out = []
    for v in self._raw(m, k, name):
      if name in ("h", "back"):
        arr = [lab.finite(x) for x in (v if isinstance(v, (list, tuple)) else [v])]
        if name == "back":
          arr = arr[:-1]
        out.append(None if not arr or any(x is None for x in arr) else float(np.mean(arr)))
      else:
        out.append(lab.finite(v))
    return out

  def step(self, m, k, name, i) -> list:
    """Per-seed value of h^(i+1) (or Back_{i+1 -> L}) change."""
    out = []
    for v in self._raw(m, k, name):
      out.append(lab.finite(v[i]) if isinstance(v, (list, tuple)) and i < len(v) else None)
    return out

  def ms_for(self, name) -> list:
    return [m for m in self.ms if name != "wbar" or m <= self.cfg.wbar_max_m]


def _fixed_block_sizes(cfg: Config, ms) -> list:
  """Block sizes s = m/k present at every m of ``ms``."""
  if len(ms) < 2:
    return []
  common = set.intersection(*[{m // k for k in cfg.num_blocks} for m in ms])
  return sorted(common)


def _middle(values):
  return values[len(values) // 2] if values else None


def _ratio_to_floor(values, k) -> list:
  f = FLOOR * math.sqrt(1.0 / k)
  return [None if v is None else v / f for v in values]


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  c = _Cells(cfg, records)
  out = []
  if not c.ms:
    return out
  ks = list(cfg.num_blocks)
  fr = [1.0 / k for k in ks]
  for name, label in QUANTITIES.items():
    ms = c.ms_for(name)
    if not ms:
      continue
    m = ms[-1]
    out.append(
      lab.slope_verdict(
        f"{label} shrinks with the block fraction s/m (m={m})",
        lab.power_law(fr, [c.seeds(m, k, name) for k in ks]),
        above=0,
      )
    )
    if name == "h":
      out.append(
        lab.slope_verdict(
          f"Δh scales like sqrt(s/m) (m={m})",
          lab.power_law(fr, [c.seeds(m, k, "h") for k in ks]),
          near=0.5,
          tol=0.1,
        )
      )
  for name, label in QUANTITIES.items():
    ms = c.ms_for(name)
    s0 = _middle(_fixed_block_sizes(cfg, ms))
    if s0 is None:
      continue
    out.append(
      lab.slope_verdict(
        f"{label} shrinks with m at a fixed block size s={s0} (prediction -1/2)",
        lab.power_law(ms, [c.seeds(m, m // s0, name) for m in ms]),
        below=0,
      )
    )
  mbig = c.ms[-1]
  first = [v for k in ks for v in _ratio_to_floor(c.step(mbig, k, "h", 0), k) if v is not None]
  out.append(
    lab.threshold_verdict(
      f"Δh^(1) equals the block's own share sqrt(2 (1 - 1/π) s/m) (m={mbig})",
      abs(float(np.median(first)) - 1.0) if first else None,
      below=FLOOR_TOL,
      what="|median over k and seeds of Δh^(1) / floor - 1|",
    )
  )
  amp = [
    float(np.median(v))
    for m in c.ms
    for k in ks
    if (v := [x for x in _ratio_to_floor(c.seeds(m, k, "h"), k) if x is not None])
  ]
  out.append(
    lab.threshold_verdict(
      "propagation through W adds little to Δh",
      max(amp) if amp else None,
      below=AMPLIFICATION,
      what="largest over (m, k) of the median Δh (mean over l) / floor",
    )
  )
  for name, label in QUANTITIES.items():
    ms = c.ms_for(name)
    if not ms:
      continue
    vals = lab.stats(c.seeds(ms[-1], ks[-1], name))
    out.append(
      lab.threshold_verdict(
        f"{label} is small at the smallest block fraction 1/{ks[-1]} (m={ms[-1]})",
        vals.median,
        below=SMALL,
        what=f"median over seeds ({vals.n})",
      )
    )
  for name, label in QUANTITIES.items():
    ms = c.ms_for(name)
    if not ms:
      continue
    k_star = power_law_crossing(ks, [c.seeds(ms[-1], k, name) for k in ks], SMALL)[0]
    out.append(
      lab.threshold_verdict(
        f"{label} < {SMALL:g} is reachable with blocks of at least one row at m={ms[-1]} "
        "(extrapolated)",
        None if math.isnan(k_star) else ms[-1] / k_star,
        above=1.0,
        what=f"block size m / k* where the power law in k reaches {SMALL:g}",
      )
    )
  ratios = []
  for m in c.ms:
    for k in ks:
      for a, b in zip(c.seeds(m, k, "inv_err_new"), c.seeds(m, k, "inv_err")):
        if a is not None and b is not None and b > 0:
          ratios.append(a / b)
  r = float(np.median(ratios)) if ratios else None
  out.append(
    lab.threshold_verdict(
      "re-randomizing a block leaves the pattern decoder's error unchanged",
      None if r is None else max(r, 1.0 / r),
      below=INV_RATIO,
      what="max(r, 1/r), r = median over (m, k, seeds) of error after / before",
    )
  )
  return out


def report(cfg: Config, records: list, out_dir) -> str:
  c = _Cells(cfg, records)
  s = lab.Summary(
    "rerandomization: redrawing one block of rows of [W, A] (Sec. 4.2)",
    setup=(
      f"L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x:g}; per (m, k): {cfg.num_seeds} networks (seeds) × "
      f"{cfg.num_sequences} sequences, at most {cfg.max_blocks} blocks per k; {cfg.dtype}. "
      "Cells: median [quartiles] over seeds of the per-seed mean over blocks and sequences, "
      f"n = seeds. Floor = sqrt(2 (1 - 1/π) s/m) ≈ {FLOOR:.2f} sqrt(s/m), the share of the "
      "redrawn coordinates alone (module docstring)."
    ),
  )
  if not c.ms:
    s.text("No completed points.")
    return s.render()
  ks, ms = list(cfg.num_blocks), c.ms
  fr = [1.0 / k for k in ks]
  qcolors = lab.color_map(list(QUANTITIES))
  mcolors = seq_colors([f"m={m}" for m in ms])
  fig, axes = lab.figure(ncols=4, width=4.4, height=3.8)
  ax = axes[0]
  for name, label in QUANTITIES.items():
    qms = c.ms_for(name)
    if qms:
      lab.band_plot(
        ax,
        fr,
        [c.seeds(qms[-1], k, name) for k in ks],
        label=f"{label}, m={qms[-1]}",
        color=qcolors[name],
      )
  ax.plot(fr, [FLOOR * math.sqrt(f) for f in fr], "k--", lw=1, label="floor")
  lab.style_axes(ax, "block fraction s/m = 1/k", "relative change", "changes", xbase=2)
  ax = axes[1]
  for m in ms:
    lab.band_plot(ax, fr, [c.seeds(m, k, "h") for k in ks], label=f"m={m}", color=mcolors[f"m={m}"])
  ax.plot(fr, [FLOOR * math.sqrt(f) for f in fr], "k--", lw=1, label="floor")
  lab.style_axes(ax, "block fraction s/m = 1/k", "Δh (mean over l)", "Δh per m", xbase=2)
  ax = axes[2]
  kmid = _middle(ks)
  steps = list(range(1, cfg.L + 1))
  lab.band_plot(
    ax,
    steps,
    [c.step(ms[-1], kmid, "h", i) for i in range(cfg.L)],
    label="Δh^(l), x = l",
    color=qcolors["h"],
  )
  lab.band_plot(
    ax,
    steps[:-1],
    [c.step(ms[-1], kmid, "back", i) for i in range(cfg.L - 1)],
    label="ΔBack_{i→L}, x = i",
    color=qcolors["back"],
    marker="x",
  )
  lab.style_axes(ax, "step", "relative change", f"per step, m={ms[-1]}, k={kmid}", xlog=False)
  ax = axes[3]
  for name, label in QUANTITIES.items():
    qms = c.ms_for(name)
    s0 = _middle(_fixed_block_sizes(cfg, qms))
    if s0 is not None:
      lab.band_plot(
        ax,
        qms,
        [c.seeds(m, m // s0, name) for m in qms],
        label=f"{label}, s={s0}",
        color=qcolors[name],
      )
  lab.style_axes(ax, "width m", "relative change", "fixed block size", xbase=2)
  s.figure(out_dir / "rerandomization.png", fig=fig)

  rows = []
  for name, label in QUANTITIES.items():
    for m in c.ms_for(name):
      per_k = [c.seeds(m, k, name) for k in ks]
      rows.append(
        [
          label,
          m,
          lab.power_law(fr, per_k).fmt(),
          fmt_crossing(power_law_crossing(ks, per_k, SMALL)),
        ]
      )
  s.table(
    [
      "change",
      "m",
      "slope in s/m (floor: 0.5)",
      f"blocks k at which it would reach {SMALL:g} (extrapolated)",
    ],
    rows,
    caption=(
      "Slopes against the block fraction (95% bootstrap interval over seeds) and, from a power "
      f"law in k, the number of blocks at which the change would fall below {SMALL:g} — an "
      "extrapolation beyond the grid, with its bootstrap interval (∞: the fit does not fall)."
    ),
  )
  rows = []
  for name, label in QUANTITIES.items():
    qms = c.ms_for(name)
    for s0 in _fixed_block_sizes(cfg, qms):
      rows.append([label, s0, lab.power_law(qms, [c.seeds(m, m // s0, name) for m in qms]).fmt()])
  if rows:
    s.table(
      ["change", "block size s", "slope in m (floor: -0.5)"],
      rows,
      caption="At a fixed block size s, against m (95% bootstrap interval over seeds).",
    )
  s.verdicts(verdicts(cfg, records))
  s.bullets("Reading", [lab.missing_note({"non-finite per-seed values": c.missing})])
  s.choices(
    "contiguous blocks; only rows of W and A redrawn, B kept; one fresh key per (seed, k, "
    f"block); at most {cfg.max_blocks} evenly spaced blocks per k; the margins (small = "
    f"{SMALL:g}, floor ± {FLOOR_TOL:g}, amplification ≤ {AMPLIFICATION:g}, inversion ratio "
    f"within {INV_RATIO:g}) are this module's choices; float32."
  )
  rows = []
  for m in ms:
    for k in ks:
      rows.append(
        [
          m,
          k,
          m // k,
          robust(c.seeds(m, k, "h")),
          robust(_ratio_to_floor(c.seeds(m, k, "h"), k)),
          robust(c.seeds(m, k, "back")),
          robust(c.seeds(m, k, "wbar")) if m <= cfg.wbar_max_m else "not measured",
          robust(c.seeds(m, k, "decoded")),
          robust(c.seeds(m, k, "inv_err")),
          robust(c.seeds(m, k, "inv_err_new")),
        ]
      )
  s.table(
    [
      "m",
      "k",
      "s",
      "Δh (mean over l)",
      "Δh / floor",
      "ΔBack (mean i<L)",
      "ΔWbar",
      "Δxhat l∞",
      "inv. err before",
      "after",
    ],
    rows,
  )
  return s.render()


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "Sec. 4.2: change of h, Back, Wbar and the inversion error when a block of rows is redrawn",
)
