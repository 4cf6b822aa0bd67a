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
  # The smallest run that reaches every code path (tests, smoke runs): two
  # widths for the slopes in m, a few gradient-descent steps.
  "tiny": Config(ms=(8, 16), num_train=4, num_test=4, steps=6, num_seeds=2),
}

#: The pairs a ~ b compared: (a, b, when, test-RMSE field of a, of b); the
#: ratio of test errors is a / b. The RNN's own output f_0 at initialization
#: is the start of every prediction.
PAIRS = {
  "net_pseudo": ("RNN", "pseudo-network", "both at T", "rmse_net", "rmse_pseudo"),
  "pseudo_inf": ("pseudo-network", "Θ∞ dynamics", "both at T", "rmse_pseudo", "rmse_inf_T"),
  "reg": ("converged Θ₀ regression", "Θ∞ regression", "t = ∞", "rmse_emp_reg", "rmse_inf_reg"),
  "net_reg": ("RNN", "Θ∞ regression", "RNN at T, regression at t = ∞", "rmse_net", "rmse_inf_reg"),
}
#: Test RMSE fields of the two members of each pair.
RMSE = {p: pair[3:] for p, pair in PAIRS.items()}

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
# Verdicts and report (each verdict reads the record fields ``FIELDS`` names)

#: Per-width table columns and figure curves: record field -> header.
TABLE = {"gap_net_pseudo": "gap RNN~pseudo", "gap_pseudo_inf": "gap pseudo~Θ∞ (T)"}
TABLE |= {"gap_reg": "gap Θ₀ reg~Θ∞ reg", "gap_net_reg": "gap RNN~Θ∞ reg"}
TABLE |= {"ntk_distance": "‖Θ₀/m − Θ∞‖/‖Θ∞‖", "kernel_drift": "‖Θ_T − Θ₀‖/‖Θ₀‖"}
TABLE |= {"rel_dW": "‖W'‖/‖W‖"}
#: The trends in m that are diagnostics: record field -> rule.
TRENDS = {
  "ntk_distance": "Θ₀/m approaches the infinite-width NTK as m grows (‖Θ₀/m − Θ∞‖/‖Θ∞‖)",
  "kernel_drift": "the NTK moves less during training as m grows (‖Θ_T − Θ₀‖/‖Θ₀‖)",
  "rel_dW": "the weights move less, relative to their size, as m grows (‖W'‖/‖W‖)",
}
#: verdict key -> the record fields it reads (``logratio_<pair>``: the pair's test RMSEs).
FIELDS = {
  **{f"gap_{p}": (f"gap_{p}",) for p in PAIRS},
  **{f"logratio_{p}": RMSE[p] for p in PAIRS},
  **{k: (k,) for k in (*TRENDS, "step_ratio", "loss_drop")},
  "plateau": ("train_loss", "train_loss0"),
}
#: The verdicts in the order ``verdicts`` returns them, as keys of ``FIELDS``.
VERDICT_KEYS = [k for p in PAIRS for k in (f"gap_{p}", f"logratio_{p}")] + list(FIELDS)[8:]


def _per_seed(rs: lab.Records, m, key) -> list:
  """Per-seed ``key`` at width m; ``logratio_<pair>``: |log| of the pair's test-RMSE ratio."""
  if not key.startswith("logratio_"):
    return rs.values(key, m=m)
  a, b = (rs.values(f, m=m) for f in RMSE[key.removeprefix("logratio_")])
  return lab.seedwise(lambda x, y: abs(math.log(x / y)), a, b)


def regime(cfg: Config, rs: lab.Records, ms: list) -> lab.Regime:
  """The conditions of Sec. 4.1/4.3's statements that a run can check:
  ``eps_x < 1/L``, every recorded eta*sharpness < 2, and the weights staying
  close (the relative movement ‖W'‖/‖W‖ falls with m)."""
  eps = f"eps_x < 1/L (eps_x={cfg.eps_x:g}, L={cfg.L})"
  close, moves = "weights stay close: ‖W'‖/‖W‖", lab.trend(rs, "rel_dW", ms)
  return lab.all_of(
    lab.Regime(eps, cfg.eps_x < 1 / cfg.L, f"eps_x < {1 / cfg.L:.3g}"),
    lab.step_stability(lab.pooled(rs, "step_ratio")),
    lab.falls_with_m(close, moves, "widths at which the relative weight movement falls"),
  )


