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

What the paper says (Sec. 4.2, "Re-randomization"): "we will re-randomize
the rows of the matrix [W, A]_r, show that the matrices W̄^[L],
{Back_{i→L}} and {h^(i)} don't change a lot". It gives no rate and no
number, so the paper claim is tested through the trend "don't change a lot"
implies as the redrawn set becomes a small part of the network: each change
falls with the block fraction s/m (95% bootstrap interval of the log-log
slope against s/m above 0) and falls with m at a fixed block size s (slope
in m below 0). Regime: the normalized sequences of Thm. 4.5 (ε_x < 1/L),
under which W̄^[L] is the inversion the proof re-randomizes.

What we derive (jaxrnn diagnostics, rules of ours). The block's own
coordinates give a floor for Δh: given h^(l-1), a redrawn row's
preactivation is independent of the old one with the same law N(0, σ^2), and
for independent g, g' ~ N(0, σ^2), ``E (relu g - relu g')^2 = 2 Var relu g =
σ^2 (1 - 1/π)`` while ``E relu(g)^2 = σ^2 / 2``. So the block alone carries

    E ||Δh^(l)||^2 / ||h^(l)||^2 >= 2 (1 - 1/π) f,   f = s/m,
    i.e. Δh >= floor = sqrt(2 (1 - 1/π)) sqrt(f) ≈ 1.17 sqrt(f),

with equality at l = 1 (nothing upstream changes). The initialization is
norm-preserving (W ~ N(0, 2/m): ``E ||relu(W u)||^2 = ||u||^2``), so the
change made upstream passes through the m - s kept rows with gain about 1
in squared norm while each step adds a fresh, independent share of the
floor:

    Δh^(l)^2 / floor^2 ≈ sum_{j<l} (1 - f)^j = (1 - (1 - f)^l) / f  →  l  (f → 0),

i.e. Δh^(l) grows like sqrt(l) for small blocks and saturates at large
blocks (f = 1/2: at most sqrt(2)). This holds for the steps driven by the
hidden state; at l = L the last bias token x^(L) = e_d (Def. 3.1) adds a
large unchanged input and the relative change drops, so the sqrt(l) fit
uses l = 1 .. L-1. The saturation also bends the curve in s/m: the slope
of Δh against s/m is 1/2 for small blocks and smaller near s/m = 1/2, so
every fit against s/m uses the small blocks only (k >= ``min_fit_blocks``).

The rules (``verdicts`` computes them), at the largest m that has the
quantity:

- paper (``rerand``): Δh, ΔBack, ΔWbar fall with s/m (small blocks) and
  with m at a fixed block size s (the middle block size common to every m).
- diagnostics: Δh ∝ sqrt(s/m) on small blocks (slope within 0.5 ± 0.1);
  Δh^(1) / floor within 1 ± 0.15 (median over k and seeds); Δh^(l) grows
  like sqrt(l) at the smallest block fraction (slope in l, l = 1 .. L-1,
  within 0.5 ± 0.1); the pattern decoder's l_inf error after / before within
  [1/1.25, 1.25].
- reported as numbers, no rule: each change at the smallest block fraction
  and the number of blocks at which a power law in k (small blocks) would
  bring it below 0.1 (the paper gives no size for "a lot").

Design choices where the paper is silent:

- Blocks are contiguous index ranges (the rows are i.i.d., so any fixed
  partition is equivalent); B is not redrawn; the *rows* of W are redrawn,
  not the columns (Sec. 4.2: "re-randomize the rows of [W, A]_r").
- One fresh key per (seed, k, block); one set of sequences per seed;
  per seed, changes are averaged over the measured blocks and sequences
  (the maximum over blocks of Δh is kept as ``h_blockmax``). Records keep
  every seed; cells show median [quartiles] over seeds.
- "Small blocks" = k >= ``min_fit_blocks`` (8: s/m <= 1/8, where the
  saturation factor (1 - (1 - f)^l) / (f l) stays above 0.6 for l <= 9).
  The margins of the diagnostics (± 0.1, ± 0.15, 1.25) are ours.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import init_params, inversion_matrix, lab, random_normalized_sequence
