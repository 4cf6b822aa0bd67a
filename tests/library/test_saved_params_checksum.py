"""Saved parameters carry a SHA-256 that ``jaxrnn.flax.load`` and
``load_params`` check: a file whose bytes changed (one flipped bit inside
W's bytes, or anywhere else) is a clear error, never different numbers."""

import jax
import numpy as np
import pytest
from flax import serialization

import jaxrnn
import jaxrnn.flax as jf


@pytest.fixture
def saved(tmp_path):
  p = jaxrnn.init_params(jax.random.key(0), 8, 3, 1)
  path = tmp_path / "p.msgpack"
  jf.save(path, p)
  return p, path, path.read_bytes()


def test_one_flipped_bit_inside_w_is_refused_by_load_and_load_params(saved, tmp_path):
  p, path, raw = saved
  at = raw.find(np.asarray(p.W).tobytes())
  assert at > 0  # W's float32 bytes are stored as they are
  bad = bytearray(raw)
  bad[at + 4 * 9 + 1] ^= 0x04  # one bit of W[1, 1]
  corrupt = tmp_path / "corrupt.msgpack"
  corrupt.write_bytes(bytes(bad))
  with pytest.raises(ValueError, match=r"corrupt\.msgpack is corrupted"):
    jf.load(corrupt, p)
  with pytest.raises(ValueError, match=r"corrupt\.msgpack is corrupted"):
    jf.load_params(corrupt)


def test_every_single_bit_flip_of_the_file_is_an_error(saved, tmp_path):
  p, _, raw = saved
  corrupt = tmp_path / "c.msgpack"
  rng = np.random.default_rng(0)
  for i in range(len(raw)):
    bad = bytearray(raw)
    bad[i] ^= 1 << int(rng.integers(8))
    corrupt.write_bytes(bytes(bad))
    with pytest.raises(ValueError):
      jf.load(corrupt, p)


def test_an_intact_file_loads_bit_for_bit_and_a_plain_flax_file_needs_verify_false(saved, tmp_path):
  p, path, _ = saved
  for a, b in zip(p, jf.load(path, p)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  plain = tmp_path / "plain.msgpack"
  plain.write_bytes(serialization.to_bytes(jax.device_get(p)))
  with pytest.raises(ValueError, match="not a jaxrnn checkpoint with a checksum"):
    jf.load(plain, p)
  for a, b in zip(p, jf.load_params(plain, verify=False)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
