"""Training the RNN of Def. 3.2 on a formal language and scoring it per length
bin and class: a thin per-seed wrapper around ``jaxrnn._src.train``.

``train_and_score(key, ...)`` initializes (Def. 3.2), trains W and A with B
frozen (``init_and_train``, logistic loss on labels +-1, any optax
optimizer), then counts correct sign predictions of the trained RNN on a
test set split into bins (e.g. held-out strings of the training lengths and
longer strings). It is the per-seed function for ``jaxrnn.sweep``; bind the
static settings with ``functools.partial``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxrnn._src.rnn import rnn_output
from jaxrnn._src.train import init_and_train


class LanguageScore(NamedTuple):
  """Per-seed outcome of ``train_and_score`` (under ``sweep`` every leaf gets
  a leading seed axis).

  - ``correct``: (n_bins, 2) number of correctly classified test strings per
    bin, column 0 non-members, column 1 members.
  - ``total``: (n_bins, 2) number of test strings per bin and class.
  - ``train_accuracy``: sign accuracy on the (class-balanced) training array
    after training; ``train_loss``: mean minibatch loss of the last chunk.
  - ``diverged``: bool (see ``jaxrnn._src.train``).
  """

  correct: jax.Array
  total: jax.Array
  train_accuracy: jax.Array
  train_loss: jax.Array
  diverged: jax.Array


def bin_class_counts(pred: jax.Array, labels: jax.Array, bins: jax.Array,
                     n_bins: int) -> tuple[jax.Array, jax.Array]:
  """``(correct, total)``, each (n_bins, 2): per bin and class (0 = non-member,
  1 = member) the number of correct predictions and of strings. ``pred`` and
  ``labels`` are (N,) bool, ``bins`` (N,) int in [0, n_bins)."""
  seg = bins * 2 + labels.astype(jnp.int32)
  ok = (pred == labels).astype(jnp.int32)
  correct = jax.ops.segment_sum(ok, seg, num_segments=2 * n_bins)
  total = jax.ops.segment_sum(jnp.ones_like(ok), seg, num_segments=2 * n_bins)
  return correct.reshape(n_bins, 2), total.reshape(n_bins, 2)


def train_and_score(key: jax.Array, xs: jax.Array, ys: jax.Array,
                    test_xs: jax.Array, test_labels: jax.Array,
                    test_bins: jax.Array, *, n_bins: int, m: int, optimizer,
                    steps: int, batch_size: int, scale=1.0) -> LanguageScore:
  """Init (Def. 3.2), train W, A with B frozen, score per bin and class.

  **Arguments:**

  - ``key``: PRNG key (initialization and minibatches).
  - ``xs``: (N, T, d) encoded training strings; ``ys``: (N,) labels +-1.
  - ``test_xs``: (N_test, T', d) encoded test strings (any T'; left zero
    padding is exact for the RNN); ``test_labels`` (N_test,) bool;
    ``test_bins`` (N_test,) int in [0, n_bins).
  - ``n_bins``, ``m``, ``optimizer`` (optax), ``steps``, ``batch_size``:
    static settings; ``scale``: the lambda of Sec. 3.3.

  **Returns:** ``LanguageScore``. Cost: ``steps * batch_size`` forward and
  backward passes of length T plus N + N_test forward passes, O(T m^2) each.
  """
  res = init_and_train(key, xs, ys, m=m, optimizer=optimizer, steps=steps,
                       batch_size=batch_size, loss="logistic", scale=scale,
                       eval_every=steps)
  z = jax.vmap(rnn_output, in_axes=(None, 0))(res.params, test_xs)[:, 0]
  correct, total = bin_class_counts(z >= 0, test_labels, test_bins, n_bins)
  return LanguageScore(correct, total, res.eval_accuracy[-1], res.train_loss[-1],
                       res.diverged)