def _plateau_fraction(cfg, rs, m) -> float | None:
  """Share of the seeds at width m whose loss(T) < plateau_tol loss(0)."""
  pairs = zip(rs.values("train_loss", m=m), rs.values("train_loss0", m=m))
  at = [a is not None and a < cfg.plateau_tol * b for a, b in pairs if b and b > 0]
  return sum(at) / len(at) if at else None


def verdicts(cfg: Config, records: list) -> list:
  """The verdicts (``VERDICT_KEYS`` order), each reading the record fields
  ``FIELDS`` names for it; the RNN~pseudo-network gap tests Sec. 4.1 and the
  loss decrease Sec. 4.3 (each with its regime), the rest are diagnostics."""
  rs = lab.Records(records, "m")
  ms = lab.present(rs, cfg.ms)
  ratios, drop = lab.pooled(rs, "step_ratio"), lab.largest(lab.pooled(rs, "loss_drop"))

  def fit(key):
    return lab.power_law(ms, [_per_seed(rs, m, key) for m in ms])

  out, gap = [], "gap rms(f_a − f_b)/rms(f_b − f_0)"
  for p, (a, b, when, *_) in PAIRS.items():
    paper = dict(claim=CLOSE, regime=regime(cfg, rs, ms)) if p == "net_pseudo" else {}
    rule = f"{a} and {b} approach each other as m grows ({when}): {gap}"
    out.append(lab.check(rule, fit(f"gap_{p}"), below=0.0, **paper))
    rule = f"… their test errors approach each other: |log(rmse {a} / rmse {b})| falls with m"
    out.append(lab.check(rule, fit(f"logratio_{p}"), below=0.0))
  out += [lab.check(rule, fit(key), below=0.0) for key, rule in TRENDS.items()]
  small = "every eta·sharpness < 2 (small step, Thm. 3.1's eta = Θ(1/(ερ²m)) is smaller still)"
  stable = lab.step_stability(ratios)._replace(conditions=small)
  rule = "every step is inside gradient descent's stability limit (max eta·sharpness)"
  out.append(lab.stability_check(rule, ratios, what="max eta·sharpness"))
  rule = "the training loss decreases under gradient descent (every seed, every width)"
  what = "max loss(T)/loss(0)"
  out.append(lab.check(rule, drop, below=1.0, what=what, claim=DESCENT, regime=stable))
  rule = f"training reached its plateau at the largest width (loss(T) < {cfg.plateau_tol:g} "
  rule += "loss(0), share of seeds)"
  share = _plateau_fraction(cfg, rs, ms[-1]) if ms else None
  return out + [lab.check(rule, share, above=0.5, what="share of seeds at the plateau", spec=".2f")]


#: The test-RMSE and the step tables: record fields (their headers are in ``declare``).
RMSE_FIELDS = ("rmse_net", "rmse_pseudo", "rmse_emp_reg", "rmse_inf_T", "rmse_inf_reg")
STEP_FIELDS = ("eta", "lambda_max", "step_ratio", "loss_drop", "steps_needed")
LOGRATIOS = tuple(f"logratio_{p}" for p in PAIRS)