from jaxrnn.inversion import zero_base_sequence
from jaxrnn.lab import at_least, each, option
from jaxrnn.lab.declare import ratios as ratios_of
from jaxrnn.rerandomize import relative_change, rerandomization_changes, rerandomize_rows

#: The floor of Δh per unit sqrt(s/m): sqrt(2 (1 - 1/π)) ≈ 1.17 (module docstring).
FLOOR = math.sqrt(2.0 * (1.0 - 1.0 / math.pi))
#: The level of the reported extrapolation "blocks k at which the change is below SMALL"
#: (a number in a table, not a rule: the paper gives no size for "a lot").
SMALL = 0.1
#: Diagnostics (ours): Δh^(1) / floor within 1 ± FLOOR_TOL; slopes within 0.5 ± RATE_TOL.
FLOOR_TOL = 0.15
RATE_TOL = 0.1
#: Diagnostic (ours): the decoder survives: inversion error after / before within [1/r, r].
INV_RATIO = 1.25
QUANTITIES = {"h": "Δh", "back": "ΔBack", "wbar": "ΔWbar"}
#: The paper's statement these experiments test (Sec. 4.2).
CLAIM = lab.claims.CLAIMS["rerand"]


@lab.config_class(
  ms=(128, 256, 512), L=6, d=6, eps_x=0.05, num_seeds=5, num_sequences=8, dtype="float32"
)
class Config:
  num_blocks: tuple[int, ...] = option(
    (2, 4, 8, 16, 32), each(at_least(1)), help="numbers k of equal blocks of neurons"
  )
  max_blocks: int = option(8, at_least(1), help="blocks measured per k (evenly spaced)")
  wbar_max_m: int = option(1024, at_least(1), help="largest m at which Wbar^[L] is compared")
  min_fit_blocks: int = option(
    8,
    at_least(1),
    help="fits against s/m use the small blocks k >= min_fit_blocks only (fewer than two: n/a)",
  )

  def validate(self):
    lab.require(
      all(m % k == 0 for m in self.ms for k in self.num_blocks),
      "num_blocks: every k must divide every m (equal blocks)",
    )


