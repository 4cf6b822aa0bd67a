"""The seed sweep: layouts (vmap, chunks, sequential) and devices give the
same bits; the memory guard refuses what cannot fit, before running."""

import functools
import os
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn._src import sweep as sweep_mod
from jaxrnn._src.checks import ResourceError
from tests.library._sweep_worker import LAYOUTS

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
FIELDS = ("out", "lin", "loss", "grad_w")
# Default (fast) mode: layouts may round differently (XLA:CPU picks library
# kernels by operation size). A sum of n float32 terms in another order moves
# by at most ~n * 2^-24 of the sum of magnitudes: for the 64-term means here
# <= 4e-6 relative; measured 1.9e-7. Asserted every time.
RTOL, ATOL = 1e-5, 1e-6


def _run_worker(tmp_path, n_devices):
  env = dict(os.environ)
  env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n_devices}"
  env["JAX_PLATFORMS"] = "cpu"
  env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")])  # this checkout
  path = tmp_path / f"sweep_{n_devices}.npz"
  subprocess.run(
    [sys.executable, os.path.join(HERE, "_sweep_worker.py"), str(path)],
    check=True,
    env=env,
    timeout=300,
  )
  return np.load(path)


@pytest.fixture
def fresh_cache():
  """Plans are cached with the compilations; tests that change the memory
  the guard sees, or count compilations, start and end with an empty cache."""
  sweep_mod._CACHE.clear()
  yield
  sweep_mod._CACHE.clear()


def test_matches_a_python_loop_over_seeds():
  keys = jaxrnn.seed_keys(3, 5)
  f = lambda key, s: s * jax.random.normal(key, (3,))
  got = jaxrnn.sweep(f, keys, jnp.float32(2.0))
  assert isinstance(got, np.ndarray) and got.shape == (5, 3)
  for i in range(5):
    np.testing.assert_array_equal(got[i], 2.0 * jax.random.normal(keys[i], (3,)))


def _train(key, xs, ys, *, m):
  return jaxrnn.training.init_and_train(
    key,
    xs,
    ys,
    m=m,
    optimizer=jaxrnn.training.optimizer("sgd", learning_rate=0.05),
    steps=6,
    batch_size=4,
    eval_every=3,
  )


def _assert_same(got, ref, what, exact=True):
  flat_ref = jax.tree_util.tree_leaves_with_path(ref)
  flat_got = jax.tree.leaves(got)
  assert len(flat_got) == len(flat_ref), what
  for (path, r), a in zip(flat_ref, flat_got):
    msg = f"{what}: {jax.tree_util.keystr(path)}"
    if exact or not np.issubdtype(np.asarray(r).dtype, np.floating):
      np.testing.assert_array_equal(a, r, err_msg=msg)
    else:
      np.testing.assert_allclose(a, r, rtol=RTOL, atol=ATOL, err_msg=msg)


def _train_data():
  xs = jax.vmap(lambda k: jaxrnn.random_normalized_sequence(k, 5, 4, 0.5))(jaxrnn.seed_keys(9, 64))
  return xs, jnp.sign(xs[:, 2, 0] + 1e-6)


@pytest.mark.parametrize(
  "m, invariant",
  [(16, True), (96, True), (16, False)],
  ids=["invariant-16", "invariant-96", "default-16"],
)
@pytest.mark.slow
def test_every_layout_gives_the_same_numbers(m, invariant):
  # A short training run per seed: matmuls, reductions over 64 sequences (the
  # evaluation loss), gradients, random minibatches. XLA:CPU with its default
  # library calls rounds such reductions differently for different numbers of
  # seeds per operation: layout_invariant=True must give the same bits in
  # every layout, the default the same numbers to float32 rounding.
  xs, ys = _train_data()
  fn = functools.partial(_train, m=m)
  keys = jaxrnn.seed_keys(0, 5)
  run = functools.partial(jaxrnn.sweep, fn, keys, xs, ys, layout_invariant=invariant)
  ref = run(batch_size=5)  # one vmap of 5 seeds
  for b in (None, 1, 2):  # automatic, sequential, 3 chunks of 2 (padded to 6)
    _assert_same(run(batch_size=b), ref, f"batch_size={b}", exact=invariant)
  # ... and a seed's result does not depend on the other seeds in the sweep.
  few = jaxrnn.sweep(fn, keys[2:4], xs, ys, layout_invariant=invariant)
  _assert_same(few, jax.tree.map(lambda r: r[2:4], ref), "2 of 5 seeds", exact=invariant)
  if not invariant:  # ... nor from a jitted call of one seed (the user's loop)
    single = jax.jit(fn)(keys[4], xs, ys)
    _assert_same(single, jax.tree.map(lambda r: r[4], ref), "jit of one seed", exact=False)


