"""Fewer compilations for the same values: the sweep's XLA:CPU options, and
the language data's permutations and class samples, which share one
compiled program across sizes (exactly the draws JAX's own functions give).

Compilations are counted with ``jax.monitoring`` (one
``backend_compile_duration`` event per XLA compilation).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxrnn._src import languages as L
from jaxrnn._src import sweep as sweep_src
from tests._compiles import count_compiles


def test_sweep_programs_ask_for_the_classic_fusion_emitters():
  # The newer MLIR emitters took about twice as long to compile the
  # experiments' per-seed programs (docs/performance.md, compile time).
  import jaxlib

  if tuple(int(p) for p in jaxlib.__version__.split(".")[:2]) >= (0, 11):
    pytest.skip("this jaxlib has no xla_cpu_use_fusion_emitters option")
  assert sweep_src.CPU_OPTIONS["xla_cpu_use_fusion_emitters"] is False
  assert sweep_src.CPU_INVARIANT_OPTIONS["xla_cpu_use_fusion_emitters"] is False
  # the option is one this XLA:CPU accepts: a sweep compiles and runs with it
  out = sweep_src.sweep(lambda k: jax.random.normal(k, (3,)).sum(), sweep_src.seed_keys(0, 4))
  assert out.shape == (4,)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 255, 256, 257, 1000, 1024, 1025, 1625, 1626, 2046])
def test_permutation_is_jax_random_permutation(n):
  for key in (jax.random.fold_in(jax.random.key(3), n), jax.random.PRNGKey(n)):
    np.testing.assert_array_equal(
      L._permutation(key, n), np.asarray(jax.random.permutation(key, n))
    )


def test_permutations_of_one_bucket_compile_once():
  key = jax.random.key(0)
  L._permutation(key, 300)
  with count_compiles() as c:
    for n in (257, 290, 400, 511, 512):
      L._permutation(jax.random.fold_in(key, n), n)
  assert c["n"] == 0


def _choice_reference(key, name, n, lengths, member, width):
  """``sample_class`` as ``jax.random.choice`` over the non-empty lengths."""
  dfa = L.get_dfa(name)
  dfa = dfa if member else dfa.complement()
  logc = L.log_counts(dfa, width)
  avail = [x for x in lengths if np.isfinite(logc[x, dfa.start])]
  k_len, k_str = jax.random.split(key)
  ls = jax.random.choice(k_len, jnp.asarray(avail, jnp.int32), (n,))
  one = jax.vmap(L._sample_one, in_axes=(0, 0, None, None, None, None))
  args = (jnp.asarray(logc, jnp.float32), jnp.asarray(dfa.transitions))
  return np.asarray(one(jax.random.split(k_str, n), ls, *args, jnp.int32(dfa.start), width))


def test_class_samples_are_the_choice_draws_and_share_a_program():
  # tomita2 (the strings (10)^k) has members at even lengths only: the two
  # classes have different numbers of non-empty lengths.
  key = jax.random.key(5)
  lengths = range(3, 8)
  for member in (True, False):
    got = L.sample_class(key, "tomita2", 16, lengths, member=member, width=9)
    want = _choice_reference(key, "tomita2", 16, list(lengths), member, 9)
    np.testing.assert_array_equal(got, want)
  L.sample_class(key, "tomita2", 16, range(4, 9), member=True, width=9)
  with count_compiles() as c:
    L.sample_class(key, "tomita2", 16, range(4, 9), member=False, width=9)
    L.sample_class(jax.random.key(6), "tomita2", 16, range(2, 7), member=True, width=9)
  assert c["n"] == 0
