"""jaxrnn.flax: the modules equal the pure functions; B stays frozen under
training through the filter; checkpoints load back bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn
from flax import nnx

import jaxrnn
import jaxrnn.flax as jf


def _xs(n=3, L=5, d=4):
  return jax.random.normal(jax.random.key(7), (n, L, d))


def test_nnx_module_equals_init_params_and_rnn_output():
  model = jf.ElmanRNN(4, 16, 2, rngs=nnx.Rngs(params=3))
  p = jaxrnn.init_params(nnx.Rngs(params=3).params(), 16, 4, 2)  # the stream's first key
  for a, b in zip(model.rnn_params(), p):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  xs = _xs()
  want = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, xs)
  np.testing.assert_array_equal(np.asarray(model(xs)), np.asarray(want))
  np.testing.assert_array_equal(np.asarray(model(xs[0])), np.asarray(jaxrnn.rnn_output(p, xs[0])))


def test_nnx_optimizer_with_param_filter_keeps_b_frozen():
  model = jf.ElmanRNN(4, 16, 1, rngs=nnx.Rngs(params=0))
  B0, W0 = np.asarray(model.B[...]), np.asarray(model.W[...])
  opt = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)
  xs, ys = _xs(), jnp.ones((3, 1))

  def loss(m):
    return jnp.mean((m(xs) - ys) ** 2)

  for _ in range(3):
    grads = nnx.grad(loss)(model)
    opt.update(model, grads)
  np.testing.assert_array_equal(np.asarray(model.B[...]), B0)  # bit for bit
  assert not np.array_equal(np.asarray(model.W[...]), W0)  # W did train


def test_linen_cell_in_nn_rnn_equals_hidden_states():
  p = jaxrnn.init_params(jax.random.key(1), 16, 4, 1)
  xs = _xs()
  variables = jf.linen_variables(p)
  out = jf.LinenElmanRNN(16, 1).apply(variables, xs)
  want = jax.vmap(jaxrnn.rnn_output, in_axes=(None, 0))(p, xs)
  np.testing.assert_allclose(np.asarray(out), np.asarray(want), rtol=1e-5, atol=1e-6)
  hs = nn.RNN(jf.ReLUCell(16)).apply({"params": {"cell": {"W": p.W, "A": p.A}}}, xs)
  want_hs = jax.vmap(jaxrnn.hidden_states, in_axes=(None, 0))(p, xs)
  np.testing.assert_allclose(np.asarray(hs), np.asarray(want_hs), rtol=1e-5, atol=1e-6)


def test_linen_init_follows_def_3_2_and_b_is_not_a_param():
  m, d_out = 256, 2
  v = jf.LinenElmanRNN(m, d_out).init(jax.random.key(0), jnp.ones((1, 3, 8)))
  W = np.asarray(v["params"]["rnn"]["cell"]["W"])
  B = np.asarray(v["frozen"]["B"])
  # Sample variances of 65536 and 512 draws: relative standard errors
  # sqrt(2/n) = 0.6% and 6%; margins 5% and 25%.
  assert abs(W.var() / (2 / m) - 1) < 0.05
  assert abs(B.var() / (2 / d_out) - 1) < 0.25
  assert "B" not in str(jax.tree_util.tree_structure(v["params"]))


def test_checkpoints_round_trip_bit_for_bit(tmp_path):
  p = jaxrnn.init_params(jax.random.key(0), 8, 3, 1)
  jf.save(tmp_path / "p.msgpack", p)
  q = jf.load_params(tmp_path / "p.msgpack")
  for a, b in zip(p, q):
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, 4, 3, 0.5))(
    jax.random.split(jax.random.key(1), 6)
  )
  res = jaxrnn.training.train(
    jax.random.key(2),
    p,
    xs,
    jnp.sign(xs[:, 1, 0]),
    steps=4,
    eval_every=2,
    optimizer=jaxrnn.training.optimizer("sgd", learning_rate=0.1),
  )
  jf.save(tmp_path / "r.msgpack", res)
  back = jf.load(tmp_path / "r.msgpack", res)
  for a, b in zip(jax.tree.leaves(res), jax.tree.leaves(back)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_load_params_refuses_other_files(tmp_path):
  jf.save(tmp_path / "x.msgpack", {"foo": jnp.ones(2)})
  import pytest

  with pytest.raises(ValueError, match="does not hold an RNNParams"):
    jf.load_params(tmp_path / "x.msgpack")


@pytest.mark.slow
def test_cli_save_params_writes_what_the_run_trained(tmp_path, capsys):
  """``jaxrnn run languages --save-params``: each training point's record
  names its msgpack file, and the file loads back bit for bit into the
  ``TrainResult`` that the same point computes in-process."""
  import json

  from jaxrnn import cli
  from jaxrnn.experiments import languages

  sets = dict(
    languages="tomita1",
    optimizers="rmsprop",
    train_max_len=4,
    test_bin_edges=6,
    n_test=8,
    m=8,
    steps=4,
    batch_size=4,
    num_seeds=2,
    complexity_lengths=4,
    additive_lengths=2,
    additive_n=2,
  )
  argv = ["run", "languages", "--out", str(tmp_path), "--no-progress", "--save-params"]
  for k, v in sets.items():
    argv += ["--set", f"{k}={v}"]
  assert cli.main(argv) == 0
  capsys.readouterr()
  run_dir = cli.run_dir(
    tmp_path, languages.EXPERIMENT, "quick", [f"{k}={v}" for k, v in sets.items()]
  )
  recs = [json.loads(line) for line in (run_dir / "results.jsonl").read_text().splitlines()]
  train = [r for r in recs if r["point"]["kind"] == "train"]
  assert len(train) == 1 and "artifacts" not in train[0]
  assert all("params_file" not in r for r in recs if r["point"]["kind"] != "train")
  cfg = languages.EXPERIMENT.presets["quick"]
  cfg = jaxrnn.experiments.apply_overrides(cfg, [f"{k}={v}" for k, v in sets.items()])
  expected = languages.run_point(cfg, train[0]["point"])["artifacts"]
  got = jf.load(run_dir / train[0]["params_file"], expected)
  assert isinstance(got, jaxrnn.training.TrainResult)
  modes = {(run_dir / n).stat().st_mode & 0o777 for n in ("results.jsonl", train[0]["params_file"])}
  assert len(modes) == 1, modes  # the params file has the run's file mode
  assert got.params.W.shape == (2, 8, 8)  # seed axis first
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # The same file without a template: the TrainResult stacked over seeds.
  back = jf.load_run_params(run_dir / train[0]["params_file"])
  assert jax.tree.structure(back) == jax.tree.structure(expected)
  for a, b in zip(jax.tree.leaves(back), jax.tree.leaves(expected)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # The trained weights are not the initial ones (B, frozen, is).
  assert not np.array_equal(np.asarray(got.delta.W), 0)
  # Without the flag nothing is written.
  plain = [a for a in argv if a != "--save-params"] + ["--out", str(tmp_path / "plain")]
  assert cli.main(plain) == 0
  assert (tmp_path / "plain" / run_dir.relative_to(tmp_path) / "summary.md").exists()
  assert not (tmp_path / "plain" / run_dir.relative_to(tmp_path) / "params").exists()


def test_save_params_is_refused_where_nothing_would_be_saved(tmp_path):
  """An experiment that keeps no trained parameters refuses ``save_params``
  before any work (it would otherwise run and write no file); ``languages``
  declares that it keeps them."""
  from jaxrnn import experiments
  from jaxrnn.experiments import languages
  from tests import _fake_experiment as fake

  assert languages.EXPERIMENT.saves_params and not fake.EXPERIMENT.saves_params
  savers = [n for n, e in experiments.registry().items() if e.saves_params]
  assert savers == ["languages"]
  with pytest.raises(experiments.ConfigError, match="fake trains no parameters to save"):
    experiments.run_experiment(
      fake.EXPERIMENT, fake.Config(n=2), tmp_path / "run", preset="quick", save_params=True
    )
  assert not (tmp_path / "run").exists()