@pytest.mark.slow
def test_sharded_over_four_devices_equals_one_device(tmp_path):
  one = _run_worker(tmp_path, 1)
  four = _run_worker(tmp_path, 4)
  assert int(one["n_devices"]) == 1 and int(four["n_devices"]) == 4
  assert one["inv_vmap_out"].shape == (10, 8, 2)  # 10 seeds: on 4 devices padded to 12
  for name, _, invariant in LAYOUTS:
    for field in FIELDS:
      key, ref = f"{name}_{field}", one[f"inv_vmap_{field}"]
      # Unconditional: every layout on 1 and 4 devices gives the bits of one
      # vmap on one device with layout_invariant=True, and the same numbers
      # to the stated float32 rounding tolerance by default.
      for n, got in (("1 device", one[key]), ("4 devices", four[key])):
        if invariant:
          np.testing.assert_array_equal(got, ref, err_msg=f"{n}: {key}")
        else:
          np.testing.assert_allclose(got, ref, rtol=RTOL, atol=ATOL, err_msg=f"{n}: {key}")


def _count_compiles():
  """A list that grows by one per XLA compilation while registered."""
  seen = []

  def listener(name, duration, **kwargs):
    if name == "/jax/core/compile/backend_compile_duration":
      seen.append(name)

  jax.monitoring.register_event_duration_secs_listener(listener)
  return seen, lambda: jax.monitoring.unregister_event_duration_listener(listener)


def test_plan_chooses_vmap_for_small_and_chunks_for_large_programs(fresh_cache):
  keys = jaxrnn.seed_keys(0, 16)
  seen, stop = _count_compiles()
  try:
    small = sweep_mod.plan(functools.partial(_big_temp, m=16), keys)
    compiles_small = len(seen)
    # m = 256: ~1 MiB of temporaries per seed (x, x @ x, random bits) in
    # XLA's account, ~3.5 MiB of jaxpr values; on a CPU, chunks whose values
    # stay within CPU_CHUNK_BYTES = 16 MiB.
    big = sweep_mod.plan(functools.partial(_big_temp, m=256), keys)
    compiles_big = len(seen) - compiles_small
  finally:
    stop()
  # The vmap of all seeds is the program that runs: one compilation.
  assert (small.layout, small.batch_size, small.num_chunks) == ("vmap", 16, 1), small
  assert compiles_small == 1, compiles_small
  if jax.devices()[0].platform == "cpu":
    # The jaxpr sets the chunk before the one compilation.
    assert big.layout == "chunks" and 1 < big.batch_size <= 4, big
    assert big.bytes_per_device <= (4 << 20) + (1 << 20), big
    assert compiles_big == 1, compiles_big
    # 40 seeds would be 3 chunks of 14 (2 wasted): 3 x 13 + 1 is not even
    odd = sweep_mod.plan(functools.partial(_big_temp, m=128), jaxrnn.seed_keys(0, 40))
    assert odd.padded_seeds - 40 < odd.num_chunks, odd