def declare(cfg: Config, records: list) -> lab.Report:
  """The summary: gaps and distances per width, test errors, the step and the
  plateau, the figure, the verdicts."""
  rs = lab.Records(records, "m")
  ms = lab.present(rs, cfg.ms)
  trms = lab.finite(records[0].get("target_rms")) if records else None
  colors = lab.color_map(list(TABLE))

  def row(m, fields, cell=lab.robust):
    return [m] + [cell(_per_seed(rs, m, k)) for k in fields]

  def panel(title, y, curves):  # curves: (label, record key, colour key)
    per = lambda k: [_per_seed(rs, m, k) for m in ms]
    bands = [lab.band(lb, ms, per(k), color=colors[c]) for lb, k, c in curves]
    return lab.width_panel(title, y, bands, ms)

  pairs = [(f"{a}~{b}", f"logratio_{p}", f"gap_{p}") for p, (a, b, *_) in PAIRS.items()]
  panels = [
    panel("predictions approach", "rms gap / rms change", [(TABLE[k], k, k) for k in TABLE][:4]),
    panel("test errors approach", "|log test-error ratio|", pairs),
    panel("kernel and weights", "relative size", [(TABLE[k], k, k) for k in TRENDS]),
  ]
  diverged = int(lab.pooled(rs, "diverged").sum())
  ntk_missing = lab.count_nonfinite(records, ["ntk_distance"])

  return lab.Report(
    "ntk_regime: the RNN, its pseudo-network, Θ₀ and Θ∞ regression against the width",
    setup=(
      f"Target Φ = `{cfg.phi}` of Def. 3.3; L={cfg.L}, d={cfg.d}, ε_x={cfg.eps_x} "
      f"(1/L = {1 / cfg.L:.3g}); {cfg.num_train} training and {cfg.num_test} test sequences; "
      f"full-batch gradient descent on the squared loss, η = {cfg.lr:g}·N/λ_max(Θ₀) "
      f"(`kernel_step_size`, per network), T = {cfg.steps} steps, B frozen, λ = 1; "
      f"{cfg.num_seeds} networks per width. Cells: median [25%, 75%] over seeds. "
      "Gap a~b = rms_test(f_a − f_b) / rms_test(f_b − f_0)."
    ),
    blocks=[
      lab.Table(
        ["m", *TABLE.values(), "diverged"],
        ms,
        cells=lambda m: row(m, TABLE) + [rs.record(m=m).get("diverged")],
      ),
      lab.Table(
        "m | RNN (T) | pseudo (T) | Θ₀ reg (∞) | Θ∞ (T) | Θ∞ reg (∞)".split(" | ")
        + [f"|log ratio| {a}~{b}" for a, b, *_ in PAIRS.values()],
        ms,
        "Test RMSE (medians over seeds) and |log| of the test-error ratio of each pair.",
        cells=lambda m: row(m, RMSE_FIELDS + LOGRATIOS, lambda v: lab.stats(v).median),
      ),
      lab.Table(
        "m | η | λ_max(Θ₀) | η·sharpness | loss(T)/loss(0) | T needed (Θ₀) | at plateau",
        ms,
        f"The step and the plateau: η·sharpness < 2 is stable; T needed = the steps the "
        f"network's linearized dynamics needs to reach loss < {cfg.plateau_tol:g} loss(0) "
        f"(T = {cfg.steps} was run); at plateau = share of seeds whose loss(T) < "
        f"{cfg.plateau_tol:g} loss(0).",
        cells=lambda m: row(m, STEP_FIELDS) + [_plateau_fraction(cfg, rs, m)],
      ),
      *([f"RMS of the test targets: {trms:.3g}."] if trms is not None else []),
      lab.Figure("ntk_regime", panels, ncols=3, alt="ntk_regime"),
    ],
    verdicts=verdicts(cfg, records),
    choices=(
      "full-batch gradient descent with the step from the measured kernel (η = lr·N/λ_max(Θ₀)); "
      "the plain squared loss; λ = 1; ε_x < 1/L; the pseudo-network's descent computed in "
      "closed form (it is the Θ₀ kernel dynamics exactly); both kernel predictions started from "
      "the network's own f_0, so that a gap measures the kernel; gaps relative to what training "
      "changed on the test set; plateau = loss(T) < tol·loss(0); noiseless labels; one target "
      "and one data set (from the config seed) shared by every width and seed."
    ),
    missing={
      "seeds whose network diverged (their training metrics)": diverged,
      "NTK distances at initialization (non-finite)": ntk_missing,
    },
  )


report = lab.reporter(declare)


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "the trained RNN, its pseudo-network, Theta_0 and Theta_inf regression against the width "
  "(Sec. 4.1, 4.3)",
)
