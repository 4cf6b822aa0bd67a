"""Experiment ``invertibility``: recovering x^(1..L) from h^(L) (Thm. 4.5, Fig. 4).

What is measured. At a random initialization (Def. 3.2) and for random
normalized sequences (Def. 3.1), the l_inf reconstruction error
``||[x^(1) ... x^(L)] - xhat||_inf`` of five linear decoders of h^(L):

- ``pattern``: the paper's construction ``Wbar^[L]`` from the activation
  patterns of a base sequence (``jaxrnn.inversion.invert_hidden_state``, O(L m^2),
  base = ``jaxrnn.inversion.zero_base_sequence``: the eps_x -> 0 limit, bias tokens
  only);
- ``oracle``: the same with the patterns of the decoded sequence itself (the
  best a pattern-based decoder can do; shows what the base mismatch costs);
- ``naive2``: ``Wbar^[l] = 2 [W Wbar^[l-1], A]_r``, ``Wbar^[1] = A`` (paper);
- ``naive1``: the same without the factor 2;
- ``lstsq``: a yardstick the paper does not have -- the best affine decoder
  fitted by ridge least squares (``jaxrnn.inversion.fit_linear_decoder``, relative ridge
  ``ridge``) on ``num_train`` held-out sequences of the same eps_x.

The error is split into the two bias entries (x^(1)_d = x^(L)_d = 1) and the
token entries (l = 2 .. L-1, k < d, of size <= eps_x), the latter divided by
eps_x: a value >= 1 means the tokens are not recovered better than by
outputting 0.

Design choices where the paper is silent:

- Base sequence: zero middle tokens (above). d = 6; tokens uniform on the
  sphere with last entry 1/2; the same true tokens are used at every eps_x of
  one seed (only the scale changes), so the eps_x curves are comparable.
- One point per (m, eps_x): ``num_seeds`` networks (vmapped through ``jaxrnn.sweep``)
  x every L (vmapped: shorter sequences are front-padded with zero tokens,
  which leave h exactly 0, so h^(L) and the decoding of the real positions
  are unchanged and one compilation serves all L) x ``num_sequences`` test
  sequences (vmapped). The error is averaged over
  sequences and seeds (the l_inf norm is per sequence). The true tokens of a
  seed are shared by all L (prefixes) and all eps_x (rescaled).
- The least-squares decoder is affine: the bias entries are the same in every
  sequence, so it gets them exactly through its intercept; compare it on the
  token entries. float32 throughout.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import final_hidden_state, init_params, lab, normalize_sequence, random_true_sequence
from jaxrnn.inversion import (
  apply_linear_decoder,
  fit_linear_decoder,
  invert_hidden_state,
  invert_hidden_state_naive,
  naive_block_scales,
  reconstruction_errors,
  zero_base_sequence,
)
from jaxrnn.lab import at_least, each, greater_than, one_of, option

METHODS = ("pattern", "oracle", "naive2", "naive1", "lstsq")
METRICS = ("linf", "bias", "token", "token_rel_l2")


@dataclasses.dataclass(frozen=True)
class Config:
  ms: tuple[int, ...] = option((128, 256, 512, 1024), each(at_least(2)), help="widths m")
  Ls: tuple[int, ...] = option(
    (3, 6, 10), each(at_least(3)), help="sequence lengths (>= 3: one middle token)"
  )
  eps_xs: tuple[float, ...] = option(
    (0.01, 0.05), each(greater_than(0)), help="scales of the middle tokens (Def. 3.1)"
  )
  d: int = option(6, at_least(3), help="input dimension")
  num_seeds: int = option(4, at_least(1), help="networks per point")
  num_sequences: int = option(16, at_least(1), help="test sequences per network")
  num_train: int = option(128, at_least(2), help="sequences for the least-squares decoder")
  ridge: float = option(1e-4, at_least(0), help="relative ridge of the least-squares decoder")
  dtype: str = option("float32", one_of("float32", "float64"))
  seed: int = option(0, lab.seed_range)


PRESETS = {
  "quick": Config(),
  "paper": Config(
    ms=(128, 256, 512, 1024, 2048, 4096, 8192),
    Ls=(3, 5, 10, 15, 20),
    eps_xs=(0.001, 0.01, 0.05),
    num_seeds=4,
    num_sequences=64,
    num_train=256,
  ),
}


def _pad_front(xs, L_max):
  """Zero tokens in front: h stays exactly 0 through them (relu(0) = 0), so
  h^(L) and the decoding of the real positions are unchanged; this lets one
  compiled function serve every L."""
  pad = jnp.zeros(xs.shape[:-2] + (L_max - xs.shape[-2], xs.shape[-1]), xs.dtype)
  return jnp.concatenate([pad, xs], axis=-2)


def per_seed(
  key, eps_xs, *, m: int, Ls: tuple, d: int, n_seq: int, n_train: int, ridge: float, dtype: str
):
  dt = jnp.dtype(dtype)
  L_max = max(Ls)
  k_init, k_test, k_train = jax.random.split(key, 3)
  params = init_params(k_init, m, d, 1, dt)
  # One set of true tokens per seed, shared by every L (first L-2 tokens)
  # and every eps_x (only the scale changes).
  xbar_test = jax.vmap(lambda k: random_true_sequence(k, L_max - 2, d, dt))(
    jax.random.split(k_test, n_seq)
  )
  xbar_train = jax.vmap(lambda k: random_true_sequence(k, L_max - 2, d, dt))(
    jax.random.split(k_train, n_train)
  )
  bases = jnp.stack([_pad_front(zero_base_sequence(L, d, dt), L_max) for L in Ls])
  hidden = jax.vmap(final_hidden_state, (None, 0))

  def per_eps(eps):
    norm = jax.vmap(normalize_sequence, (0, None))

    def padded(xbar):  # (n, L_max - 2, d - 1) -> (nL, n, L_max, d)
      return jnp.stack([_pad_front(norm(xbar[:, : L - 2], eps), L_max) for L in Ls])

    xs, xs_tr = padded(xbar_test), padded(xbar_train)

    def per_length(xs, xs_tr, base):
      hs = hidden(params, xs)
      dec = fit_linear_decoder(hidden(params, xs_tr), xs_tr, ridge)
      return {
        "pattern": jax.vmap(invert_hidden_state, (None, None, 0))(params, base, hs),
        "oracle": jax.vmap(invert_hidden_state, (None, 0, 0))(params, xs, hs),
        "naive1": jax.vmap(lambda h: invert_hidden_state_naive(params, h, L_max, 1.0))(hs),
        "lstsq": jax.vmap(lambda h: apply_linear_decoder(dec, h, d))(hs),
      }

    outs = jax.vmap(per_length)(xs, xs_tr, bases)  # each (nL, n, L_max, d)
    res = {f"{name}/{k}": [] for name in METHODS for k in METRICS}
    for i, L in enumerate(Ls):
      x_true = xs[i, :, L_max - L :]
      dec_L = {name: outs[name][i, :, L_max - L :] for name in outs}
      dec_L["naive2"] = naive_block_scales(L, 2.0, dt)[:, None] * dec_L["naive1"]
      for name in METHODS:
        errs = jax.vmap(reconstruction_errors)(x_true, dec_L[name])
        for k in METRICS:
          res[f"{name}/{k}"].append(jnp.mean(errs[k]))
    return {k: jnp.stack(v) for k, v in res.items()}  # each (nL,)

  return jax.lax.map(per_eps, eps_xs)  # each (n_eps, nL)


def points(cfg: Config):
  # One point per (m, eps_x): the compiled function depends on m only (eps_x
  # is an array argument), so the eps_x points of one m share a compilation,
  # and a kill loses at most one eps_x of one width.
  return [{"m": m, "eps_x": e} for m in cfg.ms for e in cfg.eps_xs]


def run_point(cfg: Config, point: dict) -> dict:
  m, eps = point["m"], point["eps_x"]
  fn = functools.partial(
    per_seed,
    m=m,
    Ls=tuple(cfg.Ls),
    d=cfg.d,
    n_seq=cfg.num_sequences,
    n_train=cfg.num_train,
    ridge=cfg.ridge,
    dtype=cfg.dtype,
  )
  # Keys depend on (seed, m) only: every eps_x sees the same networks and
  # the same true tokens (rescaled).
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    out = jaxrnn.sweep(fn, keys, jnp.asarray([eps], cfg.dtype))
  # out[name/metric]: (num_seeds, 1, num_L) -> mean over seeds: record[k][i]
  # is L = Ls[i].
  return {k: np.asarray(v, np.float64).mean(axis=0)[0] for k, v in out.items()}


def report(cfg: Config, records: list, out_dir) -> str:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  by = {(r["point"]["m"], r["point"]["eps_x"]): r for r in records}
  ms = [m for m in cfg.ms if all((m, e) in by for e in cfg.eps_xs)]
  Ls = list(cfg.Ls)
  lines = ["# invertibility: decoding x^(1..L) from h^(L) (Thm. 4.5, Fig. 4)", ""]
  if not ms:
    return "\n".join(lines + ["No completed points."]) + "\n"
  ne = len(cfg.eps_xs)

  def val(m, L, meth, metric, e):
    v = by[(m, cfg.eps_xs[e])][f"{meth}/{metric}"][Ls.index(L)]
    return float("nan") if v is None else float(v)

  # Figures: (1) linf vs m per L (pattern, naive1, lstsq); (2) linf vs L per m,
  # all methods; (3) token error / eps_x vs m.
  e_main = ne - 1
  eps_main = cfg.eps_xs[e_main]
  fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
  colors = plt.cm.viridis(np.linspace(0, 0.9, len(Ls)))
  for c, L in zip(colors, Ls):
    axes[0].plot(
      ms, [val(m, L, "pattern", "linf", e_main) for m in ms], "o-", color=c, label=f"pattern L={L}"
    )
    axes[0].plot(ms, [val(m, L, "naive1", "linf", e_main) for m in ms], "x:", color=c)
  axes[0].set_title(f"l_inf error vs m (ε_x={eps_main:g}); dotted: naive1")
  axes[0].set_xlabel("m")
  styles = {"pattern": "o-", "oracle": "d--", "naive2": "v-", "naive1": "x:", "lstsq": "s-"}
  mcol = plt.cm.plasma(np.linspace(0, 0.85, len(ms)))
  for meth in METHODS:
    for c, m in zip(mcol, ms):
      if m not in (ms[0], ms[-1]):
        continue
      axes[1].plot(
        Ls,
        [val(m, L, meth, "linf", e_main) for L in Ls],
        styles[meth],
        color=c,
        label=f"{meth} m={m}",
      )
  axes[1].set_title(f"l_inf error vs L (ε_x={eps_main:g})")
  axes[1].set_xlabel("L")
  for e, eps in enumerate(cfg.eps_xs):
    for meth, st in (("pattern", "o-"), ("lstsq", "s-")):
      axes[2].plot(
        ms, [val(m, Ls[-1], meth, "token", e) / eps for m in ms], st, label=f"{meth} ε_x={eps:g}"
      )
  axes[2].axhline(1.0, color="k", lw=1, ls="--")
  axes[2].set_title(f"token error / ε_x vs m (L={Ls[-1]}); <1: tokens recovered")
  axes[2].set_xlabel("m")
  for ax in axes:
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6)
  axes[0].set_xscale("log", base=2)
  axes[2].set_xscale("log", base=2)
  lab.save_figure(fig, out_dir / "invertibility.png")

  # Tables.
  tables = []
  for e, eps in enumerate(cfg.eps_xs):
    rows = []
    for m in ms:
      for L in Ls:
        rows.append(
          [m, L]
          + [val(m, L, meth, "linf", e) for meth in METHODS]
          + [
            val(m, L, "pattern", "bias", e),
            val(m, L, "pattern", "token", e) / eps,
            val(m, L, "lstsq", "token", e) / eps,
          ]
        )
    tables.append(
      f"### ε_x = {eps:g}\n\n"
      + lab.markdown_table(
        ["m", "L"]
        + [f"l∞ {k}" for k in METHODS]
        + ["pattern: bias err", "pattern: token err/ε_x", "lstsq: token err/ε_x"],
        rows,
      )
    )

  # Claims, with numbers.
  slopes_m = (
    {L: _slope(ms, [val(m, L, "pattern", "linf", e_main) for m in ms]) for L in Ls}
    if len(ms) >= 2
    else {}
  )
  falls_m = all(
    val(ms[-1], L, "pattern", "linf", e) < val(ms[0], L, "pattern", "linf", e)
    for L in Ls
    for e in range(ne)
  )
  rises_L = all(
    val(m, Ls[-1], "pattern", "linf", e) > val(m, Ls[0], "pattern", "linf", e)
    for m in ms
    for e in range(ne)
  )

  def growth(meth, m):  # per-step factor of the l_inf error in L
    ys = [val(m, L, meth, "linf", e_main) for L in Ls]
    return float(np.exp(np.polyfit(Ls, np.log(ys), 1)[0]))

  mbig = ms[-1]
  tok_pat = [val(mbig, L, "pattern", "token", e) / cfg.eps_xs[e] for L in Ls for e in range(ne)]
  tok_ls = [val(mbig, L, "lstsq", "token", e) / cfg.eps_xs[e] for L in Ls for e in range(ne)]
  bias_pat = [val(mbig, L, "pattern", "bias", e) for L in Ls for e in range(ne)]
  orc_ratio = [
    val(m, L, "oracle", "linf", e) / val(m, L, "pattern", "linf", e)
    for m in ms
    for L in Ls
    for e in range(ne)
  ]
  lines += [
    f"d={cfg.d}, {cfg.num_sequences} test sequences × {cfg.num_seeds} seeds per (m, L, ε_x), "
    f"least squares on {cfg.num_train} held-out sequences (ridge {cfg.ridge:g}), "
    f"{cfg.dtype}. Errors are per-sequence l∞ norms averaged over sequences and seeds.",
    "",
    "![invertibility](invertibility.png)",
    "",
    "## Reading",
    "",
    f"- Error falls with m (paper, Fig. 4): pattern-based l∞ error at m={ms[-1]} below "
    f"m={ms[0]} for every L and ε_x: **{'yes' if falls_m else 'no'}**. Log-log slope in m "
    f"(ε_x={eps_main:g}): "
    + ", ".join(f"L={L}: {s:.2f}" for L, s in slopes_m.items())
    + " (a single Lemma 4.4 step would give -0.5).",
    f"- Error rises with L (paper, Fig. 4): at L={Ls[-1]} above L={Ls[0]} for every m and "
    f"ε_x: **{'yes' if rises_L else 'no'}**. Per-step growth factor of the l∞ error in L at "
    f"m={mbig}, ε_x={eps_main:g}: pattern ×{growth('pattern', mbig):.2f}, naive1 "
    f"×{growth('naive1', mbig):.2f}, naive2 ×{growth('naive2', mbig):.2f} — the naive "
    + (
      "factor-2 construction blows up exponentially (it also doubles the decoded value at "
      "each step: at the RNN's N(0, 2/m) scale the correct naive readout has no factor 2)"
      if growth("naive2", mbig) > 1.5
      else "factor-2 construction does not blow up here"
    )
    + (
      ", the unmasked factor-1 one grows faster than the pattern-based one."
      if growth("naive1", mbig) > growth("pattern", mbig)
      else ", the unmasked factor-1 one grows no faster than the pattern-based one."
    ),
    f"- Oracle vs base patterns: oracle/pattern l∞ ratio {min(orc_ratio):.2f} … "
    f"{max(orc_ratio):.2f}"
    + (
      ": the base sequence's patterns cost little; the error is the random-feature noise "
      "of Lemma 4.4, not the pattern mismatch."
      if min(orc_ratio) >= 0.8
      else ": the sequence's own patterns help markedly somewhere; the base patterns cost "
      "accuracy there."
    ),
    f"- Are the tokens recovered? At m={mbig}, the pattern decoder's token error / ε_x is "
    f"{min(tok_pat):.2f} … {max(tok_pat):.2f} (≥ 1: not recovered better than 0) while "
    f"the bias-entry error is {min(bias_pat):.3f} … {max(bias_pat):.3f}. "
    + (
      "At these widths the construction does not resolve tokens of size ε_x for any "
      "(L, ε_x) tried; Thm. 4.5's l∞ bound is poly(L, ρ, 1/m, ε_x) and does not promise "
      "accuracy relative to ε_x. "
      if min(tok_pat) >= 1
      else "The construction resolves the tokens (token error < ε_x) for every (L, ε_x). "
      if max(tok_pat) < 1
      else "The construction resolves the tokens only for some (L, ε_x) (see the tables). "
    )
    + "The least-squares decoder reaches token error / "
    f"ε_x = {min(tok_ls):.3f} … {max(tok_ls):.3f}"
    + (
      ": the information is in h^(L) and is linearly decodable, even where Wbar^[L] "
      "does not decode it."
      if max(tok_ls) < 1
      else "."
    ),
    "",
    "Design choices (the appendix is unavailable): base sequence with zero middle tokens; "
    "d = 6; same true tokens across ε_x within a seed; affine least-squares yardstick with "
    "relative ridge, fitted per (seed, ε_x) on held-out sequences; float32.",
    "",
  ] + tables
  return "\n".join(lines) + "\n"


def _slope(xs, ys) -> float:
  return lab.power_law(xs, ys).value


EXPERIMENT = lab.Experiment.from_module(
  __name__, "Thm. 4.5 / Fig. 4: l_inf error of decoding x^(1..L) from h^(L) vs m, L, eps_x"
)
