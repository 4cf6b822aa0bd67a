"""The seed sweep: vmap over keys, sharded over (simulated) devices."""

import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn

HERE = os.path.dirname(__file__)


def _run_worker(tmp_path, n_devices):
  env = dict(os.environ)
  env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_devices}"
  env["JAX_PLATFORMS"] = "cpu"
  path = tmp_path / f"sweep_{n_devices}.npz"
  subprocess.run(
    [sys.executable, os.path.join(HERE, "_sweep_worker.py"), str(path)],
    check=True,
    env=env,
    timeout=300,
  )
  return np.load(path)


def test_matches_a_python_loop_over_seeds():
  keys = jaxrnn.seed_keys(3, 5)
  f = lambda key, s: s * jax.random.normal(key, (3,))
  got = jaxrnn.sweep(f, keys, jnp.float32(2.0))
  assert isinstance(got, np.ndarray) and got.shape == (5, 3)
  for i in range(5):
    np.testing.assert_array_equal(got[i], 2.0 * jax.random.normal(keys[i], (3,)))


def test_sharded_over_four_devices_equals_one_device(tmp_path):
  one = _run_worker(tmp_path, 1)
  four = _run_worker(tmp_path, 4)
  assert int(one["n_devices"]) == 1 and int(four["n_devices"]) == 4
  for name in ("out", "lin"):
    assert one[name].shape == four[name].shape == (10, 8, 2)  # 10 seeds: padded to 12, trimmed
    # Each device runs the same per-seed program on its slice of keys; XLA
    # on CPU gives bit-identical results here. If a future XLA changes the
    # batch blocking the values may differ by float rounding only, so the
    # test falls back to a rounding tolerance and says which held.
    if not np.array_equal(one[name], four[name]):
      np.testing.assert_allclose(one[name], four[name], rtol=1e-6, atol=1e-7)
      pytest.xfail(f"{name}: equal within float rounding, not bit for bit")


def test_rejects_raw_keys():
  with pytest.raises(TypeError, match="typed PRNG keys"):
    jaxrnn.sweep(lambda k: k, jax.random.PRNGKey(0)[None])
