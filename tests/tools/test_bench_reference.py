"""The benchmarks' float64 yardstick (``benchmarks/_common.float64_rnn``,
batched, forward-mode tangent) agrees with the tests' own per-sequence
references of Def. 3.2 and Eq. (4) (``np_reference``: Back matrices), so a
benchmark that reports an error "vs float64" measures against the paper."""

import numpy as np

from benchmarks import _common as C
from benchmarks import sweeps
from tests import np_reference as ref


def test_float64_rnn_matches_the_per_sequence_references():
  rng = np.random.default_rng(3)
  m, d, L, n = 12, 5, 6, 4
  W, A = rng.normal(0, np.sqrt(2 / m), (m, m)), rng.normal(0, np.sqrt(2 / m), (m, d))
  B = rng.normal(0, np.sqrt(2), (2, m))
  dW, dA = rng.normal(size=(m, m)), rng.normal(size=(m, d))
  xs = rng.normal(size=(n, L, d))
  got = C.float64_rnn(W, A, B, xs, dW, dA)
  for i in range(n):
    np.testing.assert_allclose(got["forward"][i], ref.output(W, A, B, xs[i]), rtol=1e-12)
    np.testing.assert_allclose(
      got["pseudo"][i], ref.pseudo(W, A, B, dW, dA, xs[i]), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(got["hs"][-1][i], ref.hidden_states(W, A, xs[i])[-1], rtol=1e-12)
  assert "pseudo" not in C.float64_rnn(W, A, B, xs)


def test_sweeps_benchmark_tells_a_tie_from_a_slower_sweep():
  # The rule behind "tie" / "slower" in benchmarks/sweeps.py's verdict line,
  # on both kinds of data: a median below 1 whose rounds straddle 1, and
  # rounds that all fall short.
  assert sweeps.miss_kind([0.993, 0.992, 0.952, 1.01, 1.012], 1.0) == "tie"
  assert sweeps.miss_kind([0.95, 0.97, 0.99, 0.96, 0.98], 1.0) == "slower"
  assert sweeps.miss_kind([2.9, 3.0, 2.8], 3.0) == "tie"
