"""The ``invertibility`` experiment: a tiny run, its numbers against NumPy,
its verdicts on synthetic records of both outcomes, missing values, and the
statistics its report uses."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import experiments as runner
from jaxrnn import lab
from jaxrnn.experiments import invertibility as inv
from tests import np_reference as ref


@pytest.mark.slow
def test_runs_reports_and_resumes(tmp_path):
  exp = inv.EXPERIMENT
  assert exp.name == "invertibility"
  for cfg in exp.presets.values():
    runner.validate_config(cfg)
  assert exp.presets["paper"].num_seeds >= 5
  assert max(exp.presets["quick"].Ls) >= 20  # the issue asks for L up to 20 in quick
  cfg = exp.presets["tiny"]
  records, summary = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert len(records) == len(inv.points(cfg))
  # Records keep every seed: (num_seeds, len(Ls)).
  assert np.asarray(records[0]["pattern/token"]).shape == (cfg.num_seeds, len(cfg.Ls))
  assert np.asarray(records[0]["centred/token"]).shape == (cfg.num_seeds, len(cfg.Ls))
  assert "## Verdicts" in summary and "Design choices" in summary
  # the tiny preset gives every verdict's rule the data it reads
  assert not [r["claim"] for r in lab.read_verdicts(summary) if "n/a" in r["measured"]]
  assert (tmp_path / "invertibility.png").exists()
  records2, summary2 = runner.run_experiment(exp, cfg, tmp_path, preset="tiny", progress=False)
  assert summary2 == summary and len(records2) == len(records)


def test_bad_configs():
  with pytest.raises(runner.ConfigError, match="Ls"):
    runner.apply_overrides(inv.PRESETS["quick"], ["Ls=2"])
  with pytest.raises(runner.ConfigError, match="eps_xs"):
    runner.apply_overrides(inv.PRESETS["quick"], ["eps_xs=0"])


@pytest.mark.slow
def test_per_seed_matches_numpy():
  # The prefix trick (h^(L) = one cell on the bias token after the shared
  # prefix) and the pattern decoder, against NumPy loops from Def. 3.1 and
  # Sec. 4.4 in float64.
  m, d, Ls, n, eps = 24, 4, (3, 5, 6), 3, 0.07
  key = jax.random.key(11)
  with jax.enable_x64(True):
    out = inv.per_seed(
      key,
      jnp.asarray(eps),
      m=m,
      Ls=Ls,
      d=d,
      num_sequences=n,
      num_train=6,
      ridge=1e-4,
      dtype="float64",
    )
    k_init, k_test, _ = jax.random.split(key, 3)
    p = jaxrnn.init_params(k_init, m, d, 1, jnp.float64)
    xbar = jax.vmap(lambda k: jaxrnn.random_true_sequence(k, max(Ls) - 2, d, jnp.float64))(
      jax.random.split(k_test, n)
    )
  W, A, xbar = np.asarray(p.W), np.asarray(p.A), np.asarray(xbar)
  for i, L in enumerate(Ls):
    base = np.zeros((L, d))
    base[0, -1] = base[-1, -1] = 1.0
    wbar = ref.inversion_matrix(W, A, base)
    tok, linf, ctok = [], [], []
    for s in range(n):
      xs = ref.normalize(xbar[s, : L - 2], eps)
      h = ref.hidden_states(W, A, xs)[-1]
      err = np.abs((wbar.T @ h).reshape(L, d) - xs)
      tok.append(err[1:-1, :-1].max())
      linf.append(err.max())
      cerr = np.abs(ref.centred_decoder(W, A, base, xs) - xs)
      ctok.append(cerr[1:-1, :-1].max())
    np.testing.assert_allclose(float(out["pattern/token"][i]), np.mean(tok), rtol=1e-8)
    np.testing.assert_allclose(float(out["pattern/linf"][i]), np.mean(linf), rtol=1e-8)
    # The centred decoder (the recovery verdicts read it) against Sec. 4.4's
    # definition in the tests' NumPy reference, not against the project's code.
    np.testing.assert_allclose(float(out["centred/token"][i]), np.mean(ctok), rtol=1e-7)
    assert np.mean(ctok) < np.mean(tok)


# --------------------------------------------------------------------------
# Verdicts on synthetic records

GRID = dict(ms=(128, 256, 512, 1024), Ls=(3, 5, 10, 20), eps_xs=(0.01, 0.04), num_seeds=5)


def _records(outcome: str, missing: bool = False):
  """Records whose pattern token error / eps_x follows the paper (falls with m
  as m^-1/2, grows with L as a power, below 1 at the largest m; naive2
  exponential; lstsq below 1; base patterns as good as the oracle) or the
  opposite on every count."""
  cfg = dataclasses.replace(inv.PRESETS["quick"], **GRID)
  rng = np.random.default_rng(0)
  recs = []
  for m in cfg.ms:
    for eps in cfg.eps_xs:
      rec = {"point": {"m": m, "eps_x": eps}}
      per = {k: np.zeros((cfg.num_seeds, len(cfg.Ls))) for k in ("p", "o", "n2", "ls")}
      for i, L in enumerate(cfg.Ls):
        noise = np.exp(0.02 * rng.standard_normal(cfg.num_seeds))
        if outcome == "paper":
          rel = 0.5 * (m / 1024) ** -0.5 * (L / 20)
          per["p"][:, i] = rel * noise
          per["o"][:, i] = rel / 1.05 * noise
          per["n2"][:, i] = 2.0**L * noise
          per["ls"][:, i] = 0.1 * noise
        else:
          rel = 2.0 * (m / 128) ** 0.5 * np.exp((np.log(L) - np.log(20)) ** 2)
          per["p"][:, i] = rel * noise
          per["o"][:, i] = rel / 2.0 * noise
          per["n2"][:, i] = np.log1p(L) * noise
          per["ls"][:, i] = 3.0 * noise
      for meth, k in (("centred", "p"), ("pattern", "p"), ("oracle", "o"), ("lstsq", "ls")):
        rec[f"{meth}/token"] = (per[k] * eps).tolist()
        rec[f"{meth}/linf"] = (per[k] * eps + 0.1).tolist()
        rec[f"{meth}/bias"] = np.full_like(per[k], 0.1).tolist()
      rec["naive2/linf"] = per["n2"].tolist()
      rec["naive1/linf"] = per["n2"].tolist()
      if missing:
        rec["pattern/token"][0][0] = None
        rec["oracle/token"][1][-1] = float("nan")
      recs.append(rec)
  return cfg, recs


def test_verdicts_flip_on_opposite_records(tmp_path):
  cfg, good = _records("paper")
  _, bad = _records("opposite")
  vg, vb = inv.verdicts(cfg, good), inv.verdicts(cfg, bad)
  # 4 falls-with-m, 4 grows-with-L, curvature, fit exponent, naive, 4 + 4
  # recoveries, oracle
  assert len(vg) == len(vb) == 4 + 4 + 1 + 1 + 1 + 8 + 1
  for a, b in zip(vg, vb):
    assert a.rule == b.rule
    assert a.holds is True, a
    assert b.holds is False, b
  text = inv.report(cfg, good, tmp_path)
  assert "**no**" not in text.split("## Verdicts")[1].split("## Reading")[0]
  text = inv.report(cfg, bad, tmp_path)
  assert "**yes**" not in text.split("## Verdicts")[1].split("## Reading")[0]


def test_report_survives_missing_values(tmp_path):
  cfg, recs = _records("paper", missing=True)
  recs = recs[:-1]  # one (m, eps_x) point not computed
  text = inv.report(cfg, recs, tmp_path)
  assert "n=4, 1 missing" in text
  # One None and one NaN in each of the 7 records; one grid point absent.
  assert "Left out of fits and figures: 14 non-finite per-seed values; 1 (m, ε_x)" in text
  assert (tmp_path / "invertibility.png").exists()
  assert inv.report(cfg, [], tmp_path).count("No completed points") == 1


def test_eps_main_is_the_largest_in_the_theorems_regime():
  cfg = dataclasses.replace(inv.PRESETS["quick"], Ls=(3, 10, 20), eps_xs=(0.01, 0.04, 0.1))
  assert inv.eps_main(cfg) == 0.04
  cfg = dataclasses.replace(cfg, eps_xs=(0.2, 0.5))
  assert inv.eps_main(cfg) == 0.2  # none qualifies: the smallest, and the report says so


# --------------------------------------------------------------------------
# Statistics


def test_power_law_crossing_exact_and_interval():
  ms = [128, 256, 512, 1024]
  # y = 100 m^-1/2 reaches 1 at m = 10^4; with seeds scattered around it the
  # interval brackets 10^4.
  exact = inv.power_law_crossing(ms, [100 * m**-0.5 for m in ms])
  assert exact[0] == pytest.approx(1e4, rel=1e-9) and math.isnan(exact[1])
  rng = np.random.default_rng(1)
  per = [100 * m**-0.5 * np.exp(0.05 * rng.standard_normal(6)) for m in ms]
  v, lo, hi = inv.power_law_crossing(ms, per)
  assert lo < 1e4 < hi and lo < v < hi
  # A rising fit never falls below the level.
  assert math.isinf(inv.power_law_crossing(ms, [m**0.5 for m in ms])[0])
  assert math.isnan(inv.power_law_crossing([128], [3.0])[0])


def test_loglog_curvature_separates_powers_from_exponentials():
  Ls = [3, 5, 8, 12, 16, 20]
  lx = np.log(Ls)
  power = inv.loglog_curvature(Ls, [L**2.0 for L in Ls])
  assert power.value == pytest.approx(0.0, abs=1e-10)
  # An exactly quadratic log-log curve: the second derivative is recovered.
  quad = inv.loglog_curvature(Ls, [math.exp(0.7 * u**2) for u in lx])
  assert quad.value == pytest.approx(1.4, rel=1e-9)
  # e^{bL}: the quadratic fit (NumPy polyfit) of b L against ln L, times 2.
  b = 0.3
  expo = inv.loglog_curvature(Ls, [math.exp(b * L) for L in Ls])
  assert expo.value == pytest.approx(2 * np.polyfit(lx, b * np.asarray(Ls, float), 2)[0])
  assert expo.value > 1.0
  saturating = inv.loglog_curvature(Ls, [L / (1 + L) for L in Ls])
  assert saturating.value < 0
  rng = np.random.default_rng(0)
  noisy = inv.loglog_curvature(Ls, [L**2.0 * np.exp(0.05 * rng.standard_normal(6)) for L in Ls])
  assert noisy.lo < 0 < noisy.hi and noisy.n_seeds == 6
  assert math.isnan(inv.loglog_curvature([3, 5], [1.0, 2.0]).value)


def test_fmt_crossing():
  assert inv.fmt_crossing((1.2e4, 5e3, math.inf)) == "1.2e+04 [5e+03, ∞]"
  assert inv.fmt_crossing((2e13, math.nan, math.nan)) == ">1e+12"
  assert inv.fmt_crossing((math.nan,) * 3) == "n/a"


# --------------------------------------------------------------------------
# What each verdict reads, its source and regime; Thm. 4.5's polynomial


def _kinds(vs):
  """Verdict index -> kind, from the rule texts."""
  out = {}
  for i, v in enumerate(vs):
    r = v.rule
    if r.startswith("centred pattern decoder recovers"):
      out[i] = "recovery"
    elif r.startswith("least-squares"):
      out[i] = "lstsq"
    elif r.startswith("naive"):
      out[i] = "naive"
    elif r.startswith("the base sequence"):
      out[i] = "oracle"
    else:
      out[i] = "centred"  # falls with m, grows with L, curvature, the fit
  return out


def test_each_verdict_reads_the_quantity_it_names():
  cfg, base_recs = _records("paper")
  base = inv.verdicts(cfg, base_recs)
  kinds = _kinds(base)
  reads = {
    "centred/token": {"centred", "recovery"},
    "pattern/token": {"oracle"},
    "oracle/token": {"oracle"},
    "naive2/linf": {"naive"},
    "lstsq/token": {"lstsq"},
    "pattern/linf": set(),
    "naive1/linf": set(),
  }
  for field, expected in reads.items():
    _, recs = _records("paper")
    for r in recs:
      m = r["point"]["m"]
      r[field] = [
        [v * (m / 128) ** 0.4 * math.exp(0.08 * L) * 1.7 for v, L in zip(row, cfg.Ls)]
        for row in r[field]
      ]
    moved = {i for i, (a, b) in enumerate(zip(base, inv.verdicts(cfg, recs))) if a != b}
    assert {kinds[i] for i in moved} == expected, field
    assert moved == {i for i, k in kinds.items() if k in expected}, field


def test_recovery_verdict_reads_the_centred_decoder():
  # The uncentred decoder carries a large constant offset; the centred one
  # recovers the tokens: the verdict says recovered.
  cfg, recs = _records("paper")
  for r in recs:
    r["pattern/token"] = (np.asarray(r["pattern/token"]) * 50).tolist()
  vs = [v for v in inv.verdicts(cfg, recs) if v.rule.startswith("centred pattern decoder recov")]
  assert len(vs) == len(cfg.Ls) and all(v.outcome == "yes" for v in vs)


def test_recovery_not_reached_is_not_testable_with_the_width():
  # Token error / eps_x falling as m^-1/2 but still 2 at the largest m: the
  # fitted polynomial puts the crossing at 4x the largest width, m = 4096.
  cfg, recs = _records("paper")
  for r in recs:
    r["centred/token"] = (np.asarray(r["centred/token"]) * 4 * 20 / np.asarray(cfg.Ls)).tolist()
  vs = [v for v in inv.verdicts(cfg, recs) if v.rule.startswith("centred pattern decoder recov")]
  for v in vs:
    assert v.holds is False and v.outcome == "not testable at these sizes", v
    assert not v.regime.met and "extrapolated from the fitted polynomial" in v.regime.needed
    m_star = float(v.regime.needed.split("m ≈ ")[1].split()[0])
    assert m_star == pytest.approx(4 * 1024, rel=0.05)


def test_sources_and_regimes():
  cfg, recs = _records("paper")
  vs = inv.verdicts(cfg, recs)
  kinds = _kinds(vs)
  claims = lab.claims.CLAIMS
  for i, v in enumerate(vs):
    if kinds[i] in ("lstsq", "oracle"):
      assert v.claim is None, v  # jaxrnn diagnostics
    else:
      assert v.claim in (claims["fig4"], claims["thm4.5"], claims["sec4.4-naive"]), v
      assert v.regime is not None and v.regime.met, v
  assert vs[0].claim == claims["fig4"] and kinds[len(vs) - 1] == "oracle"
  # eps_x >= 1/L: the paper claims are outside their regime.
  cfg2 = dataclasses.replace(cfg, eps_xs=(0.4, 0.5))
  for r in recs:
    r["point"]["eps_x"] = {0.01: 0.4, 0.04: 0.5}[r["point"]["eps_x"]]
  for v in inv.verdicts(cfg2, recs):
    if v.claim is not None:
      assert v.outcome == "not testable at these sizes", v


def test_recovery_width_is_where_token_error_over_eps_x_reaches_the_level():
  # The fit itself is tested with the lab (tests/lab/test_lab_declare.py).
  cells = [(L, e, m) for L in (3, 5, 10, 20) for e in (0.01, 0.04) for m in (128, 512, 2048)]
  exact = lab.power_fit(cells, [[0.3 * L**1.5 * e**0.8 * m**-0.5] for L, e, m in cells])
  # token error / eps_x = 0.3 L^1.5 e^-0.2 m^-0.5 = 1 at m* = (0.3 L^1.5 e^-0.2)^2
  assert inv.recovery_width(exact, 10, 0.04)[0] == pytest.approx(
    (0.3 * 10**1.5 * 0.04**-0.2) ** 2, rel=1e-9
  )
  assert inv.recovery_width(exact, 10, 0.04, level=0.5)[0] == pytest.approx(
    (0.3 * 10**1.5 * 0.04**-0.2 / 0.5) ** 2, rel=1e-9
  )
  up = lab.power_fit(cells, [[L * e * m**0.3] for L, e, m in cells])
  assert math.isinf(inv.recovery_width(up, 10, 0.04)[0])
