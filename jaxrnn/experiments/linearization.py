"""Experiment ``linearization``: the pseudo-network against the true change,
under three ways of letting the perturbation scale with the width m.

What is measured (Sec. 4.1, Eq. 4, Lemma G.3). At a random initialization
(Def. 3.2) and for a perturbation (W', A'), the relative error

    err = rms_x ||Delta(x) - F^(L)(x; W', A')|| / rms_x ||Delta(x)||,
    Delta(x) = F_rnn(x; W + W', A + A') - F_rnn(x; W, A),

over ``num_sequences`` random normalized sequences (Def. 3.1), and the
fraction of activation-pattern entries that flip. Three scalings of the
perturbation with m (``scaling`` of a point):

- ``relative``: Gaussian direction with ``||W'||_F = omega ||W||_F`` and
  ``||A'||_F = omega ||A||_F`` (``jaxrnn.scaled_perturbation``); the
  relative size omega is the same at every m.
- ``absolute``: isotropic Gaussian direction with ``||(W', A')||_F = r``
  (``jaxrnn.absolute_perturbation``); as ``||W||_F^2 ~ 2m``, the relative
  size is about ``r / sqrt(2 (m + d))``: it falls like m^(-1/2).
- ``sgd``: the displacement SGD actually makes. ``jaxrnn.training.train``
  from the same initialization, plain SGD with Thm. 3.1's step size scaling
  ``eta = sgd_lr / m``, ``sgd_steps`` steps of ``sgd_batch_size`` samples
  from ``sgd_num_train`` samples of a random concept-class target (Def. 3.3,
  ``sgd_phi``), squared loss, lambda = 1; err along (W'_T, A'_T). As a
  control, a random isotropic direction of the same Frobenius size.

Every scaling of one width uses the same networks and sequences (seeds keyed
by (seed, m)), so the comparisons are paired.

What the paper says. Sec. 4.1: "the pseudo network is a good approximation
of the RNN, provided the weights stay close to the initialization"; Sec.
4.3: "within small radius of perturbation, overparameterized RNNs behave as
a linear network"; and of Eq. (4): "The linear term in the first-order
Taylor approximation is given by the pseudo-network". No rate is given.
The paper claims are tested through the trends they imply, with no
threshold of ours:

- ``sec4.1-close`` (absolute radius; a random direction of SGD's size) and
  ``sec4.3-linear`` (SGD's displacement): the error falls with m (95%
  interval of its slope in m below 0), in the regime where the perturbation
  gets closer to the initialization as m grows (the slope in m of
  ``||W'||_F / ||W||_F``, from the records, below 0; otherwise the row is
  "not testable");
- ``eq4``: on seeds without activation flips (where the Taylor expansion
  applies), the relative error vanishes with the perturbation (slope in
  omega above 0).

What we derive (jaxrnn diagnostics, rules of ours; the appendix is
unavailable). Without pattern flips the remainder is second order: err ~
(relative size)^1. For a *random* direction the fraction of flipped
activations is about the relative size (a preactivation flips when the
perturbation of size ~ omega times its scale crosses it), and each flipped
neuron adds an error of size ~ omega with a random sign, so the flips
contribute err ~ omega^(1/2) in relative terms, independent of m (Lemma G.3
bounds the worst case by omega^(4/3) in absolute size, i.e. omega^(1/3)
relative). Hence: at a fixed relative radius err does not fall with m (the
rule: slope interval above -0.1); at a fixed absolute radius the relative
size is r / sqrt(2 (m + d)), so the flip fraction falls like m^(-1/2) and
err like (r / sqrt(m))^(1/2) ~ m^(-1/4) (slopes within ± 0.1); on
flip-free seeds err ∝ omega^1 and where every seed flips err ∝ omega^(1/2)
(± 0.15); SGD with eta ~ 1/m moves (W, A) by a Frobenius norm ~ m^(-1/2)
(the gradient of B h^(L) in W, A has norm ~ sqrt(m)) (± 0.1), in a
direction aligned with the gradients, not random.

Design choices where the paper is silent (also in the summary):

- One perturbation direction per seed, shared by its sequences; the
  per-seed error is a ratio of root-mean-squares over the sequences
  (per-sequence ratios are heavy-tailed: Delta(x) is sometimes near 0).
- Per-seed errors are heavy-tailed in their turn (at small radii a seed has
  either no flip, and a tiny second-order error, or one flip): tables show
  the median and quartiles over seeds, fits use the mean of log err over
  seeds with a bootstrap interval over seeds (``lab.power_law``).
- "Falls with m" (paper rows) means: the 95% bootstrap interval of the
  slope of err in m lies below 0; "does not fall" (the relative-radius
  diagnostic) means: it lies above -0.1.
- float64 by default: in float32 ``F(W + W') - F(W)`` loses ~7 digits to
  cancellation and floors the error at ~1e-3 for omega = 1e-4. The SGD run
  itself is float32 (``sgd_dtype``; it only has to produce a displacement,
  which is then measured in float64): half the memory traffic at m = 2048.
- Tokens uniform on S^{d-2} with last entry 1/2; eps_x = 0.1.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

import jaxrnn
from jaxrnn import concept, lab, training
from jaxrnn.lab import at_least, each, greater_than, one_of, option

SCALINGS = ("relative", "absolute", "sgd")


@lab.config_class(L=6, d=8, d_out=1, eps_x=0.1, num_seeds=5, num_sequences=16, dtype="float64")
class Config:
  ms: tuple[int, ...] = option((32, 64, 128, 256), each(at_least(2)), help="widths m")
  omegas: tuple[float, ...] = option(
    (1e-5, 1e-4, 1e-3, 1e-2, 1e-1), each(greater_than(0)), help="relative radii omega"
  )
  radii: tuple[float, ...] = option(
    (0.01, 0.1, 1.0), each(greater_than(0)), help="absolute radii r = ||(W', A')||_F"
  )
  scalings: tuple[str, ...] = option(
    SCALINGS, each(one_of(*SCALINGS)), help="perturbation scalings to run"
  )
  sgd_steps: int = option(100, at_least(1), help="SGD steps for the 'sgd' scaling")
  sgd_lr: float = option(0.5, greater_than(0), help="SGD step size times m (eta = sgd_lr / m)")
  sgd_batch_size: int = option(8, at_least(1), help="SGD minibatch size")
  sgd_num_train: int = option(64, at_least(1), help="training samples for SGD")
  sgd_phi: str = option("sin", help="Phi of the concept-class target for SGD (Def. 3.3)")
  sgd_dtype: str = option(
    "float32",
    one_of("float32", "float64"),
    help="dtype of the SGD run (its displacement is measured in dtype)",
  )
  max_fit_omega: float = option(
    0.1, greater_than(0), help="largest omega in the flip-regime fit against omega"
  )

  def validate(self):
    lab.require(
      self.L >= 3 or "sgd" not in self.scalings,
      "L: must be >= 3 for the sgd scaling (its target needs one true token)",
    )
    lab.require(len(set(self.scalings)) == len(self.scalings), "scalings: must be distinct")
    try:
      concept.phi_function(self.sgd_phi)
    except (ValueError, TypeError) as e:
      raise lab.ConfigError(f"sgd_phi: {e}") from None


PRESETS = {
  "quick": Config(),
  # Sized for 15 minutes on 2 CPU cores (measured; see the summary's setup).
  "paper": Config(
    ms=(64, 128, 256, 512, 1024, 2048),
    omegas=(1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1),
    radii=(0.01, 0.1, 1.0),
    L=10,
    num_seeds=8,
    num_sequences=16,
  ),
}


# --------------------------------------------------------------------------
# Per-seed functions


@dataclasses.dataclass(frozen=True)
class Net:
  """What every per-seed function of one width draws from its key: the
  network (Def. 3.2) and ``num_sequences`` test sequences (Def. 3.1). Static
  (hashable) settings, so ``jaxrnn.sweep`` compiles once per width."""

  m: int
  L: int
  d: int
  d_out: int
  eps_x: float
  num_sequences: int
  dtype: str

  @classmethod
  def of(cls, cfg: Config, m: int) -> Net:
    return cls(m, cfg.L, cfg.d, cfg.d_out, cfg.eps_x, cfg.num_sequences, cfg.dtype)

  def draw(self, key):
    """(params, direction key, sequences (num_sequences, L, d))."""
    dt = jnp.dtype(self.dtype)
    k_init, k_dir, k_seq = jax.random.split(key, 3)
    params = jaxrnn.init_params(k_init, self.m, self.d, self.d_out, dt)
    xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, self.L, self.d, self.eps_x, dt))(
      jax.random.split(k_seq, self.num_sequences)
    )
    return params, k_dir, xs


def _errors(params, delta, xs):
  out = jax.vmap(jaxrnn.taylor_remainder, in_axes=(None, None, 0))(params, delta, xs)
  true_sq = jnp.sum(out["true"] ** 2, axis=-1)
  rem_sq = jnp.sum(out["remainder"] ** 2, axis=-1)
  return {
    "rel_err": jnp.sqrt(jnp.mean(rem_sq) / jnp.mean(true_sq)),
    "rel_err_seq_median": jnp.median(jnp.sqrt(rem_sq / true_sq)),
    "flip_fraction": jnp.mean(out["flip_fraction"]),
  }


def _sizes(params, delta):
  nw, na = jnp.linalg.norm(delta.W), jnp.linalg.norm(delta.A)
  return {
    "norm_dW": nw,
    "norm_dA": na,
    "rel_dW": nw / jnp.linalg.norm(params.W),
    "rel_dA": na / jnp.linalg.norm(params.A),
  }


def per_seed_radius(key, size, absolute, *, net: Net):
  """One network, one Gaussian direction scaled to ``size``: a relative
  radius omega (``scaled_perturbation``) where ``absolute`` is False, an
  absolute radius r (``absolute_perturbation``) where it is True. Both are
  traced, so every radius and both scalings of one width share one
  compilation (the two directions cost O(m^2), the sequences O(L m^2))."""
  params, k_dir, xs = net.draw(key)
  rel = jaxrnn.scaled_perturbation(k_dir, params, size)
  ab = jaxrnn.absolute_perturbation(k_dir, params, size)
  delta = jax.tree.map(lambda a, b: jnp.where(absolute, b, a), rel, ab)
  return {**_errors(params, delta, xs), **_sizes(params, delta)}


def per_seed_sgd(
  key, lr, xtr, ytr, *, net: Net, sgd_steps: int, sgd_batch_size: int, sgd_dtype: str
):
  """The same network as ``per_seed_radius``, trained by SGD (eta = lr / m)
  on ``(xtr (N, L, d), ytr (N, d_out))`` in ``sgd_dtype``; the error (in
  ``dtype``) along the displacement it made, and along a random direction of
  the same Frobenius size."""
  params, k_dir, xs = net.draw(key)
  st = jnp.dtype(sgd_dtype)
  res = training.train(
    jax.random.fold_in(key, 1),
    jax.tree.map(lambda a: a.astype(st), params),
    xtr.astype(st),
    ytr.astype(st),
    optimizer=training.optimizer("sgd", learning_rate=(lr / net.m).astype(st)),
    steps=sgd_steps,
    loss="squared",
    batch_size=sgd_batch_size,
  )
  delta = jax.tree.map(lambda a: a.astype(params.W.dtype), res.delta)
  sizes = _sizes(params, delta)
  radius = jnp.sqrt(sizes["norm_dW"] ** 2 + sizes["norm_dA"] ** 2)
  rnd = jaxrnn.absolute_perturbation(k_dir, params, radius)
  # Both directions through one (vmapped) copy of the measurement.
  both = jax.vmap(_errors, in_axes=(None, 0, None))(
    params, jax.tree.map(lambda a, b: jnp.stack([a, b]), delta, rnd), xs
  )
  err = jax.tree.map(lambda v: v[0], both)
  rnd = jax.tree.map(lambda v: v[1], both)
  return {
    **err,
    **sizes,
    "random_rel_err": rnd["rel_err"],
    "random_flip_fraction": rnd["flip_fraction"],
    "loss_start": res.eval_loss[0].astype(params.W.dtype),
    "loss_end": res.eval_loss[-1].astype(params.W.dtype),
    "diverged": res.diverged,
  }


# --------------------------------------------------------------------------
# Points


def points(cfg: Config):
  pts = []
  for m in cfg.ms:
    if "relative" in cfg.scalings:
      pts += [{"m": m, "scaling": "relative", "size": w} for w in cfg.omegas]
    if "absolute" in cfg.scalings:
      pts += [{"m": m, "scaling": "absolute", "size": r} for r in cfg.radii]
    if "sgd" in cfg.scalings:
      pts.append({"m": m, "scaling": "sgd"})
  return pts


def _sgd_data(cfg: Config):
  """One target (a random concept of Def. 3.3 with Phi = ``sgd_phi``) and its
  training samples, shared by every seed and width (call under the dtype's
  x64 setting)."""
  k_task, k_data = jax.random.split(jax.random.fold_in(jax.random.key(cfg.seed), 7))
  dt = jnp.dtype(cfg.dtype)
  target = concept.random_concept(k_task, cfg.L, cfg.d, phi=cfg.sgd_phi, d_out=cfg.d_out, dtype=dt)
  xtr, ytr, _, _ = concept.concept_dataset(
    k_data, target, cfg.sgd_num_train, cfg.L, cfg.d, cfg.eps_x
  )
  return xtr, ytr


def run_point(cfg: Config, point: dict) -> dict:
  m, scaling = point["m"], point["scaling"]
  # Seeds depend on (cfg.seed, m) only: every radius and scaling of one width
  # sees the same networks, directions and sequences (paired comparisons).
  keys = jaxrnn.seed_keys(cfg.seed * 100_003 + m, cfg.num_seeds)
  with jax.enable_x64(cfg.dtype == "float64"):
    if scaling == "sgd":
      xtr, ytr = _sgd_data(cfg)
      fn = lab.bind(per_seed_sgd, cfg, net=Net.of(cfg, m))
      out = jaxrnn.sweep(fn, keys, jnp.asarray(cfg.sgd_lr, cfg.dtype), xtr, ytr)
    else:
      fn = lab.bind(per_seed_radius, cfg, net=Net.of(cfg, m))
      size = jnp.asarray(point["size"], cfg.dtype)
      out = jaxrnn.sweep(fn, keys, size, jnp.asarray(scaling == "absolute"))
  rec = {k: np.asarray(v, np.float64) for k, v in out.items() if k != "diverged"}
  if "diverged" in out:
    div = np.asarray(out["diverged"], bool)
    rec["diverged"] = div
    # A diverged run has no meaningful displacement: its values are missing.
    for k in rec:
      if k != "diverged":
        rec[k] = np.where(div, np.nan, rec[k])
  return rec  # every value per seed, (num_seeds,)


# --------------------------------------------------------------------------
# Report


def _series(cfg: Config):
  """(scaling, size, label) of every curve against m."""
  out = []
  if "relative" in cfg.scalings:
    out += [("relative", w, f"ω={w:g} (relative)") for w in cfg.omegas]
  if "absolute" in cfg.scalings:
    out += [("absolute", r, f"r={r:g} (absolute)") for r in cfg.radii]
  if "sgd" in cfg.scalings:
    out += [("sgd", None, "SGD displacement"), ("sgd-random", None, "random, SGD's size")]
  return out


def _values(by, m, scaling, size, key="rel_err"):
  if scaling == "sgd-random":
    rec, key = by.get((m, "sgd", None)), "random_" + key
  else:
    rec = by.get((m, scaling, size))
  if rec is None or rec.get(key) is None:
    return None
  return list(rec[key])


def _count_missing(values) -> int:
  return sum(lab.finite(v) is None or lab.finite(v) <= 0 for v in values)


def report(cfg: Config, records: list, out_dir) -> str:
  by = _index(records)
  series = _series(cfg)
  colors = lab.color_map([f"m={m}" for m in cfg.ms] + [s[2] for s in series if s[0] != "relative"])
  s = lab.Summary(
    "linearization: pseudo-network (Eq. 4) vs the true change of the RNN, three scalings in m",
    setup=(
      f"Relative error rms‖Δ − F_pseudo‖ / rms‖Δ‖ over {cfg.num_sequences} sequences per "
      f"network; {cfg.num_seeds} networks (seeds) per cell, shown as median [25%, 75%] (n = "
      f"seeds with a finite value). L={cfg.L}, d={cfg.d}, d_out={cfg.d_out}, ε_x={cfg.eps_x}, "
      f"{cfg.dtype}. Perturbations: relative (‖W'‖_F = ω‖W‖_F, ‖A'‖_F = ω‖A‖_F), absolute "
      f"(‖(W', A')‖_F = r, relative size ≈ r/√(2(m+d))), and the displacement of "
      f"{cfg.sgd_steps} SGD steps (η = {cfg.sgd_lr:g}/m, batch {cfg.sgd_batch_size}, "
      f"{cfg.sgd_num_train} samples of a random {cfg.sgd_phi} concept target, squared loss, "
      f"trained in {cfg.sgd_dtype})."
    ),
  )
  missing = {"non-finite or zero errors": 0, "diverged SGD runs": 0}

  # Table 1: relative and absolute radii, error per m.
  for scaling, sizes, sym in (("relative", cfg.omegas, "ω"), ("absolute", cfg.radii, "r")):
    if scaling not in cfg.scalings:
      continue
    rows = []
    for m in cfg.ms:
      row = [m]
      for z in sizes:
        v = _values(by, m, scaling, z)
        row.append(lab.stats(v).fmt(".3g", robust=True) if v is not None else "n/a")
      rows.append(row)
    s.table(
      ["m"] + [f"{sym}={z:g}" for z in sizes],
      rows,
      caption=f"**{scaling.capitalize()} radius {sym}**: relative error, median [25%, 75%] "
      "over seeds.",
    )

  # Table 2: SGD displacement.
  if "sgd" in cfg.scalings:
    rows = []
    for m in cfg.ms:
      rec = by.get((m, "sgd", None))
      if rec is None:
        rows.append([m] + ["n/a"] * 8)
        continue
      div = int(np.sum(np.asarray(rec.get("diverged") or [], bool)))
      missing["diverged SGD runs"] += div

      def cell(key, rec=rec):
        return lab.stats(rec.get(key) or []).fmt(".3g", robust=True)

      rows.append(
        [
          m,
          cell("norm_dW"),
          cell("norm_dA"),
          cell("rel_dW"),
          cell("loss_start"),
          cell("loss_end"),
          cell("rel_err"),
          cell("random_rel_err"),
          cell("flip_fraction"),
        ]
      )
    s.table(
      [
        "m",
        "‖ΔW‖_F",
        "‖ΔA‖_F",
        "‖ΔW‖_F/‖W‖_F",
        "loss before",
        "loss after",
        "err (SGD direction)",
        "err (random, same size)",
        "flips (SGD)",
      ],
      rows,
      caption="**SGD displacement** (median [25%, 75%] over seeds; diverged runs are missing "
      "and counted in n).",
    )

  # Slopes in m for every series.
  slopes, rows = {}, []
  for scaling, size, label in series:
    ys = [_values(by, m, scaling, size) or [] for m in cfg.ms]
    missing["non-finite or zero errors"] += sum(_count_missing(v) for v in ys)
    k = lab.power_law(cfg.ms, ys)
    slopes[label] = k
    fl = [_values(by, m, scaling, size, "flip_fraction") or [] for m in cfg.ms]
    rows.append(
      [label, k.fmt(), lab.power_law(cfg.ms, fl).fmt()]
      + [lab.stats(fl[0]).fmt(".2g", robust=True) if fl else "n/a"]
      + [lab.stats(fl[-1]).fmt(".2g", robust=True) if fl else "n/a"]
    )
  s.table(
    [
      "perturbation",
      "slope of err in m [95%]",
      "slope of the flip fraction in m [95%]",
      f"flips at m={cfg.ms[0]}",
      f"flips at m={cfg.ms[-1]}",
    ],
    rows,
    caption="Slopes: least squares of mean log over seeds against log m; interval: "
    "bootstrap over seeds; seeds without a flip are left out of the flip fit.",
  )

  _figure(cfg, by, series, colors, slopes, out_dir)
  s.figure("linearization.png", "error and flips against the radius and the width")
  vs = verdicts(cfg, records)
  s.verdicts(vs)
  s.bullets(
    "Reading", [f"{v.rule}: {v.outcome} ({v.measured})." for v in vs] + [lab.missing_note(missing)]
  )
  s.choices(
    "Gaussian directions, one per seed, shared by its sequences; the absolute radius is an "
    "isotropic Gaussian direction in (W', A') scaled to ‖(W', A')‖_F = r; SGD is plain SGD from "
    "the same initialization with η = sgd_lr/m (Thm. 3.1's 1/m), λ = 1, on a random "
    "concept-class target, and its control is an isotropic direction of the same Frobenius "
    "size; per-seed error = ratio of RMS over sequences; per-cell median and quartiles over "
    "seeds; slopes on the mean of log err over seeds with a bootstrap over seeds; 'falls with m' "
    "= slope interval below 0, 'does not fall' = above −0.1; the margins of the diagnostics "
    "(± 0.1, ± 0.15) are ours; float64."
  )
  return s.render()


def _index(records: list) -> dict:
  return {(r["point"]["m"], r["point"]["scaling"], r["point"].get("size")): r for r in records}


def _rel_size(by, m, scaling, size) -> list:
  """Per-seed ``||W'||_F / ||W||_F`` of a series; the random direction of
  SGD's size has SGD's Frobenius size, so it reads the SGD record."""
  if scaling == "sgd-random":
    scaling = "sgd"
  return _values(by, m, scaling, size, "rel_dW") or []


def regime(cfg: Config, by: dict, scaling: str, size) -> lab.Regime:
  """Sec. 4.1 / 4.3 need the weights to stay close to the initialization:
  met when the relative size ``||W'||_F / ||W||_F`` of the perturbation
  falls with m (95% interval of its slope in m below 0, from the records)."""
  k = lab.power_law(cfg.ms, [_rel_size(by, m, scaling, size) for m in cfg.ms])
  return lab.Regime(
    f"weights close to the initialization: ‖W'‖_F/‖W‖_F falls with m (slope {k.fmt()})",
    bool(k.ok and k.hi < 0),
    "a perturbation whose relative size falls with m",
  )


#: The paper's statements (Sec. 4.1, Sec. 4.3, Eq. (4)) the rows test.
CLAIM_CLOSE = lab.claims.CLAIMS["sec4.1-close"]
CLAIM_LINEAR = lab.claims.CLAIMS["sec4.3-linear"]
CLAIM_EQ4 = lab.claims.CLAIMS["eq4"]
#: Margins of the diagnostics (ours).
RATE_TOL = 0.1
OMEGA_TOL = 0.15
NO_FALL = -0.1


def verdicts(cfg: Config, records: list) -> list:
  """Every conclusion of the summary, computed from the records."""
  by = _index(records)
  out = []
  for scaling, size, label in _series(cfg):
    k = lab.power_law(cfg.ms, [_values(by, m, scaling, size) or [] for m in cfg.ms])
    if scaling == "relative":
      out.append(
        lab.slope_verdict(
          f"err does not fall with m at a fixed relative radius (module's prediction): {label}",
          k,
          above=NO_FALL,
        )
      )
    else:
      claim = CLAIM_LINEAR if scaling == "sgd" else CLAIM_CLOSE
      out.append(
        lab.slope_verdict(
          f"err falls with m: {label}",
          k,
          below=0,
          claim=claim,
          regime=regime(cfg, by, scaling, size),
        )
      )
  for r in cfg.radii if "absolute" in cfg.scalings else ():
    label = f"r={r:g} (absolute)"
    flips = lab.power_law(
      cfg.ms, [_values(by, m, "absolute", r, "flip_fraction") or [] for m in cfg.ms]
    )
    out.append(
      lab.slope_verdict(
        f"flip fraction ∝ m^-1/2 (∝ the relative size r/√(2(m+d))): {label}",
        flips,
        near=-0.5,
        tol=RATE_TOL,
      )
    )
    err = lab.power_law(cfg.ms, [_values(by, m, "absolute", r) or [] for m in cfg.ms])
    out.append(
      lab.slope_verdict(
        f"err ∝ m^-1/4 (flip-dominated: err ∝ (relative size)^1/2): {label}",
        err,
        near=-0.25,
        tol=RATE_TOL,
      )
    )
  if "relative" in cfg.scalings:
    k_smooth, m_smooth = _omega_fit(cfg, by, flips=False)
    k_flips, m_flips = _omega_fit(cfg, by, flips=True)
    out += [
      _at_m(
        lab.slope_verdict(
          "the remainder of Eq. (4) vanishes with the perturbation: on flip-free seeds err "
          "falls as ω → 0",
          k_smooth,
          above=0,
          claim=CLAIM_EQ4,
          regime=lab.Regime(
            "no activation flips (the first-order Taylor expansion applies): flip-free seeds "
            "at two radii or more",
            m_smooth is not None,
            "smaller radii ω",
          ),
        ),
        m_smooth,
      ),
      _at_m(
        lab.slope_verdict(
          "without flips err ∝ ω^1 (second-order remainder; flip-free seeds)",
          k_smooth,
          near=1.0,
          tol=OMEGA_TOL,
        ),
        m_smooth,
      ),
      _at_m(
        lab.slope_verdict(
          f"with flips err ∝ ω^(1/2) (random direction, ω ≤ {cfg.max_fit_omega:g})",
          k_flips,
          near=0.5,
          tol=OMEGA_TOL,
        ),
        m_flips,
      ),
    ]
  if "sgd" in cfg.scalings:
    k_move = lab.power_law(
      cfg.ms,
      [
        [
          math.hypot(a, b) if lab.finite(a) is not None and lab.finite(b) is not None else None
          for a, b in zip(
            _values(by, m, "sgd", None, "norm_dW") or [],
            _values(by, m, "sgd", None, "norm_dA") or [],
          )
        ]
        for m in cfg.ms
      ],
    )
    out.append(
      lab.slope_verdict(
        "SGD with η ∝ 1/m moves (W, A) by ‖(ΔW, ΔA)‖_F ∝ m^-1/2", k_move, near=-0.5, tol=RATE_TOL
      )
    )
  return out


def _at_m(v: lab.Verdict, m) -> lab.Verdict:
  return v._replace(measured=f"{v.measured} at m={m}") if m is not None else v


def _omega_fit(cfg, by, *, flips: bool):
  """Slope of err in omega. ``flips=False``: per-seed errors of seeds whose
  flip fraction is 0 (the smooth remainder), at the smallest m with flip-free
  seeds at two radii or more. ``flips=True``: radii up to ``max_fit_omega``
  at which every seed has flips, at the largest such m. Returns (Slope, m)."""
  ms = list(cfg.ms) if not flips else list(reversed(cfg.ms))
  for m in ms:
    xs, ys = [], []
    for w in cfg.omegas:
      err = _values(by, m, "relative", w) or []
      fl = _values(by, m, "relative", w, "flip_fraction") or []
      fl = [lab.finite(f) for f in fl]
      if flips:
        if w <= cfg.max_fit_omega and fl and all(f is not None and f > 0 for f in fl):
          xs.append(w)
          ys.append(err)
      else:
        keep = [e for e, f in zip(err, fl) if f == 0.0]
        if keep:
          xs.append(w)
          ys.append(keep)
    if len(xs) >= 2:
      return lab.power_law(xs, ys), m
  return lab.power_law([], []), None


def _figure(cfg, by, series, colors, slopes, out_dir):
  fig, axes = lab.figure(2, 2, width=5.6, height=4.2)
  for m in cfg.ms:
    lab.band_plot(
      axes[0],
      cfg.omegas,
      [_values(by, m, "relative", w) or [] for w in cfg.omegas],
      label=f"m={m}",
      color=colors[f"m={m}"],
    )
    lab.band_plot(
      axes[1],
      cfg.omegas,
      [_values(by, m, "relative", w, "flip_fraction") or [] for w in cfg.omegas],
      label=f"m={m}",
      color=colors[f"m={m}"],
    )
  # Relative radii against m are the columns of the left panel; the lower
  # panels show the scalings that shrink with m.
  styles = {"absolute": "-", "sgd": "-", "sgd-random": "--"}
  for scaling, size, label in series:
    if scaling == "relative":
      continue
    ys = [_values(by, m, scaling, size) or [] for m in cfg.ms]
    fl = [_values(by, m, scaling, size, "flip_fraction") or [] for m in cfg.ms]
    lab.band_plot(
      axes[2],
      cfg.ms,
      ys,
      label=f"{label}: {slopes[label].fmt()}",
      color=colors[label],
      ls=styles[scaling],
    )
    lab.band_plot(axes[3], cfg.ms, fl, label=label, color=colors[label], ls=styles[scaling])
  # Columns: the error (log axis), the flips (linear axis); rows: against ω, against m.
  err = dict(ylabel="rms|Δ − F_pseudo| / rms|Δ|")
  flips = dict(ylabel="fraction of flipped activations", ylog=False)
  omega, width = dict(xlabel="relative radius ω"), dict(xlabel="width m", xbase=2)
  for ax, x_axis, y_axis, title in (
    (axes[0], omega, err, "error vs relative radius (median, 25-75%)"),
    (axes[1], omega, flips, "activation flips vs relative radius"),
    (axes[2], width, err, "error vs m (legend: slope [95%])"),
    (axes[3], width, flips, "activation flips vs m"),
  ):
    lab.style_axes(ax, title=title, **x_axis, **y_axis)
  for ax in (axes[1], axes[3]):  # flip fractions may be exactly 0
    ax.set_yscale("symlog", linthresh=1e-4)
    ax.set_ylim(bottom=0)
  for ax in axes[2:]:
    ax.set_xticks(list(cfg.ms), [str(m) for m in cfg.ms])
    ax.minorticks_off()
  for ax in axes:
    if ax.get_legend() is not None:
      ax.legend(fontsize=6, ncol=1)
  lab.save_figure(fig, out_dir / "linearization.png")


EXPERIMENT = lab.Experiment.from_module(
  __name__,
  "pseudo-network vs true change: relative, absolute and SGD-sized perturbations (Sec. 4.1)",
)