def test_rejects_raw_keys_and_bad_batch_sizes():
  with pytest.raises(TypeError, match="typed PRNG keys"):
    jaxrnn.sweep(lambda k: k, jax.random.PRNGKey(0)[None])
  # A valid call first: its cached plan must not let an invalid one through
  # (True == 1, 2.0 == 2 as dict keys; raw keys of the same shape).
  fn, keys = jax.random.normal, jaxrnn.seed_keys(0, 2)
  for ok in (1, 2):
    jaxrnn.sweep(fn, keys, batch_size=ok)
  for bad in (0, -1, 2.0, True):
    with pytest.raises(ValueError, match="batch_size"):
      jaxrnn.sweep(fn, keys, batch_size=bad)
  with pytest.raises(TypeError, match="typed PRNG keys"):
    jaxrnn.sweep(fn, jax.random.split(jax.random.PRNGKey(0), 2)[:, 0])
  for not_1d in (keys[None], keys[0]):
    with pytest.raises(ValueError, match="1-D"):
      jaxrnn.sweep(fn, not_1d)


def _huge(key, *, m):
  return jax.random.normal(key, (m, m))  # an (m, m) float32 output per seed


def test_memory_guard_refuses_a_huge_program_quickly(fresh_cache):
  keys = jaxrnn.seed_keys(0, 2)
  t0 = time.perf_counter()
  with pytest.raises(ResourceError) as info:
    jaxrnn.sweep(functools.partial(_huge, m=10**6), keys)
  elapsed = time.perf_counter() - t0
  msg = str(info.value)
  assert isinstance(info.value, MemoryError)
  assert "_huge" in msg and "TiB" in msg and "available" in msg, msg
  assert "JAXRNN_ALLOW_LARGE=1" in msg and "--allow-large" in msg, msg
  assert elapsed < 30, elapsed  # compiled, never run (4 TB per seed)


def _big_temp(key, *, m):
  x = jax.random.normal(key, (m, m))
  return jnp.sum(x @ x)  # x and x @ x: 2 MiB of temporaries per seed at m = 512


def test_memory_guard_uses_the_available_memory(fresh_cache, monkeypatch):
  # 16 seeds need ~32 MiB of temporaries at once; the host is made to report
  # 24 MiB available.
  fn = functools.partial(_big_temp, m=512)
  keys = jaxrnn.seed_keys(0, 16)
  ref = jaxrnn.sweep(fn, keys, batch_size=16)
  sweep_mod._CACHE.clear()
  monkeypatch.setattr(sweep_mod, "host_available_bytes", lambda: 24 << 20)
  plan = sweep_mod.plan(fn, keys)
  # Automatic: chunks that need at most half of it; the same numbers.
  assert plan.layout in ("chunks", "sequential"), plan
  assert 0 < plan.bytes_per_device <= 12 << 20, plan
  np.testing.assert_allclose(jaxrnn.sweep(fn, keys), ref, rtol=RTOL, atol=ATOL)
  # Asking for all 16 at once is refused, naming both sizes ...
  with pytest.raises(ResourceError, match=r"needs .*MiB per device .* only 24\.0 MiB"):
    jaxrnn.sweep(fn, keys, batch_size=16)
  # ... unless allowed, by argument or by the environment.
  np.testing.assert_array_equal(jaxrnn.sweep(fn, keys, batch_size=16, allow_large=True), ref)
  # The plan made with allow_large is cached; without it, it is refused again.
  with pytest.raises(ResourceError, match=r"only 24\.0 MiB"):
    jaxrnn.sweep(fn, keys, batch_size=16)
  sweep_mod._CACHE.clear()
  monkeypatch.setenv("JAXRNN_ALLOW_LARGE", "1")
  np.testing.assert_array_equal(jaxrnn.sweep(fn, keys, batch_size=16), ref)


def test_a_new_configuration_compiles_a_new_program(fresh_cache):
  # The compiled programs are cached with the configuration they were traced
  # under: the same function swept with and without x64 gives each its dtype.
  f = lambda key: jax.random.normal(key, (2,), dtype=jnp.float64)
  keys = jaxrnn.seed_keys(0, 3)
  with jax.enable_x64(True):
    assert jaxrnn.sweep(f, keys).dtype == np.float64
  with pytest.warns(UserWarning, match="float64"):  # JAX: not available without x64
    assert jaxrnn.sweep(f, keys).dtype == np.float32
  with jax.enable_x64(True):
    assert jaxrnn.sweep(f, keys).dtype == np.float64


