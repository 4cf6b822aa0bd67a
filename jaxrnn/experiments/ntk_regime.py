"""Experiment ``ntk_regime``: how far finite RNNs are from their infinite-width
kernel limit, at initialization and after training, against the width m.

What is measured. One target of the concept class (Def. 3.3,
``F* = Phi(<w, xbar>)``, w spread over all tokens), ``num_train`` training
and ``num_test`` test sequences (Def. 3.1), shared by every width and seed.
For each width m and each seed (a network of Def. 3.2, d_out = 1):

1. **At initialization**: ``||Theta_0 / m - Theta_inf||_F / ||Theta_inf||_F`` on
   the training Gram matrix, with Theta_0 the empirical NTK over (W, A), B
   frozen (``kernels.empirical_ntk``) and Theta_inf the closed-form limit
   (``kernels.infinite_width_ntk``).
2. **Training**: full-batch gradient descent on ``mean_i (f(x_i) - y_i)^2 / 2``
   over (W', A') (``training.model_output``, ``training.optimizer("sgd",
   learning_rate=lr / m)``), ``steps`` steps. The kernel moves by
   ``||Theta_T - Theta_0||_F / ||Theta_0||_F`` (training Gram matrix).
3. **Kernel dynamics**: the test predictions that gradient descent predicts for
   the linearized network (``kernels.gradient_descent_mse``, ``discrete=True``,
   the same steps and step size), once with the network's own Theta_0 and
   once with ``m * Theta_inf``, both started from the network's own initial
   outputs f_0. The gap is
   ``rms_test(f_T - f_kernel) / rms_test(f_T - f_0)``: the part of what
   training changed on the test set that the kernel prediction misses.

What theory predicts. Theta_0 / m -> Theta_inf with fluctuations of order
m^-1/2 (central limit theorem over the m neurons: slope -1/2), and the gap
to the Theta_inf prediction inherits them; in the kernel regime the kernel
moves by at most O(m^-1/2) during training and the trained network stays
within O(m^-1/2) of its linearization (Jacot et al. 2018; Lee et al. 2019,
Thm. 2.1; for this architecture through the tensor-program NTK limit, see
``jaxrnn._src.infinite_width``) -- upper bounds, so slopes below -1/2 agree
with them. Each of these is a verdict below, computed from the records: a
log-log slope over seeds with its bootstrap 95% interval (``lab.power_law``)
against 0 (does it fall at all?) and against -1/2 (within 0.15, or below
-1/2 + 0.15 for the bounds), and the smallest measured width from which the
median gap stays below ``gap_threshold`` (10%).

Design choices where the paper is silent: full-batch gradient descent (the
kernel prediction is for gradient descent; ``training.train`` draws its
minibatches with replacement, whose noise would put a floor under the gap
that does not shrink with m), the plain squared loss (the kernel dynamics
are those of the squared loss; the clipped loss of the theorem is the same
while residuals are below 1), lambda = 1 and eta = lr / m (the
``practical_schedule``: Theta grows like m), ``discrete=True`` (the kernel
prediction after exactly the same number of steps, not gradient flow), both
kernel predictions started from the network's own f_0 (a draw from the
NNGP at infinite width) so that the gap measures the kernel, not the initial
function; noiseless labels. A seed whose network diverges (non-finite loss)
or whose linearized dynamics are unstable (lr lambda_max(Theta_0 / m) / N > 2,
while the network itself may still train: it then leaves the kernel regime)
has its affected metrics left out and counted.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxrnn
from jaxrnn import RNNParams, concept, kernels, lab, training
from jaxrnn.lab import at_least, greater_than, in_range, option, parses


@lab.config_class(ms=(64, 128, 256, 512), d=4)
class Config:
  phi: str = option("sin:2", parses(concept.phi_function), help="target function Phi")
  L: int = option(5, at_least(3), help="sequence length (>= 3: one true token)")
  eps_x: float = option(0.5, in_range(0, 1, low_open=True), help="Def. 3.1 scale")
  num_train: int = option(32, at_least(2), help="training sequences (full batch)")
  num_test: int = option(64, at_least(1), help="test sequences")
  lr: float = option(0.25, greater_than(0), help="learning rate times m (eta = lr / m)")
  steps: int = option(100, at_least(1), help="gradient-descent steps T")
  num_seeds: int = option(4, at_least(2), help="networks per width")
  gap_threshold: float = option(
    0.1, in_range(0, 1, low_open=True), help="gap below which the kernel prediction counts as close"
  )


PRESETS = {
  "quick": Config(),
  "paper": Config(ms=(64, 128, 256, 512, 1024, 2048, 4096), num_seeds=5),
}

# Theory's exponents. The distance at initialization is a fluctuation of a sum
# over m neurons: exactly m^-1/2 (central limit theorem); so is the gap to the
# Theta_inf prediction, which it dominates. The kernel's movement and the gap
# to the network's own linearization are *bounded* by O(m^-1/2) (Lee et al.
# 2019, Thm. 2.1 and its corollary); they may fall faster.
RATE = -0.5
RATE_TOL = 0.15
RATE_KIND = {
  "ntk_distance": "near",
  "kernel_drift": "at_most",
  "gap_inf": "near",
  "gap_emp": "at_most",
}

METRICS = {
  "ntk_distance": "‖Θ₀/m − Θ∞‖/‖Θ∞‖ (init)",
  "kernel_drift": "‖Θ_T − Θ₀‖/‖Θ₀‖",
  "gap_inf": "gap to Θ∞ dynamics",
  "gap_emp": "gap to Θ₀ dynamics",
}


def _rms(v):
  return jnp.sqrt(jnp.mean(v**2))


def per_seed(key, xs, ys, xt, yt, k_inf, lr, *, m: int, steps: int):
  """One network of width m: distance of its NTK from the limit, full-batch
  gradient descent, the kernel's movement and the gaps to the two kernel
  predictions. ``k_inf``: ``infinite_width_ntk`` of (train + test, train)."""
  n = xs.shape[0]
  params = jaxrnn.init_params(key, m, xs.shape[2], 1, xs.dtype)
  outputs = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))
  x_all = jnp.concatenate([xs, xt])
  theta0 = kernels.empirical_ntk(params, x_all, xs)  # (n + n_test, n)
  f0 = outputs(params, x_all)[:, 0]
  eta = lr / m
  tx = training.optimizer("sgd", learning_rate=eta).build()

  def loss(trainable):
    delta = RNNParams(trainable["W"], trainable["A"], params.B)
    f = jax.vmap(lambda x: training.model_output(params, delta, x))(xs)[:, 0]
    return jnp.mean(jax.vmap(training.squared_loss)(f[:, None], ys[:, None]))

  def step(carry, _):
    trainable, state = carry
    value, grads = jax.value_and_grad(loss)(trainable)
    updates, state = tx.update(grads, state, trainable)
    return (optax.apply_updates(trainable, updates), state), value

  zero = {"W": jnp.zeros_like(params.W), "A": jnp.zeros_like(params.A)}
  (trained, _), losses = jax.lax.scan(step, (zero, tx.init(zero)), None, length=steps)
  final_loss = loss(trained)
  diverged = ~jnp.isfinite(final_loss) | ~jnp.all(jnp.isfinite(losses))
  params_T = RNNParams(params.W + trained["W"], params.A + trained["A"], params.B)
  theta_T = kernels.empirical_ntk(params_T, xs, xs)
  f_T = outputs(params_T, xt)[:, 0]

  f0_tr, f0_te = f0[:n], f0[n:]
  gd = dict(t=steps, discrete=True)
  _, f_emp = kernels.gradient_descent_mse(
    theta0[:n], theta0[n:], ys, f0_tr, f0_te, learning_rate=eta, **gd
  )
  _, f_inf = kernels.gradient_descent_mse(
    k_inf[:n], k_inf[n:], ys, f0_tr, f0_te, learning_rate=lr, **gd
  )
  change = _rms(f_T - f0_te)
  nan = jnp.asarray(jnp.nan, xs.dtype)
  net = lambda v: jnp.where(diverged, nan, v)
  k0 = theta0[:n]
  return {
    "ntk_distance": jnp.linalg.norm(k0 / m - k_inf[:n]) / jnp.linalg.norm(k_inf[:n]),
    "kernel_drift": net(jnp.linalg.norm(theta_T - k0) / jnp.linalg.norm(k0)),
    "gap_inf": net(_rms(f_T - f_inf) / change),
    "gap_emp": net(_rms(f_T - f_emp) / change),
    "gap_inf_abs": net(_rms(f_T - f_inf)),
    "gap_emp_abs": net(_rms(f_T - f_emp)),
    "change_rms": net(change),
    "rel_dW": net(jnp.linalg.norm(trained["W"]) / jnp.linalg.norm(params.W)),
    "train_loss": net(final_loss),
    "test_rmse_net": net(_rms(f_T - yt)),
    "test_rmse_inf": _rms(f_inf - yt),
    "test_rmse_emp": _rms(f_emp - yt),
    "diverged": diverged,
  }


points = lab.width_points


def _data(cfg: Config):
  """Training and test sets of one target, from ``cfg.seed`` only."""
  key = jax.random.key(cfg.seed)
  k_c, k_tr, k_te = jax.random.split(key, 3)
  target = concept.random_concept(k_c, cfg.L, cfg.d, phi=cfg.phi)
  xs, ys, _, _ = concept.concept_dataset(k_tr, target, cfg.num_train, cfg.L, cfg.d, cfg.eps_x)
  xt, yt, _, _ = concept.concept_dataset(k_te, target, cfg.num_test, cfg.L, cfg.d, cfg.eps_x)
  return xs, ys[:, 0], xt, yt[:, 0]


_ntk_limit = jax.jit(kernels.infinite_width_ntk)


def run_point(cfg: Config, point: dict) -> dict:
  m = point["m"]
  xs, ys, xt, yt = _data(cfg)
  k_inf = _ntk_limit(jnp.concatenate([xs, xt]), xs)
  fn = lab.bind(per_seed, cfg, m=m)
  keys = jaxrnn.seed_keys(cfg.seed * 1_000_003 + m, cfg.num_seeds)
  out = jaxrnn.sweep(fn, keys, xs, ys, xt, yt, k_inf, jnp.asarray(cfg.lr, xs.dtype))
  rec = {k: np.asarray(v, np.float64).tolist() for k, v in out.items() if k != "diverged"}
  rec["diverged"] = int(np.sum(np.asarray(out["diverged"])))
  rec["eta"] = cfg.lr / m
  rec["target_rms"] = float(jnp.sqrt(jnp.mean(yt**2)))
  return rec


# --------------------------------------------------------------------------
# Report


def _values(by, m, key):
  return list(by[m].get(key) or []) if m in by else []


def first_width_below(ms, per_m, threshold) -> tuple[int | None, bool | None]:
  """The smallest width from which the median stays below ``threshold`` at
  every larger measured width. Returns ``(m_star, holds)``: ``holds`` is None
  when no width has a finite value, False when even the largest does not."""
  med = [(m, lab.stats(v).median) for m, v in zip(ms, per_m)]
  med = [(m, v) for m, v in med if v is not None]
  if not med:
    return None, None
  m_star = None
  for m, v in reversed(med):
    if v < threshold:
      m_star = m
    else:
      break
  return m_star, m_star is not None


def verdicts(cfg: Config, by: dict) -> list:
  ms = [m for m in cfg.ms if m in by]
  out = []
  for key, what in (
    ("ntk_distance", "Θ₀/m approaches the infinite-width NTK as m grows"),
    ("kernel_drift", "the NTK moves less during training as m grows"),
    ("gap_inf", "the trained RNN approaches the Θ∞ kernel prediction as m grows"),
    ("gap_emp", "the trained RNN approaches its own linearization (Θ₀ dynamics) as m grows"),
  ):
    slope = lab.power_law(ms, [_values(by, m, key) for m in ms])
    out.append(lab.slope_verdict(what, slope, below=0.0))
    if RATE_KIND[key] == "near":
      rule = f"… at the rate m^{RATE:g} ({METRICS[key]})"
      out.append(lab.slope_verdict(rule, slope, near=RATE, tol=RATE_TOL))
    else:
      rule = f"… at least as fast as m^{RATE:g}, the theory's bound ({METRICS[key]})"
      out.append(lab.slope_verdict(rule, slope, below=RATE + RATE_TOL))
  thr = cfg.gap_threshold
  for key, what in (("gap_inf", "Θ∞"), ("gap_emp", "Θ₀")):
    m_star, holds = first_width_below(ms, [_values(by, m, key) for m in ms], thr)
    meds = [lab.stats(_values(by, m, key)).median for m in ms]
    measured = ", ".join(
      f"{v:.3g} (m={m})" if v is not None else f"n/a (m={m})" for m, v in zip(ms, meds)
    )
    if m_star is not None:
      measured = f"from m = {m_star} on; medians {measured}"
    out.append(
      lab.Verdict(
        f"the gap to the {what} prediction is below {thr:g} from some measured m on",
        measured if ms else "n/a",
        f"median gap < {thr:g} at that m and every larger measured m",
        holds,
      )
    )
  return out


def report(cfg: Config, records: list, out_dir) -> str:
  by = {r["point"]["m"]: r for r in records}
  ms = [m for m in cfg.ms if m in by]
  s = lab.Summary(
    "ntk_regime: finite RNNs against their infinite-width kernel limit",
    setup=(
      f"Target Φ = `{cfg.phi}` of Def. 3.3; L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x}; "
      f"{cfg.num_train} training and {cfg.num_test} test sequences; full-batch gradient "
      f"descent on the squared loss, η = {cfg.lr:g}/m, T = {cfg.steps} steps, B frozen; "
      f"{cfg.num_seeds} networks per width. Cells: median [25%, 75%] over seeds. "
      "Gap = rms_test(f_T − f_kernel) / rms_test(f_T − f_0)."
    ),
  )
  rows, missing = [], {}
  for m in ms:
    r = by[m]
    row = [m]
    for key in METRICS:
      st = lab.stats(_values(by, m, key))
      row.append(st.fmt(".3g", robust=True))
      missing[key] = missing.get(key, 0) + st.missing
    row.append(lab.stats(_values(by, m, "rel_dW")).fmt(".2g", robust=True))
    for key in ("test_rmse_net", "test_rmse_inf", "test_rmse_emp"):
      row.append(lab.stats(_values(by, m, key)).median)
    row.append(r.get("diverged"))
    rows.append(row)
  header = (
    ["m"]
    + list(METRICS.values())
    + ["‖W_T−W‖/‖W‖", "test RMSE net", "test RMSE Θ∞", "test RMSE Θ₀", "diverged"]
  )
  s.table(header, rows, fmt="{:.3g}")
  if records:
    trms = lab.finite(records[0].get("target_rms"))
    if trms is not None:
      s.text(f"RMS of the test targets: {trms:.3g}.")
  _figure(cfg, by, ms, out_dir)
  s.figure("ntk_regime.png", "ntk_regime")
  vs = verdicts(cfg, by)
  s.verdicts(vs)
  reading = []
  for key in METRICS:
    slope = lab.power_law(ms, [_values(by, m, key) for m in ms])
    lo = lab.stats(_values(by, ms[0], key)).median if ms else None
    hi = lab.stats(_values(by, ms[-1], key)).median if ms else None
    if slope.ok and lo is not None and hi is not None:
      reading.append(
        f"{METRICS[key]}: median {lo:.3g} at m={ms[0]} → {hi:.3g} at m={ms[-1]}; "
        f"slope {slope.fmt()} (theory: "
        + ("" if RATE_KIND[key] == "near" else "at most ")
        + f"{RATE:g})."
      )
  for v in vs[-2:]:
    reading.append(f"{v.rule}: **{v.outcome}** ({v.measured}).")
  n_div = sum(int(by[m].get("diverged") or 0) for m in ms)
  reading.append(
    lab.missing_note(
      {
        "seeds whose network diverged (their training metrics)": n_div,
        "gaps to the Θ₀ prediction whose linearized dynamics were unstable "
        "(lr·λ_max(Θ₀/m)/N > 2; the network itself trained)": missing.get("gap_emp", 0) - n_div,
        "NTK distances at initialization (non-finite)": missing.get("ntk_distance", 0),
      }
    )
  )
  s.bullets("Reading", reading)
  s.choices(
    "full-batch gradient descent (the kernel prediction is for gradient descent; minibatches "
    "drawn with replacement would add noise that does not shrink with m); the plain squared "
    "loss; λ = 1, η = lr/m; the kernel prediction after exactly T discrete steps; both kernel "
    "predictions started from the network's own f_0, so that the gap measures the kernel; "
    "the gap relative to what training changed on the test set; noiseless labels; one target "
    "and one data set (from the config seed) shared by every width and seed."
  )
  return s.render()


def _figure(cfg: Config, by: dict, ms: list, out_dir) -> None:
  fig, axes = lab.figure(3, width=5.4, height=4.0)
  colors = lab.color_map(list(METRICS))
  xs = np.asarray(ms, float)
  for ax, keys, title, ylabel in (
    (axes[0], ["ntk_distance"], "NTK at initialization", "‖Θ₀/m − Θ∞‖_F / ‖Θ∞‖_F"),
    (axes[1], ["kernel_drift"], "NTK movement in training", "‖Θ_T − Θ₀‖_F / ‖Θ₀‖_F"),
    (axes[2], ["gap_inf", "gap_emp"], "trained RNN vs kernel dynamics", "rms gap / rms change"),
  ):
    anchor = None
    for key in keys:
      per_m = [_values(by, m, key) for m in ms]
      lab.band_plot(ax, ms, per_m, label=METRICS[key], color=colors[key])
      meds = [lab.stats(v).median for v in per_m]
      if anchor is None and meds and meds[0] is not None:
        anchor = meds[0]
    if anchor is not None and len(xs):
      ax.plot(xs, anchor * (xs / xs[0]) ** RATE, "k--", lw=1, label="∝ m^-1/2")
    if keys[0].startswith("gap"):
      ax.axhline(cfg.gap_threshold, color="gray", lw=1, ls=":", label=f"{cfg.gap_threshold:g}")
    lab.style_axes(ax, "width m", ylabel, title, xbase=2)
  fig.tight_layout(w_pad=2.0)
  lab.save_figure(fig, out_dir / "ntk_regime.png", tight=False)


EXPERIMENT = lab.Experiment.from_module(
  __name__, "finite RNNs vs their infinite-width NTK: at init, in training, in predictions"
)
