"""Experiment ``rerandomization``: what moves when a block of rows is redrawn (Sec. 4.2).

What is measured. Split the m neurons into k disjoint blocks of s = m/k rows.
For every block of every k (all blocks vmapped, in memory-bounded batches
through ``lax.map(..., batch_size)``), redraw that block's rows of
``[W, A]_r`` from N(0, 2/m) with a fresh key (``jaxrnn.rerandomize.rerandomize_rows``,
the traced-mask form of ``jaxrnn.rerandomize.rerandomize``) and measure, on random normalized
sequences (``jaxrnn.rerandomize.rerandomization_changes``):

- ``||h'^(l) - h^(l)|| / ||h^(l)||`` for every l = 1 .. L;
- ``||Back'_{i->L} - Back_{i->L}||_F / ||Back_{i->L}||_F`` for every i;
- ``||Wbar'^[L] - Wbar^[L]||_F / ||Wbar^[L]||_F`` (pattern-based, base =
  ``jaxrnn.inversion.zero_base_sequence``), for m <= ``wbar_max_m``;
- the l_inf inversion error before and after, and the change of the decoded
  sequence ``||xhat' - xhat||_inf``.

What the proof needs (Sec. 4.2): these changes are small when the block is a
small fraction of the neurons. A block's own coordinates are replaced by
independent values, so a lower bound is ``sqrt(2 s / m)`` for h^(l) (the block
carries a fraction s/m of ||h||^2 before and after), and the question is
whether propagation through W amplifies it. We fit the log-log slope of each
change against the block fraction s/m (expected 1/2) and report the ratio
change / sqrt(s/m).

Design choices where the paper is silent (the appendix is unavailable):

- Blocks are contiguous index ranges (the rows are i.i.d., so any fixed
  partition is equivalent); B is not redrawn; the *rows* of W are redrawn,
  not the columns (Sec. 4.2: "re-randomize the rows of [W, A]_r").
- One fresh key per (seed, k, block); one set of sequences per seed.
- Changes averaged over blocks, sequences and seeds; the maximum over blocks
  is recorded too. L = 6, d = 6, eps_x = 0.05, float32.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import init_params, inversion_matrix, lab, random_normalized_sequence
from jaxrnn.inversion import zero_base_sequence
from jaxrnn.lab import at_least, each, greater_than, one_of, option
from jaxrnn.rerandomize import relative_change, rerandomization_changes, rerandomize_rows

SCALARS = ("wbar", "inv_err", "inv_err_new", "decoded")


@dataclasses.dataclass(frozen=True)
class Config:
  ms: tuple[int, ...] = option((128, 256, 512), each(at_least(2)), help="widths m")
  num_blocks: tuple[int, ...] = option(
    (2, 4, 8, 16, 32), each(at_least(1)), help="numbers k of equal blocks of neurons"
  )
  L: int = option(6, at_least(2), help="sequence length")
  d: int = option(6, at_least(3), help="input dimension")
  eps_x: float = option(0.05, greater_than(0), help="scale of the middle tokens (Def. 3.1)")
  num_seeds: int = option(4, at_least(1), help="networks per point")
  num_sequences: int = option(8, at_least(1), help="sequences per network")
  wbar_max_m: int = option(1024, at_least(1), help="largest m at which Wbar^[L] is compared")
  dtype: str = option("float32", one_of("float32", "float64"))
  seed: int = option(0, lab.seed_range)

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
    L=10,
    num_seeds=4,
    num_sequences=8,
  ),
}


def per_seed(
  key, *, m: int, ks: tuple, L: int, d: int, eps_x: float, n_seq: int, with_wbar: bool, dtype: str
):
  dt = jnp.dtype(dtype)
  # Every (k, block) pair of every k in one flat list: block sizes differ, so
  # the rows are selected by a traced mask (``rerandomize_rows``) and one
  # compiled body serves all k.
  sizes = jnp.asarray([m // k for k in ks for _ in range(k)], jnp.int32)
  blocks = jnp.asarray([b for k in ks for b in range(k)], jnp.int32)
  batch = max(1, min(len(blocks), (1 << 25) // (m * m)))  # ~128 MB of W copies
  k_init, k_seq, k_new = jax.random.split(key, 3)
  params = init_params(k_init, m, d, 1, dt)
  base = zero_base_sequence(L, d, dt)
  xs = jax.vmap(lambda k: random_normalized_sequence(k, L, d, eps_x, dt))(
    jax.random.split(k_seq, n_seq)
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

  bkeys = jax.random.split(k_new, len(blocks))
  per = jax.lax.map(per_block, (bkeys, sizes, blocks), batch_size=batch)
  out, start = {}, 0
  for k in ks:
    sl = {name: v[start : start + k] for name, v in per.items()}
    out[k] = {name: jnp.mean(v, axis=0) for name, v in sl.items()}
    out[k]["h_blockmax"] = jnp.max(jnp.mean(sl["h"], axis=1))
    start += k
  return out


def points(cfg: Config):
  return [{"m": m} for m in cfg.ms]


def run_point(cfg: Config, point: dict) -> dict:
  m = point["m"]
  ks = tuple(cfg.num_blocks)
  fn = functools.partial(
    per_seed,
    m=m,
    ks=ks,
    L=cfg.L,
    d=cfg.d,
    eps_x=cfg.eps_x,
    n_seq=cfg.num_sequences,
    with_wbar=m <= cfg.wbar_max_m,
    dtype=cfg.dtype,
  )
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    out = jaxrnn.sweep(fn, keys)
  return {
    str(k): {name: np.asarray(v, np.float64).mean(axis=0) for name, v in out[k].items()} for k in ks
  }


def _scalar(v):
  return float("nan") if v is None else float(v)


def report(cfg: Config, records: list, out_dir) -> str:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  by = {r["point"]["m"]: r for r in records}
  ms = [m for m in cfg.ms if m in by]
  ks = list(cfg.num_blocks)
  lines = ["# rerandomization: redrawing one block of rows of [W, A] (Sec. 4.2)", ""]
  if not ms:
    return "\n".join(lines + ["No completed points."]) + "\n"

  def q(m, k, name):
    return by[m][str(k)][name]

  def hmean(m, k):
    return float(np.mean(q(m, k, "h")))

  def bmean(m, k):
    return float(np.mean(q(m, k, "back")[:-1]))  # Back_{L->L} = B never changes

  frac = {k: 1.0 / k for k in ks}
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.3))
  for m in ms:
    fr = [frac[k] for k in ks]
    axes[0].plot(fr, [hmean(m, k) for k in ks], "o-", label=f"h, m={m}")
    axes[0].plot(fr, [bmean(m, k) for k in ks], "x:", label=f"Back, m={m}")
    if m <= cfg.wbar_max_m:
      axes[0].plot(fr, [_scalar(q(m, k, "wbar")) for k in ks], "s--", label=f"Wbar, m={m}")
  fr = np.array([frac[k] for k in ks])
  axes[0].plot(fr, np.sqrt(2 * fr), "k-", lw=1, label="sqrt(2 s/m)")
  axes[0].set_xscale("log", base=2)
  axes[0].set_yscale("log")
  axes[0].set_xlabel("block fraction s/m = 1/k")
  axes[0].set_ylabel("relative change")
  axes[0].set_title("changes vs block fraction")
  mbig, kmid = ms[-1], ks[len(ks) // 2]
  axes[1].plot(range(1, cfg.L + 1), q(mbig, kmid, "h"), "o-", label="h^(l), x = l")
  axes[1].plot(
    range(1, cfg.L),
    q(mbig, kmid, "back")[:-1],
    "x-",
    label="Back_{i→L}, x = i < L (Back_{L→L} = B is fixed)",
  )
  axes[1].set_xlabel("step")
  axes[1].set_yscale("log")
  axes[1].set_title(f"per step (m={mbig}, k={kmid}, s={mbig // kmid})")
  for m in ms:
    s_list = [m // k for k in ks]
    axes[2].plot(s_list, [hmean(m, k) for k in ks], "o-", label=f"h, m={m}")
  axes[2].set_xscale("log", base=2)
  axes[2].set_yscale("log")
  axes[2].set_xlabel("block size s")
  axes[2].set_title("h change vs block size (fixed s: falls with m)")
  for ax in axes:
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
  lab.save_figure(fig, out_dir / "rerandomization.png")

  rows = []
  for m in ms:
    for k in ks:
      rows.append(
        [
          m,
          k,
          m // k,
          hmean(m, k),
          bmean(m, k),
          _scalar(q(m, k, "wbar")),
          _scalar(q(m, k, "decoded")),
          _scalar(q(m, k, "inv_err")),
          _scalar(q(m, k, "inv_err_new")),
          hmean(m, k) / np.sqrt(1.0 / k),
        ]
      )
  table = lab.markdown_table(
    [
      "m",
      "k",
      "s=m/k",
      "Δh (mean over l)",
      "ΔBack (mean i<L)",
      "ΔWbar",
      "Δxhat l∞",
      "inv. err before",
      "after",
      "Δh/√(s/m)",
    ],
    rows,
  )
  sl_h = {m: _slope([frac[k] for k in ks], [hmean(m, k) for k in ks]) for m in ms}
  sl_b = {m: _slope([frac[k] for k in ks], [bmean(m, k) for k in ks]) for m in ms}
  wb_ms = [m for m in ms if m <= cfg.wbar_max_m]
  sl_w = {m: _slope([frac[k] for k in ks], [_scalar(q(m, k, "wbar")) for k in ks]) for m in wb_ms}
  const = [hmean(m, k) / np.sqrt(1.0 / k) for m in ms for k in ks]
  shrinks = all(
    hmean(m, ks[-1]) < hmean(m, ks[0]) and bmean(m, ks[-1]) < bmean(m, ks[0]) for m in ms
  )
  inv_rel = [
    abs(_scalar(q(m, k, "inv_err_new")) - _scalar(q(m, k, "inv_err"))) / _scalar(q(m, k, "inv_err"))
    for m in ms
    for k in ks
  ]
  inv_ratio = np.mean([_scalar(q(m, k, "inv_err_new")) for m in ms for k in ks]) / np.mean(
    [_scalar(q(m, k, "inv_err")) for m in ms for k in ks]
  )
  common_s = sorted(set.intersection(*[{m // k for k in ks} for m in ms])) if len(ms) >= 2 else []
  fixed_s = ""
  if common_s:
    s0 = common_s[len(common_s) // 2]
    vals = [(m, hmean(m, m // s0)) for m in ms]
    fixed_s = (
      f"- At a fixed block size s={s0}, Δh falls with m: "
      + ", ".join(f"m={m}: {v:.3g}" for m, v in vals)
      + f" (slope in m {_slope([m for m, _ in vals], [v for _, v in vals]):.2f}, "
      "expected -1/2)."
    )
  lines += [
    f"L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x}, {cfg.num_sequences} sequences × "
    f"{cfg.num_seeds} seeds; changes averaged over all k blocks; {cfg.dtype}.",
    "",
    table,
    "",
    "![rerandomization](rerandomization.png)",
    "",
    "## Reading",
    "",
    f"- Changes shrink with the block fraction s/m = 1/k (from k={ks[0]} to k={ks[-1]}, "
    f"for h and Back at every m): **{'yes' if shrinks else 'no'}**.",
    "- Log-log slope against s/m (expected 1/2): h "
    + ", ".join(f"m={m}: {v:.2f}" for m, v in sl_h.items())
    + "; Back "
    + ", ".join(f"m={m}: {v:.2f}" for m, v in sl_b.items())
    + ("; Wbar " + ", ".join(f"m={m}: {v:.2f}" for m, v in sl_w.items()) if sl_w else "")
    + ". "
    + (
      "h follows √(s/m) within 0.1. "
      if all(abs(v - 0.5) < 0.1 for v in sl_h.values())
      else "h changes more slowly than √(s/m) (slope < 0.4 somewhere). "
    )
    + (
      "Back and Wbar change much more slowly than √(s/m) and by O(1) amounts at these "
      "sizes: the fresh rows enter every factor D W of the products, so these changes "
      "accumulate over the L − i (resp. L) steps; the re-randomization argument needs "
      "them small, which here requires s/m far below the smallest fraction tried."
      if max(bmean(m, ks[-1]) for m in ms) > 0.3
      else "Back changes stay below 0.3 at the smallest block fraction."
    ),
    f"- Δh / √(s/m) = {min(const):.2f} … {max(const):.2f}; the block's own coordinates "
    "alone give ≈ √2 ≈ 1.41, so propagation through W adds "
    + ("little." if max(const) < 2.5 else "a constant factor (see the table)."),
    fixed_s,
    f"- Inversion error: per (m, k), |after − before| / before = {min(inv_rel):.3f} … "
    f"{max(inv_rel):.3f}; pooled, mean after / mean before = {inv_ratio:.3f}. "
    + (
      "Re-randomizing a block leaves the quality of the pattern-based decoder unchanged "
      "on average (the decoded sequence itself moves by the Δxhat column)."
      if 0.8 <= inv_ratio <= 1.25
      else "The decoder's quality changes on average after re-randomization."
    ),
    "",
    "Design choices (the appendix is unavailable): contiguous blocks; only rows of W and A "
    "redrawn, B kept; one fresh key per (seed, k, block); means over blocks, sequences and "
    "seeds (the maximum over blocks of Δh is stored as h_blockmax).",
  ]
  return "\n".join(lines) + "\n"


def _slope(xs, ys) -> float:
  return lab.power_law(xs, ys).value


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "Sec. 4.2: change of h, Back, Wbar and the inversion error when a block of rows is redrawn",
)
