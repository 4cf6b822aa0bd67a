"""jaxrnn.flax loaders: ``load`` checks its template against the file, naming
the leaf that differs; ``load_run_params`` reads what ``save`` wrote (the
files of ``--save-params``: a ``TrainResult`` stacked over seeds) without a
template. The CLI's own ``--save-params`` file is loaded back in
``tests/test_flax.py::test_cli_save_params_writes_what_the_run_trained``."""

import jax
import numpy as np
import pytest

import jaxrnn
import jaxrnn.flax as jf
from jaxrnn.training import TrainResult


@pytest.fixture
def saved(tmp_path):
  p = jaxrnn.init_params(jax.random.key(0), 8, 3, 1)
  path = tmp_path / "p.msgpack"
  jf.save(path, p)
  return path, p


def test_load_with_the_right_template_returns_the_saved_arrays(saved):
  path, p = saved
  got = jf.load(path, jaxrnn.init_params(jax.random.key(5), 8, 3, 1))
  for a, b in zip(got, p):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_load_refuses_a_template_of_other_shapes_naming_the_leaf(saved):
  path, _ = saved
  wrong = jaxrnn.init_params(jax.random.key(0), 16, 3, 1)  # m = 16, the file has m = 8
  with pytest.raises(
    ValueError, match=r"leaf W has shape \(8, 8\) and dtype float32 in the file, "
  ):
    jf.load(path, wrong)
  wrong_b = jaxrnn.init_params(jax.random.key(0), 8, 3, 2)  # only B differs
  with pytest.raises(ValueError, match=r"leaf B has shape \(1, 8\) .* shape \(2, 8\)"):
    jf.load(path, wrong_b)


def test_load_refuses_a_template_of_another_dtype_naming_the_leaf(saved):
  path, p = saved
  wrong = p._replace(A=np.asarray(p.A, np.float64))  # NumPy keeps float64 without x64
  with pytest.raises(ValueError, match=r"leaf A has .*dtype float32 in the file, .*dtype float64"):
    jf.load(path, wrong)


def test_load_refuses_a_template_of_another_structure(tmp_path, saved):
  path, p = saved
  with pytest.raises(ValueError, match=r"\['C'\] are not in the file.*\['A', 'B', 'W'\] are not"):
    jf.load(path, {"C": p.W})
  nested = tmp_path / "n.msgpack"
  jf.save(nested, {"net": p, "x": np.ones(2)})
  with pytest.raises(ValueError, match="net is a mapping in the file but not in the template"):
    jf.load(nested, {"net": np.ones(2), "x": np.ones(2)})
  with pytest.raises(ValueError, match=r"leaf net/W has shape \(8, 8\)"):
    jf.load(nested, {"net": p._replace(W=np.ones((2, 2), np.float32)), "x": np.ones(2)})


def _stacked_train_result(num_seeds=3, m=4, d=3):
  """A TrainResult as --save-params writes it: every leaf with a seed axis."""
  keys = jaxrnn.seed_keys(0, num_seeds)
  params = jax.vmap(lambda k: jaxrnn.init_params(k, m, d, 1))(keys)
  leaves = {}
  for name in TrainResult._fields:
    if name in ("params", "delta", "init"):
      leaves[name] = params
    elif name == "monitor":
      leaves[name] = None
    elif name == "diverged":
      leaves[name] = np.zeros(num_seeds, bool)
    elif name == "diverged_step":
      leaves[name] = np.full(num_seeds, -1, np.int32)
    else:
      leaves[name] = np.arange(num_seeds * 2, dtype=np.float32).reshape(num_seeds, 2)
  return TrainResult(**leaves)


def test_load_run_params_reads_a_stacked_train_result_without_a_template(tmp_path):
  res = _stacked_train_result()
  jf.save(tmp_path / "r.msgpack", res)
  with pytest.raises(ValueError, match="does not hold an RNNParams"):
    jf.load_params(tmp_path / "r.msgpack")  # what the RNNParams loader refuses
  got = jf.load_run_params(tmp_path / "r.msgpack")
  assert isinstance(got, TrainResult) and isinstance(got.params, jaxrnn.RNNParams)
  assert got.monitor is None and got.params.W.shape == (3, 4, 4)
  flat_got, tree_got = jax.tree.flatten(got)
  flat_res, tree_res = jax.tree.flatten(res)
  assert tree_got == tree_res
  for a, b in zip(flat_got, flat_res):
    assert np.asarray(a).dtype == np.asarray(b).dtype
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # The template load() wants is what load_run_params returns.
  again = jf.load(tmp_path / "r.msgpack", got)
  np.testing.assert_array_equal(again.delta.A, got.delta.A)
  # One seed's result is a slice.
  seed1 = jax.tree.map(lambda x: x[1], got)
  np.testing.assert_array_equal(seed1.params.W, np.asarray(res.params.W[1]))


def test_load_run_params_keeps_dicts_and_float64_as_saved(tmp_path):
  tree = {"a": np.linspace(0, 1, 5), "p": jaxrnn.init_params(jax.random.key(0), 4, 3, 1)}
  jf.save(tmp_path / "t.msgpack", tree)
  got = jf.load_run_params(tmp_path / "t.msgpack")
  assert isinstance(got, dict) and isinstance(got["p"], jaxrnn.RNNParams)
  assert got["a"].dtype == np.float64
  np.testing.assert_array_equal(got["a"], tree["a"])


def test_load_run_params_checks_the_checksum_and_refuses_a_bare_array(tmp_path):
  jf.save(tmp_path / "x.msgpack", np.ones(3))
  with pytest.raises(ValueError, match="does not hold a pytree of arrays"):
    jf.load_run_params(tmp_path / "x.msgpack")
  res = _stacked_train_result()
  path = tmp_path / "r.msgpack"
  jf.save(path, res)
  raw = bytearray(path.read_bytes())
  raw[-5] ^= 1
  path.write_bytes(bytes(raw))
  with pytest.raises(ValueError, match="corrupted"):
    jf.load_run_params(path)