PRESETS = {
  "quick": Config(),
  "paper": Config(
    ms=(256, 512, 1024, 2048, 4096),
    num_blocks=(2, 4, 8, 16, 32, 64, 128),
    max_blocks=4,
    L=10,
    num_seeds=5,
    num_sequences=8,
  ),
  # The smallest run that reaches every code path (tests, smoke runs): two
  # widths (a block size shared by both, Wbar measured at both), two small
  # blocks for the fits against s/m, three steps for the growth in l.
  "tiny": Config(
    ms=(16, 32),
    num_blocks=(2, 4),
    L=4,
    num_seeds=2,
    num_sequences=2,
    wbar_max_m=32,
    min_fit_blocks=2,
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
# Verdicts and report


def fit_blocks(cfg: Config) -> list:
  """The numbers of blocks k that the fits against s/m use: the small blocks
  k >= ``min_fit_blocks`` (near s/m = 1/2 the changes saturate, module
  docstring)."""
  return [k for k in cfg.num_blocks if k >= cfg.min_fit_blocks]


def predicted_growth(k: int, l: int) -> float:
  """Δh^(l) / floor predicted by the norm-preserving initialization for
  blocks of fraction f = 1/k: ``sqrt((1 - (1 - f)^l) / f)`` (module
  docstring); ``sqrt(l)`` as f → 0."""
  f = 1.0 / k
  return math.sqrt((1.0 - (1.0 - f) ** l) / f)


def _floor(k: int) -> float:
  """The floor of Δh for blocks of fraction s/m = 1/k: FLOOR sqrt(s/m)."""
  return FLOOR * math.sqrt(1.0 / k)


INV = ("inv_err_new", "inv_err")
#: The per-(m, k) table: header -> quantity.
CELLS = {"Δh (mean over l)": "h", "Δh / floor": "h/floor", "ΔBack (mean i<L)": "back"}
CELLS |= {"ΔWbar": "wbar", "Δxhat l∞": "decoded", "inv. err before": "inv_err", "after": INV[0]}


def _read(cfg: Config, records: list) -> tuple:
  """Per quantity the widths with a record (ΔWbar up to ``wbar_max_m``) and the block sizes
  s = m/k common to them (at least two widths); ``cells[name, m, k]`` the per-seed values of
  ``CELLS``: Δh mean over l (or over the floor), ΔBack mean over i < L (Back_{L->L} = B is
  never redrawn), the others as stored, None if missing; ``along[k]`` per step l the per-seed
  Δh^(l) / floor at the largest m."""
  rs, ks = lab.Records(records, "m"), cfg.num_blocks
  present = lab.present(rs, cfg.ms)
  ms = {n: [m for m in present if n != "wbar" or m <= cfg.wbar_max_m] for n in QUANTITIES}
  sizes = lambda widths: sorted(set.intersection(*[{m // k for k in ks} for m in widths]))
  fixed = {n: sizes(w) if len(w) > 1 else [] for n, w in ms.items()}

  def seeds(n, m, k):
    if n == "h/floor":
      return lab.seedwise(lambda x: x / _floor(k), seeds("h", m, k))
    if n not in ("h", "back"):
      return rs.values(f"{k}/{n}", m=m)
    steps = lab.columns(rs, f"{k}/{n}", cfg.L - (n == "back"), m=m)
    return lab.seedwise(lambda *row: np.mean(row), *steps)

  keys = [(n, m, k) for n in CELLS.values() for m in ms.get(n, present) for k in ks]
  cells = {key: seeds(*key) for key in keys}
  mbig = present[-1] if present else None  # None: no record, every column empty
  along = {k: lab.columns(rs, f"{k}/h", cfg.L, m=mbig, scale=_floor(k)) for k in ks}
  return ms, fixed, cells, along


def regime(cfg: Config) -> lab.Regime:
  """The conditions of the re-randomization claim a run can check."""
  where = f"normalized sequences with ε_x < 1/L (Thm. 4.5; here ε_x = {cfg.eps_x:g}, L = {cfg.L}); "
  where += "rows split into disjoint blocks of equal size"
  return lab.Regime(where, cfg.eps_x < 1.0 / cfg.L, f"ε_x < {1.0 / cfg.L:.3g}")


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  ms, fixed, cells, along = _read(cfg, records)
  if not ms["h"]:
    return []
  ks, fks, small = list(cfg.num_blocks), fit_blocks(cfg), cfg.min_fit_blocks
  paper, mbig, steps = dict(claim=CLAIM, regime=regime(cfg)), ms["h"][-1], max(cfg.L - 1, 1)
  last = {n: m[-1] for n, m in ms.items() if m}
  fr = [1.0 / k for k in fks]
  fits = {n: lab.power_law(fr, [cells[n, m, k] for k in fks]) for n, m in last.items()}
  out = []
  for n, m in last.items():
    rule = f"{QUANTITIES[n]} falls with the block fraction s/m (small blocks k ≥ {small}, m={m})"
    out.append(lab.check(rule, fits[n], above=0, **paper))
  for n, s in ((n, s[len(s) // 2]) for n, s in fixed.items() if s):
    rule = f"{QUANTITIES[n]} falls with m at a fixed block size s={s}"
    slope = lab.power_law(ms[n], [cells[n, m, m // s] for m in ms[n]])
    out.append(lab.check(rule, slope, below=0, **paper))
  first = lab.stats(x for k in ks for x in along[k][0]).median
  ratios = [r for m in ms["h"] for k in ks for r in ratios_of(*(cells[n, m, k] for n in INV))]
  r = lab.stats(ratios).median
  ratio = None if r is None else max(r, 1.0 / r)
  where = f"l = 1..{steps}, s/m = 1/{max(ks)}, m={mbig}"
  share = f"Δh^(1) equals the block's own share sqrt(2 (1 - 1/π) s/m) (m={mbig})"
  dev = "|median over k and seeds of Δh^(1) / floor - 1|"
  sqrt_l = f"Δh^(l) grows like sqrt(l) (norm-preserving initialization; {where})"
  decoder = "re-randomizing a block leaves the pattern decoder's error unchanged"
  what = "max(r, 1/r), r = median over (m, k, seeds) of error after / before"
  near = dict(near=0.5, tol=RATE_TOL)
  return out + [
    lab.check(f"Δh ∝ sqrt(s/m) on small blocks (k ≥ {small}, m={mbig})", fits["h"], **near),
    lab.check(share, None if first is None else abs(first - 1.0), below=FLOOR_TOL, what=dev),
    lab.check(sqrt_l, lab.power_law(range(1, steps + 1), along[max(ks)][:steps]), **near),
    lab.check(decoder, ratio, below=INV_RATIO, what=what),
  ]


def declare(cfg: Config, records: list) -> lab.Report:
  """The summary: slopes against s/m and m, the growth along the sequence,
  the figure, the verdicts, every (m, k) cell."""
  ms, fixed, cells, along = _read(cfg, records)
  ks, fks = list(cfg.num_blocks), fit_blocks(cfg)
  title = "rerandomization: redrawing one block of rows of [W, A] (Sec. 4.2)"
  setup = (
    f"L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x:g}; per (m, k): {cfg.num_seeds} networks (seeds) × "
    f"{cfg.num_sequences} sequences, at most {cfg.max_blocks} blocks per k; {cfg.dtype}. Cells: "
    "median [quartiles] over seeds of the per-seed mean over blocks and sequences, n = seeds. "
    f"Floor = sqrt(2 (1 - 1/π) s/m) ≈ {FLOOR:.2f} sqrt(s/m), the share of the redrawn coordinates "
    "alone; with the norm-preserving initialization Δh^(l) / floor ≈ sqrt((1 - (1 - s/m)^l) / "
    "(s/m)) → sqrt(l) (module docstring). Fits against s/m use the small blocks k ≥ "
    f"{cfg.min_fit_blocks}."
  )
  if not ms["h"]:
    return lab.Report(title, setup, ["No completed points."], [])
  fr_all, fr, mbig = [1.0 / k for k in ks], [1.0 / k for k in fks], ms["h"][-1]
  last = {n: m[-1] for n, m in ms.items() if m}
  mid = {n: s[len(s) // 2] for n, s in fixed.items() if s}
  per_k = lambda n, m, ks=ks: [cells[n, m, k] for k in ks]
  at_size = lambda n, s: [cells[n, m, m // s] for m in ms[n]]
  steps, small, y = range(1, cfg.L + 1), cfg.min_fit_blocks, "Δh^(l) / floor"
  colors = lab.color_map(list(QUANTITIES)) | lab.seq_colors([f"m={m}" for m in ms["h"]])
  colors |= lab.seq_colors([f"k={k}" for k in ks], "plasma")

  def cell(m, k, n):
    return "not measured" if n == "wbar" and m > cfg.wbar_max_m else lab.robust(cells[n, m, k])

  def slope_row(n, m):
    at_small = per_k(n, m, fks)
    fits = [lab.power_law(fr, at_small).fmt(), lab.power_law(fr_all, per_k(n, m)).fmt()]
    cross = lab.fmt_crossing(lab.power_law_crossing(fks, at_small, SMALL))
    return [QUANTITIES[n], m, *fits, lab.robust(cells[n, m, max(ks)]), cross]

  def growth(k, l):
    med = lab.stats(along[k][l - 1]).median
    return "n/a" if med is None else f"{med:.2f} ({predicted_growth(k, l):.2f})"

  floor = lab.line("floor", fr_all, [_floor(k) for k in ks])
  frac = dict(x="block fraction s/m = 1/k", xbase=2)
  changes = [
    lab.band(f"{QUANTITIES[n]}, m={m}", fr_all, per_k(n, m), color=colors[n])
    for n, m in last.items()
  ] + [floor]
  per_m = [lab.band(f"m={m}", fr_all, per_k("h", m), color=colors[f"m={m}"]) for m in ms["h"]]
  bands = [lab.band(f"k={k}", steps, along[k], color=colors[f"k={k}"]) for k in ks]
  sqrt_l = lab.line("sqrt(l)", steps, [math.sqrt(l) for l in steps])
  at_s = [
    lab.band(f"{QUANTITIES[n]}, s={s}", ms[n], at_size(n, s), color=colors[n])
    for n, s in mid.items()
  ]
  panels = [
    lab.Panel(f"changes (fits: s/m ≤ 1/{small})", y="relative change", curves=changes, **frac),
    lab.Panel("Δh per m", y="Δh (mean over l)", curves=per_m + [floor], **frac),
    lab.Panel(f"growth along the sequence, m={mbig}", "step l", y, bands + [sqrt_l], xlog=False),
    lab.width_panel("fixed block size", "relative change", at_s, ms["h"]),
  ]
  fixed_rows = [(n, s) for n, sizes in fixed.items() for s in sizes]
  slopes = lab.Table(
    f"change | m | slope in s/m, k ≥ {small} (floor: 0.5) | slope in s/m, all k | "
    f"at s/m = 1/{max(ks)} | blocks k at which it would reach {SMALL:g} (extrapolated)",
    [(n, m) for n in QUANTITIES for m in ms[n]],
    "Slopes against the block fraction (95% bootstrap interval over seeds) on the small blocks "
    "(the fits of the verdicts) and on all blocks (bent by the saturation near s/m = 1/2); the "
    "change at the smallest fraction; and, from a power law in k on the small blocks, the number "
    f"of blocks at which the change would fall below {SMALL:g} — an extrapolation beyond the grid, "
    "with its bootstrap interval (∞: the fit does not fall). These last two columns are numbers, "
    "not rules: the paper gives no size for 'a lot'.",
    cells=lambda r: slope_row(*r),
  )
  at_fixed = lab.Table(
    "change | block size s | slope in m (floor: -0.5)",
    fixed_rows,
    "At a fixed block size s, against m (95% bootstrap interval over seeds).",
    cells=lambda f: [QUANTITIES[f[0]], f[1], lab.power_law(ms[f[0]], at_size(*f)).fmt()],
  )
  along_table = lab.Table(
    ["k"] + [f"l={l}" for l in steps],
    ks,
    f"Δh^(l) / floor at m={mbig}, median over seeds, and in brackets the norm-preserving "
    "prediction sqrt((1 - (1 - s/m)^l) / (s/m)) (module docstring); at l = L the bias token x^(L) "
    "adds an unchanged input.",
    cells=lambda k: [k] + [growth(k, l) for l in steps],
  )
  read = [c for c in cells if c[0] != "h/floor"]  # every shown value once (h/floor is h's)
  missing = sum(lab.stats(cells[c]).missing for c in read)
  tables = [slopes] + ([at_fixed] if fixed_rows else []) + [along_table]
  return lab.Report(
    title,
    setup,
    blocks=[lab.Figure("rerandomization", panels), *tables],
    verdicts=verdicts(cfg, records),
    after=[
      lab.Table(
        ["m", "k", "s", *CELLS],
        [(m, k) for m in ms["h"] for k in ks],
        cells=lambda c: [*c, c[0] // c[1]] + [cell(*c, n) for n in CELLS.values()],
      )
    ],
    choices=(
      "contiguous blocks; only rows of W and A redrawn, B kept; one fresh key per (seed, k, "
      f"block); at most {cfg.max_blocks} evenly spaced blocks per k; fits against s/m on the small "
      f"blocks k ≥ {cfg.min_fit_blocks}; the margins of the diagnostics (slopes ± {RATE_TOL:g}, "
      f"floor ± {FLOOR_TOL:g}, inversion ratio within {INV_RATIO:g}) are this module's; the level "
      f"{SMALL:g} of the extrapolation is a reported number, not a rule; {cfg.dtype}."
    ),
    missing={"non-finite per-seed values": missing},
  )


report = lab.reporter(declare)


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "Sec. 4.2: change of h, Back, Wbar and the inversion error when a block of rows is redrawn",
)