def test_the_lapack_guard_finds_linalg_calls_nested_in_other_primitives():
  from jaxrnn._src.lapack_guard import uses_linalg

  eig = lambda x: jnp.linalg.eigh(x)[0]
  found = lambda f: uses_linalg(jax.make_jaxpr(f)(jnp.eye(3)))
  assert found(eig)
  assert found(lambda x: jax.jit(eig)(x))  # inside a pjit
  assert found(lambda x: jax.lax.cond(x[0, 0] > 0, eig, lambda y: y[0], x))  # a cond branch
  assert found(lambda x: jax.lax.map(lambda y: jnp.linalg.lstsq(y, y[:, 0])[0], x[None]))
  assert not found(lambda x: jax.lax.map(lambda y: jnp.sin(y) @ y, x[None]))
  assert not found(lambda x: jax.jit(lambda y: y @ y.T)(x))


def test_programs_with_lapack_calls_do_not_hang_on_as_many_cpu_devices_as_cores():
  # jaxlib < 0.11.2 splits a batched LAPACK kernel (eigh here) over XLA's pool
  # of one thread per core and waits for the pieces; with two CPU devices on
  # two cores both threads wait and the sweep hangs. sweep runs such programs
  # on at most cores - 1 devices (the same numbers), others on all of them.
  script = (
    "import functools, os, jax, jax.numpy as jnp, numpy as np, jaxrnn\n"
    "from jaxrnn._src import lapack_guard\n"
    "os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:2])\n"
    "assert len(jax.devices()) == 2\n"
    "def f(key, m):\n"
    "  a = jax.random.normal(key, (4, m, m))\n"
    "  return jnp.linalg.eigh(a @ jnp.swapaxes(a, -1, -2))[0].sum()\n"
    "fn, keys = functools.partial(f, m=64), jaxrnn.seed_keys(0, 8)\n"
    "ref = np.stack([f(k, 64) for k in keys])\n"
    "old = lapack_guard.JAXLIB < (0, 11, 2)\n"
    "assert jaxrnn.sweep_plan(fn, keys).num_devices == (1 if old else 2)\n"
    "assert jaxrnn.sweep_plan(lambda k: jax.random.normal(k), keys).num_devices == 2\n"
    "for b in (2, 1) * 15:\n"
    "  np.testing.assert_allclose(jaxrnn.sweep(fn, keys, batch_size=b), ref, rtol=1e-4)\n"
  )
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
  env["PYTHONPATH"] = os.pathsep.join([REPO, env.get("PYTHONPATH", "")])
  try:
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=240)
  except subprocess.TimeoutExpired:
    pytest.fail("sweeps of a program with LAPACK calls hung on two CPU devices")


def test_programs_with_lapack_calls_run_one_seed_at_a_time_on_a_cpu():
  # Concurrent batched eigh calls hang on one CPU device too with jaxlib <
  # 0.11.2 (16 independent eighs of 5 matrices 64 x 64 did on 2 cores, with a
  # batch of 1 they did not): sweep does not vmap such a function's seeds.
  from jaxrnn._src import lapack_guard

  def f(key):
    a = jax.random.normal(key, (64, 64))
    return sum(jnp.linalg.eigh(a @ a.T + i * jnp.eye(64))[0].sum() for i in range(16))

  keys = jaxrnn.seed_keys(0, 5)
  plan = jaxrnn.sweep_plan(f, keys)
  risk = lapack_guard.at_risk(tuple(jax.devices()))
  assert (plan.batch_size, plan.num_chunks) == ((1, 5) if risk else (5, 1)), plan
  assert jaxrnn.sweep_plan(lambda k: jax.random.normal(k, (64,)), keys).batch_size == 5
  ref = np.stack([f(k) for k in keys])
  np.testing.assert_allclose(jaxrnn.sweep(f, keys), ref, rtol=1e-5)


def test_the_library_imports_no_private_jax_module():
  # jax._src is JAX's internal API: it moves between releases.
  root = os.path.join(REPO, "jaxrnn")
  for folder, _, files in os.walk(root):
    for name in files:
      if name.endswith(".py"):
        with open(os.path.join(folder, name)) as f:
          text = f.read()
        assert "jax._src" not in text, os.path.join(folder, name)
