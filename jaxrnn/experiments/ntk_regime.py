"""Experiment ``ntk_regime``: Thm. 3.1's picture in its regime -- do the
trained RNN, its pseudo-network, converged empirical-NTK regression and
infinite-width NTK regression approach each other as the width m grows?

**What the paper says.** The proof of Thm. 3.1 (Sec. 4) rests on the RNN
staying close to its pseudo-network (Eq. 4), its first-order expansion in
(W', A'): Sec. 4.1, "the pseudo network is a good approximation of the RNN,
provided the weights stay close to the initialization"; Sec. 4.3, "the
training loss decreases with time" (Lemma D.3). These two are the paper's
claims tested here, each with its regime (``eps_x < 1/L`` as in Thm. 4.5,
the step inside gradient descent's stability limit, the weights measured to
stay close). The paper does not mention the neural tangent kernel: every
comparison with the empirical NTK at initialization (Theta_0) and its
infinite-width limit (Theta_inf) is a **jaxrnn diagnostic** (the kernel view
of the same linearization: Jacot et al. 2018; Lee et al. 2019, Thm. 2.1).

**What is measured.** One target of the concept class (Def. 3.3,
``F* = Phi(<w, xbar>)``), ``num_train`` training and ``num_test`` test
sequences (Def. 3.1 with ``eps_x < 1/L``), shared by every width and seed.
For each width m and seed (a network of Def. 3.2, d_out = 1, B frozen):

1. ``Theta_0`` (``kernels.empirical_ntk``) on train and test; its distance
   ``||Theta_0 / m - Theta_inf||_F / ||Theta_inf||_F`` from the closed-form
   limit (``kernels.infinite_width_ntk``).
2. **The step from the measured kernel**: ``training.kernel_step_size`` with
   B = N (full batch), ``eta = lr N / lambda_max(Theta_0)``; recorded with
   ``lambda_max``, the sharpness ``lambda_max / N`` and ``eta * sharpness``
   (= lr; gradient descent on the linearized objective is stable iff < 2).
3. **The RNN**: full-batch gradient descent on ``mean_i (f(x_i) - y_i)^2 / 2``
   over (W', A') for ``steps`` steps from W' = A' = 0.
4. **Its pseudo-network**, ``F_rnn(W) + F(W')`` (Eq. 4), trained by the same
   gradient descent: the model is linear in (W', A') with Gram matrix
   Theta_0, so its trajectory is exactly the kernel dynamics of Theta_0
   (``kernels.gradient_descent_mse``, ``discrete=True``, same eta and T;
   ``tests/lab/test_ntk_regime.py`` checks this against explicit descent). At
   ``t = inf`` it is **converged empirical-NTK regression** (ridgeless,
   started from the network's own outputs f_0).
5. **Theta_inf**: the same dynamics with ``m Theta_inf`` (``eta m`` on
   Theta_inf) at T and at t = inf (**infinite-width NTK regression**),
   started from the same f_0, so only the kernel differs.

Per pair (a, b) the gap ``rms_test(f_a - f_b) / rms_test(f_b - f_0)`` (the
part of what training changed on the test set that b misses) and the ratio
of test errors ``rmse_a / rmse_b``: the pairs are RNN ~ pseudo-network (both
at T), pseudo-network ~ Theta_inf dynamics (both at T), converged Theta_0
regression ~ Theta_inf regression (t = inf), and RNN (at T) ~ Theta_inf
regression. "Approach each other" is read as: the gap falls with m and
``|log ratio|`` falls with m (log-log slopes over seeds with bootstrap 95%
intervals, ``lab.power_law``).

**Plateau.** A run has reached its plateau when its training loss at T is
below ``plateau_tol`` times its loss at initialization; the number of steps
that the network's own linearized dynamics needs for that (closed form,
doubling grid) is recorded as ``steps_needed``, so a reader sees whether T
was long enough. The RNN-against-regression pair is only meaningful for runs
at their plateau.

Design choices where the paper is silent: full-batch gradient descent (the
kernel prediction is for gradient descent; minibatches drawn with
replacement would add noise that does not shrink with m), the plain squared
loss (the clipped loss of the theorem equals it while residuals stay below
1), lambda = 1 (the initial output is kept in every prediction instead of
being scaled away), ``eps_x = 0.2 < 1/L`` at L = 4 (two true tokens), both
kernel predictions started from the network's own f_0 (a draw from the NNGP
at infinite width) so that a gap measures the kernel, not the initial
function; noiseless labels. A seed whose network diverges (non-finite loss)
has its training metrics left out and counted.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import RNNParams, concept, kernels, lab, training
from jaxrnn.lab import at_least, in_range, option, parses


@lab.config_class(ms=(64, 128, 256, 512), d=4)
class Config:
  phi: str = option("sin:2", parses(concept.phi_function), help="target function Phi")
  L: int = option(3, at_least(3), help="sequence length (>= 3: one true token)")
  eps_x: float = option(0.3, in_range(0, 1, low_open=True), help="Def. 3.1 scale (< 1/L)")
  num_train: int = option(32, at_least(2), help="training sequences (full batch)")
  num_test: int = option(64, at_least(1), help="test sequences")
  lr: float = option(
    1.0,
    in_range(0, 2, low_open=True, high_open=True),
    help="step in units of the stability scale: eta = lr N / lambda_max(Theta_0)",
  )
  steps: int = option(300, at_least(5), help="gradient-descent steps T")
  plateau_tol: float = option(
    0.01, in_range(0, 1, low_open=True, high_open=True), help="plateau: loss(T) < tol loss(0)"
  )
  num_seeds: int = option(3, at_least(2), help="networks per width")


PRESETS = {
  "quick": Config(ms=(32, 64, 128), steps=300),
  "paper": Config(ms=(64, 128, 256, 512, 1024, 2048, 4096), steps=400),
}

#: The RNN's own output f_0 at initialization is the start of every prediction.
PAIRS = {
  "net_pseudo": ("RNN", "pseudo-network", "both at T"),
  "pseudo_inf": ("pseudo-network", "Θ∞ dynamics", "both at T"),
  "reg": ("converged Θ₀ regression", "Θ∞ regression", "t = ∞"),
  "net_reg": ("RNN", "Θ∞ regression", "RNN at T, regression at t = ∞"),
}
#: Test RMSE fields of the two members of each pair (ratio = a / b).
RMSE = {
  "net_pseudo": ("rmse_net", "rmse_pseudo"),
  "pseudo_inf": ("rmse_pseudo", "rmse_inf_T"),
  "reg": ("rmse_emp_reg", "rmse_inf_reg"),
  "net_reg": ("rmse_net", "rmse_inf_reg"),
}

CLOSE = lab.claims.CLAIMS["sec4.1-close"]
DESCENT = lab.claims.CLAIMS["sec4.3-descent"]


def _rms(v):
  return jnp.sqrt(jnp.mean(v**2))


def _steps_needed(K, y, f0, eta, tol):
  """Smallest T in 1, 2, 4, ..., 2^24 at which linearized gradient descent
  with kernel K reaches ``tol`` times its initial training loss (inf if none)."""
  ts = 2.0 ** jnp.arange(25)
  ftr, _ = kernels.gradient_descent_mse(
    K, K[:1], y, f0, f0[:1], learning_rate=eta, t=ts, discrete=True
  )
  loss = jnp.mean((ftr - y[None, :]) ** 2, axis=1)
  ok = loss <= tol * jnp.mean((f0 - y) ** 2)
  return jnp.where(jnp.any(ok), ts[jnp.argmax(ok)], jnp.inf)


def per_seed(key, xs, ys, xt, yt, k_inf, lr, *, m: int, steps: int, plateau_tol: float = 0.01):
  """One network of width m: its NTK against the limit, the step from its
  measured kernel, full-batch gradient descent, and the kernel predictions.
  ``k_inf``: ``infinite_width_ntk`` of (train + test, train)."""
  n = xs.shape[0]
  params = jaxrnn.init_params(key, m, xs.shape[2], 1, xs.dtype)
  outputs = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))
  x_all = jnp.concatenate([xs, xt])
  theta0 = kernels.empirical_ntk(params, x_all, xs)  # (n + n_test, n)
  f0 = outputs(params, x_all)[:, 0]
  step = training.kernel_step_size(params, xs, lr=lr)
  eta = step.eta

  def loss(trainable):
    delta = RNNParams(trainable["W"], trainable["A"], params.B)
    f = jax.vmap(lambda x: training.model_output(params, delta, x))(xs)[:, 0]
    return jnp.mean(jax.vmap(training.squared_loss)(f[:, None], ys[:, None]))

  def gd(trainable, _):
    value, grads = jax.value_and_grad(loss)(trainable)
    return jax.tree.map(lambda w, g: w - eta * g, trainable, grads), value

  zero = {"W": jnp.zeros_like(params.W), "A": jnp.zeros_like(params.A)}
  trained, losses = jax.lax.scan(gd, zero, None, length=steps)
  final_loss = loss(trained)
  diverged = ~jnp.isfinite(final_loss) | ~jnp.all(jnp.isfinite(losses))
  params_T = RNNParams(params.W + trained["W"], params.A + trained["A"], params.B)
  theta_T = kernels.empirical_ntk(params_T, xs, xs)
  f_T = outputs(params_T, xt)[:, 0]

  f0_tr, f0_te = f0[:n], f0[n:]
  times = jnp.asarray([steps, jnp.inf])
  gd_kw = dict(t=times, discrete=True)
  _, f_emp = kernels.gradient_descent_mse(
    theta0[:n], theta0[n:], ys, f0_tr, f0_te, learning_rate=eta, **gd_kw
  )
  _, f_inf = kernels.gradient_descent_mse(
    k_inf[:n], k_inf[n:], ys, f0_tr, f0_te, learning_rate=eta * m, **gd_kw
  )
  nan = jnp.asarray(jnp.nan, xs.dtype)
  net = lambda v: jnp.where(diverged, nan, v)
  gap = lambda a, b: _rms(a - b) / _rms(b - f0_te)
  k0 = theta0[:n]
  loss0 = loss(zero)
  return {
    "ntk_distance": jnp.linalg.norm(k0 / m - k_inf[:n]) / jnp.linalg.norm(k_inf[:n]),
    "kernel_drift": net(jnp.linalg.norm(theta_T - k0) / jnp.linalg.norm(k0)),
    "rel_dW": net(jnp.linalg.norm(trained["W"]) / jnp.linalg.norm(params.W)),
    "rel_dA": net(jnp.linalg.norm(trained["A"]) / jnp.linalg.norm(params.A)),
    "eta": eta,
    "lambda_max": step.lambda_max,
    "sharpness": step.sharpness,
    "step_ratio": eta * step.sharpness,
    "train_loss0": loss0,
    "train_loss": net(final_loss),
    "loss_drop": net(final_loss / loss0),
    "steps_needed": _steps_needed(k0, ys, f0_tr, eta, plateau_tol),
    "rmse_net": net(_rms(f_T - yt)),
    "rmse_pseudo": _rms(f_emp[0] - yt),
    "rmse_emp_reg": _rms(f_emp[1] - yt),
    "rmse_inf_T": _rms(f_inf[0] - yt),
    "rmse_inf_reg": _rms(f_inf[1] - yt),
    "gap_net_pseudo": net(gap(f_T, f_emp[0])),
    "gap_pseudo_inf": gap(f_emp[0], f_inf[0]),
    "gap_reg": gap(f_emp[1], f_inf[1]),
    "gap_net_reg": net(gap(f_T, f_inf[1])),
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
  rec = {
    k: [lab.finite(v) for v in np.asarray(v, np.float64).tolist()]
    for k, v in out.items()
    if k != "diverged"
  }
  rec["diverged"] = int(np.sum(np.asarray(out["diverged"])))
  rec["target_rms"] = float(jnp.sqrt(jnp.mean(yt**2)))
  return rec


# --------------------------------------------------------------------------
# Verdicts (each reads the record fields it names)


def _values(by, m, key) -> list:
  return list(by[m].get(key) or []) if m in by else []


def _abs_log_ratio(by, m, pair) -> list:
  a, b = (_values(by, m, f) for f in RMSE[pair])
  out = []
  for x, y in zip(a, b):
    x, y = lab.finite(x), lab.finite(y)
    out.append(abs(math.log(x / y)) if x and y and x > 0 and y > 0 else None)
  return out


def _slope(by, ms, key):
  if key.startswith("logratio_"):
    return lab.power_law(ms, [_abs_log_ratio(by, m, key[len("logratio_") :]) for m in ms])
  return lab.power_law(ms, [_values(by, m, key) for m in ms])


#: verdict key -> (record fields it reads, rule). ``logratio_<pair>`` reads the
#: two test-RMSE fields of the pair.
FIELDS = {
  "ntk_distance": ("ntk_distance",),
  "kernel_drift": ("kernel_drift",),
  "rel_dW": ("rel_dW",),
  **{f"gap_{p}": (f"gap_{p}",) for p in PAIRS},
  **{f"logratio_{p}": RMSE[p] for p in PAIRS},
  "step_ratio": ("step_ratio",),
  "loss_drop": ("loss_drop",),
  "plateau": ("train_loss", "train_loss0"),
}


def regime(cfg: Config, by: dict) -> lab.Regime:
  """The conditions of Sec. 4.1/4.3's statements that a run can check:
  ``eps_x < 1/L``, every recorded eta*sharpness < 2, and the weights staying
  close (the relative movement ‖W'‖/‖W‖ falls with m)."""
  ms = [m for m in cfg.ms if m in by]
  ratios = lab.finite_values([v for m in ms for v in _values(by, m, "step_ratio")])
  stable = bool(ratios.size) and bool(np.all(ratios < 2))
  moves = _slope(by, ms, "rel_dW")
  close = moves.ok and moves.hi < 0
  small = cfg.eps_x < 1 / cfg.L
  met = small and stable and close
  cond = (
    f"eps_x < 1/L (eps_x={cfg.eps_x:g}, L={cfg.L}); every eta·sharpness < 2 "
    f"(max {ratios.max():.3g})"
    if ratios.size
    else f"eps_x < 1/L (eps_x={cfg.eps_x:g}, L={cfg.L}); every eta·sharpness < 2 (none recorded)"
  )
  cond += f"; weights stay close: ‖W'‖/‖W‖ falls with m (slope {moves.fmt()})"
  needed = ""
  if not met:
    needed = "; ".join(
      w
      for w, bad in (
        (f"eps_x < {1 / cfg.L:.3g}", not small),
        ("a step inside the stability limit", not stable),
        ("widths at which the relative weight movement falls", not close),
      )
      if bad
    )
  return lab.Regime(cond, met, needed)


#: The verdicts in the order ``verdicts`` returns them, as keys of ``FIELDS``.
VERDICT_KEYS = [k for p in PAIRS for k in (f"gap_{p}", f"logratio_{p}")] + [
  "ntk_distance",
  "kernel_drift",
  "rel_dW",
  "step_ratio",
  "loss_drop",
  "plateau",
]


def verdicts(cfg: Config, by: dict) -> list:
  """The verdicts (``VERDICT_KEYS`` order), each reading the record fields
  ``FIELDS`` names for it; the RNN~pseudo-network gap tests Sec. 4.1 and the
  loss decrease Sec. 4.3 (each with its regime), the rest are diagnostics."""
  ms = [m for m in cfg.ms if m in by]
  reg = regime(cfg, by)
  out = []
  for pair, (a, b, when) in PAIRS.items():
    rule = f"{a} and {b} approach each other as m grows ({when}): gap rms(f_a − f_b)/rms(f_b − f_0)"
    v = lab.slope_verdict(rule, _slope(by, ms, f"gap_{pair}"), below=0.0)
    if pair == "net_pseudo":
      v = lab.about(v, CLOSE, reg)
    out.append(v)
    out.append(
      lab.slope_verdict(
        f"… their test errors approach each other: |log(rmse {a} / rmse {b})| falls with m",
        _slope(by, ms, f"logratio_{pair}"),
        below=0.0,
      )
    )
  out.append(
    lab.slope_verdict(
      "Θ₀/m approaches the infinite-width NTK as m grows (‖Θ₀/m − Θ∞‖/‖Θ∞‖)",
      _slope(by, ms, "ntk_distance"),
      below=0.0,
    )
  )
  out.append(
    lab.slope_verdict(
      "the NTK moves less during training as m grows (‖Θ_T − Θ₀‖/‖Θ₀‖)",
      _slope(by, ms, "kernel_drift"),
      below=0.0,
    )
  )
  out.append(
    lab.slope_verdict(
      "the weights move less, relative to their size, as m grows (‖W'‖/‖W‖)",
      _slope(by, ms, "rel_dW"),
      below=0.0,
    )
  )
  ratios = [v for m in ms for v in _values(by, m, "step_ratio")]
  out.append(
    lab.threshold_verdict(
      "every step is inside gradient descent's stability limit (max eta·sharpness)",
      float(np.max(lab.finite_values(ratios))) if lab.finite_values(ratios).size else None,
      below=2.0,
      what="max eta·sharpness",
    )
  )
  drops = lab.finite_values([v for m in ms for v in _values(by, m, "loss_drop")])
  out.append(
    lab.about(
      lab.threshold_verdict(
        "the training loss decreases under gradient descent (every seed, every width)",
        float(drops.max()) if drops.size else None,
        below=1.0,
        what="max loss(T)/loss(0)",
      ),
      DESCENT,
      lab.Regime(
        "every eta·sharpness < 2 (small step, Thm. 3.1's eta = Θ(1/(ερ²m)) is smaller still)",
        bool(ratios) and bool(np.all(lab.finite_values(ratios) < 2)),
        "a step inside the stability limit",
      ),
    )
  )
  frac = _plateau_fraction(cfg, by, ms[-1]) if ms else None
  out.append(
    lab.threshold_verdict(
      f"training reached its plateau at the largest width (loss(T) < {cfg.plateau_tol:g} "
      "loss(0), share of seeds)",
      frac,
      above=0.5,
      what="share of seeds at the plateau",
      spec=".2f",
    )
  )
  return out


def _plateau_fraction(cfg, by, m) -> float | None:
  lt, l0 = _values(by, m, "train_loss"), _values(by, m, "train_loss0")
  pairs = [(a, b) for a, b in zip(lt, l0) if lab.finite(b) is not None and b > 0]
  if not pairs:
    return None
  return sum(lab.finite(a) is not None and a < cfg.plateau_tol * b for a, b in pairs) / len(pairs)


# --------------------------------------------------------------------------
# Report

TABLE = {
  "gap_net_pseudo": "gap RNN~pseudo",
  "gap_pseudo_inf": "gap pseudo~Θ∞ (T)",
  "gap_reg": "gap Θ₀ reg~Θ∞ reg",
  "gap_net_reg": "gap RNN~Θ∞ reg",
  "ntk_distance": "‖Θ₀/m − Θ∞‖/‖Θ∞‖",
  "kernel_drift": "‖Θ_T − Θ₀‖/‖Θ₀‖",
  "rel_dW": "‖W'‖/‖W‖",
}


def report(cfg: Config, records: list, out_dir) -> str:
  by = {r["point"]["m"]: r for r in records}
  ms = [m for m in cfg.ms if m in by]
  s = lab.Summary(
    "ntk_regime: the RNN, its pseudo-network, Θ₀ and Θ∞ regression against the width",
    setup=(
      f"Target Φ = `{cfg.phi}` of Def. 3.3; L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x} "
      f"(1/L = {1 / cfg.L:.3g}); {cfg.num_train} training and {cfg.num_test} test sequences; "
      f"full-batch gradient descent on the squared loss, η = {cfg.lr:g}·N/λ_max(Θ₀) "
      f"(`kernel_step_size`, per network), T = {cfg.steps} steps, B frozen, λ = 1; "
      f"{cfg.num_seeds} networks per width. Cells: median [25%, 75%] over seeds. "
      "Gap a~b = rms_test(f_a − f_b) / rms_test(f_b − f_0)."
    ),
  )
  rows, missing = [], {}
  for m in ms:
    row = [m]
    for key in TABLE:
      st = lab.stats(_values(by, m, key))
      row.append(st.fmt(".3g", robust=True))
      missing[key] = missing.get(key, 0) + st.missing
    row.append(by[m].get("diverged"))
    rows.append(row)
  s.table(["m", *TABLE.values(), "diverged"], rows, fmt="{:.3g}")
  rows = []
  for m in ms:
    med = lambda k, m=m: lab.stats(_values(by, m, k)).median
    rows.append(
      [m]
      + [med(k) for k in ("rmse_net", "rmse_pseudo", "rmse_emp_reg", "rmse_inf_T", "rmse_inf_reg")]
      + [lab.stats(_abs_log_ratio(by, m, p)).median for p in PAIRS]
    )
  s.table(
    ["m", "RNN (T)", "pseudo (T)", "Θ₀ reg (∞)", "Θ∞ (T)", "Θ∞ reg (∞)"]
    + [f"|log ratio| {PAIRS[p][0]}~{PAIRS[p][1]}" for p in PAIRS],
    rows,
    fmt="{:.3g}",
    caption="Test RMSE (medians over seeds) and |log| of the test-error ratio of each pair.",
  )
  rows = []
  for m in ms:
    st = lambda k, m=m: lab.stats(_values(by, m, k)).fmt(".3g", robust=True)
    rows.append(
      [m, st("eta"), st("lambda_max"), st("step_ratio"), st("loss_drop"), st("steps_needed")]
      + [_plateau_fraction(cfg, by, m)]
    )
  s.table(
    ["m", "η", "λ_max(Θ₀)", "η·sharpness", "loss(T)/loss(0)", "T needed (Θ₀)", "at plateau"],
    rows,
    fmt="{:.3g}",
    caption=(
      f"The step and the plateau: η·sharpness < 2 is stable; T needed = the steps the "
      f"network's linearized dynamics needs to reach loss < {cfg.plateau_tol:g} loss(0) "
      f"(T = {cfg.steps} was run); at plateau = share of seeds whose loss(T) < "
      f"{cfg.plateau_tol:g} loss(0)."
    ),
  )
  if records:
    trms = lab.finite(records[0].get("target_rms"))
    if trms is not None:
      s.text(f"RMS of the test targets: {trms:.3g}.")
  _figure(cfg, by, ms, out_dir)
  s.figure("ntk_regime.png", "ntk_regime")
  vs = verdicts(cfg, by)
  s.verdicts(vs)
  n_div = sum(int(by[m].get("diverged") or 0) for m in ms)
  s.bullets(
    "Reading",
    [f"{v.rule}: **{v.outcome}** ({v.measured})." for v in vs]
    + [
      lab.missing_note(
        {
          "seeds whose network diverged (their training metrics)": n_div,
          "NTK distances at initialization (non-finite)": missing.get("ntk_distance", 0),
        }
      )
    ],
  )
  s.choices(
    "full-batch gradient descent with the step from the measured kernel (η = lr·N/λ_max(Θ₀)); "
    "the plain squared loss; λ = 1; ε_x < 1/L; the pseudo-network's descent computed in closed "
    "form (it is the Θ₀ kernel dynamics exactly); both kernel predictions started from the "
    "network's own f_0, so that a gap measures the kernel; gaps relative to what training "
    "changed on the test set; plateau = loss(T) < tol·loss(0); noiseless labels; one target and "
    "one data set (from the config seed) shared by every width and seed."
  )
  return s.render()


def _figure(cfg: Config, by: dict, ms: list, out_dir) -> None:
  fig, axes = lab.figure(3, width=5.4, height=4.0)
  keys = [f"gap_{p}" for p in PAIRS] + ["ntk_distance", "kernel_drift", "rel_dW"]
  colors = lab.color_map(keys)
  for p in PAIRS:
    lab.band_plot(
      axes[0],
      ms,
      [_values(by, m, f"gap_{p}") for m in ms],
      label=TABLE[f"gap_{p}"],
      color=colors[f"gap_{p}"],
    )
    lab.band_plot(
      axes[1],
      ms,
      [_abs_log_ratio(by, m, p) for m in ms],
      label=f"{PAIRS[p][0]}~{PAIRS[p][1]}",
      color=colors[f"gap_{p}"],
    )
  for k in ("ntk_distance", "kernel_drift", "rel_dW"):
    lab.band_plot(axes[2], ms, [_values(by, m, k) for m in ms], label=TABLE[k], color=colors[k])
  lab.style_axes(axes[0], "width m", "rms gap / rms change", "predictions approach", xbase=2)
  lab.style_axes(axes[1], "width m", "|log test-error ratio|", "test errors approach", xbase=2)
  lab.style_axes(axes[2], "width m", "relative size", "kernel and weights", xbase=2)
  fig.tight_layout(w_pad=2.0)
  lab.save_figure(fig, out_dir / "ntk_regime.png", tight=False)


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "the trained RNN, its pseudo-network, Theta_0 and Theta_inf regression against the width "
  "(Sec. 4.1, 4.3)",
)
