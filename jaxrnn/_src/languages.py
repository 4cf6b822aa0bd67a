"""Formal languages over {0, 1} as explicit DFAs, batch membership, data sets
and token encodings (Sec. 5 of the paper).

Every language is a deterministic finite automaton ``DFA(transitions, start,
accepting, description)`` with ``transitions[q, b]`` the state after reading
bit ``b`` in state ``q``. The ten languages of the experiments:

============  ================================================================
name          strings accepted (plain words)
============  ================================================================
parity        an odd number of 1s (PARITY of Sec. 5)
one_one       exactly one 1 (D_L1 of Sec. 5)
contains:p    ``p`` (a 0/1 word) occurs as a contiguous substring
tomita1       1*  (no 0 at all)
tomita2       (10)*
tomita3       no odd-length run of 1s is followed, anywhere later, by an
              odd-length run of 0s (runs are maximal blocks)
tomita4       no three consecutive 0s (no substring 000)
tomita5       an even number of 0s and an even number of 1s
tomita6       #0 - #1 is divisible by 3
tomita7       0*1*0*1*
============  ================================================================

Choices where public code disagrees (Tomita 1982 gives the languages in
words only):

- **Tomita 3.** "Any string without an odd number of consecutive 0s *after*
  an odd number of consecutive 1s" is read with "after" meaning *anywhere
  later*, not *immediately after*: Tomita's wording says "after", not
  "immediately after", and this is the reading of the widely used reference
  implementation of Weiss, Goldberg & Yahav (ICML 2018, "Extracting automata
  from recurrent neural networks") and of AALpy's Tomita benchmark. The two
  readings differ first on strings such as ``0111001101`` (runs 111, 00, 11,
  0: the odd run 0 comes after the odd run 111, but immediately after the
  even run 11), rejected here. A run counts once it is maximal, including
  a final run of 0s at the end of the string ("10" is rejected). Both
  readings have 5-state minimal DFAs.
- **Tomita 6.** ``(#0 - #1) mod 3 == 0``, Tomita's definition; some code
  uses mod 5 by mistake.
- The empty string is a legal input (accepted by tomita1-7, rejected by
  parity, one_one and every non-empty pattern).

Batches of strings of different lengths are stored as (N, T) int arrays with
``-1`` for "no symbol" (padding); ``batch_accepts`` skips those entries, so
left padding (the layout of this module) and right padding both work.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxrnn._src import arguments
from jaxrnn._src.inputs import normalize_sequence

PAD = -1

TOMITA_NAMES = tuple(f"tomita{i}" for i in range(1, 8))
LANGUAGE_NAMES = ("parity", "one_one") + TOMITA_NAMES


class DFA(NamedTuple):
  """A complete DFA over {0, 1}.

  - ``transitions``: (S, 2) int32 NumPy array, ``transitions[q, b]`` is the
    next state.
  - ``start``: start state (int).
  - ``accepting``: (S,) bool NumPy array.
  - ``description``: the language in plain words.
  """

  transitions: np.ndarray
  start: int
  accepting: np.ndarray
  description: str

  @property
  def num_states(self) -> int:
    return self.transitions.shape[0]

  def complement(self) -> DFA:
    """The DFA of the complement language (accepting states flipped)."""
    return DFA(self.transitions, self.start, ~self.accepting, "not (" + self.description + ")")


def _dfa(table, start, accepting, description) -> DFA:
  t = np.asarray(table, dtype=np.int32)
  acc = np.zeros(t.shape[0], dtype=bool)
  acc[list(accepting)] = True
  return DFA(t, int(start), acc, description)


def _contains_dfa(pattern: str) -> DFA:
  """Knuth-Morris-Pratt automaton for "contains ``pattern``": state q < k
  is the length of the longest prefix of the pattern that is a suffix of the
  input read so far; state k (pattern seen) is absorbing and accepting."""
  k = len(pattern)
  table = np.zeros((k + 1, 2), dtype=np.int32)
  for q in range(k):
    for b in (0, 1):
      s = pattern[:q] + str(b)
      j = min(k, len(s))
      while j > 0 and s[len(s) - j :] != pattern[:j]:
        j -= 1
      table[q, b] = j
  table[k] = k
  return _dfa(table, 0, [k], f"contains {pattern!r} as a substring")


#: Longest pattern of ``"contains:<pattern>"`` (building its automaton costs
#: O(len^3) string operations).
MAX_PATTERN = 256


def _as_pattern(pattern: str) -> str:
  if not isinstance(pattern, str) or set(pattern) - {"0", "1"}:
    raise ValueError(f"pattern of 'contains:' must be a string of '0'/'1', got {pattern!r}")
  if not 1 <= len(pattern) <= MAX_PATTERN:
    shown = pattern if len(pattern) <= 20 else pattern[:17] + "..."
    raise ValueError(
      f"pattern of 'contains:' must hold 1 to {MAX_PATTERN} bits, got {len(pattern)} "
      f"('contains:{shown}')"
    )
  return pattern


@functools.cache
def get_dfa(name: str) -> DFA:
  """The DFA of the language ``name`` (see the module docstring).

  Raises ``ValueError`` naming ``name`` if it is unknown.

  Example::

    >>> from jaxrnn._src.languages import get_dfa
    >>> get_dfa("tomita4").num_states
    4
  """
  if not isinstance(name, str):
    raise ValueError(f"unknown language {name!r}: names are strings")
  if name.startswith("contains:"):
    return _contains_dfa(_as_pattern(name[len("contains:") :]))
  if name == "parity":
    # q = number of 1s mod 2.
    return _dfa([[0, 1], [1, 0]], 0, [1], "an odd number of 1s (PARITY)")
  if name == "one_one":
    # q = min(number of 1s, 2).
    return _dfa([[0, 1], [1, 2], [2, 2]], 0, [1], "exactly one 1 (D_L1)")
  if name == "tomita1":
    # 0: only 1s so far; 1: dead.
    return _dfa([[1, 0], [1, 1]], 0, [0], "1* (no 0)")
  if name == "tomita2":
    # 0: in (10)* (expects 1); 1: read '1' (expects 0); 2: dead.
    return _dfa([[2, 1], [0, 2], [2, 2]], 0, [0], "(10)*")
  if name == "tomita3":
    # 0: no odd 1-run completed yet, not inside an odd 1-run
    # 1: inside a 1-run of odd length, no odd 1-run completed before
    # 2: an odd 1-run was completed; now inside a 0-run of odd length
    # 3: an odd 1-run was completed; inside a 1-run or an even 0-run
    # 4: dead (an odd 0-run ended after an odd 1-run).
    # State 2 is rejecting because the string may end there (the run is then
    # complete); reading 1 from it is fatal, reading 0 makes the run even.
    table = [
      [0, 1],  # 0
      [2, 0],  # 1: 0 completes an odd 1-run; 1 makes it even
      [3, 4],  # 2
      [2, 3],  # 3: a 0 starts/extends a 0-run (odd after even)
      [4, 4],
    ]  # 4
    return _dfa(
      table, 0, [0, 1, 3], "no odd run of 1s followed (anywhere later) by an odd run of 0s"
    )
  if name == "tomita4":
    # q = length of the current trailing run of 0s (capped), 3 = dead.
    return _dfa([[1, 0], [2, 0], [3, 0], [3, 3]], 0, [0, 1, 2], "no 000")
  if name == "tomita5":
    # q = 2 * (#0 mod 2) + (#1 mod 2).
    return _dfa(
      [[2, 1], [3, 0], [0, 3], [1, 2]], 0, [0], "an even number of 0s and an even number of 1s"
    )
  if name == "tomita6":
    # q = (#0 - #1) mod 3.
    return _dfa([[1, 2], [2, 0], [0, 1]], 0, [0], "#0 - #1 divisible by 3")
  if name == "tomita7":
    # q = number of blocks of 0*1*0*1* entered; 4 = dead.
    return _dfa([[0, 1], [2, 1], [2, 3], [4, 3], [4, 4]], 0, [0, 1, 2, 3], "0*1*0*1*")
  raise ValueError(
    f"unknown language {name!r}: expected one of {', '.join(LANGUAGE_NAMES)} "
    "or 'contains:<pattern>'"
  )


def describe(name: str) -> str:
  """The plain-words definition of ``name``."""
  return get_dfa(name).description


# --------------------------------------------------------------------------
# Membership


def _run(transitions, start, bits):
  def step(q, b):
    nxt = transitions[q, jnp.clip(b, 0, 1)]
    return jnp.where(b >= 0, nxt, q), None

  q, _ = lax.scan(step, jnp.asarray(start, jnp.int32), bits)
  return q


def final_state(dfa: DFA, bits: jax.Array) -> jax.Array:
  """The state of ``dfa`` after reading one string ``bits`` (T,) int, entries
  in {0, 1} or ``-1`` (skipped). Jit- and vmap-able; cost O(T)."""
  return _run(jnp.asarray(dfa.transitions), dfa.start, jnp.asarray(bits, jnp.int32))


@jax.jit
def _batch_accepts(transitions, start, accepting, bits):
  q = jax.vmap(_run, in_axes=(None, None, 0))(transitions, start, bits)
  return accepting[q]


def _check_bit_values(bits) -> None:
  """Concrete bits must be 0, 1 or -1 (padding); a traced batch is taken as
  given (a value check cannot run under jit)."""
  if not arguments.is_concrete(bits):
    return
  arr = np.asarray(bits)
  bad = (arr != 0) & (arr != 1) & (arr != PAD)
  if bad.any():
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    raise ValueError(f"bits must hold 0, 1 or {PAD} (padding), got {int(arr[idx])} at index {idx}")


def batch_accepts(name_or_dfa: str | DFA, bits: jax.typing.ArrayLike) -> jax.Array:
  """Membership of a batch of strings: ``bits`` (N, T) int with entries in
  {0, 1} and ``-1`` for padding (skipped) -> (N,) bool. Any other value
  raises ``ValueError`` when ``bits`` is concrete; under ``jit`` values are
  not checked (entries above 1 would read as 1, below -1 as padding).

  One ``lax.scan`` over T steps, vmapped over N; the DFA tables are
  arguments, so all languages share one compilation per shape. Cost O(N T).

  Example::

    >>> import numpy as np
    >>> from jaxrnn._src.languages import batch_accepts
    >>> batch_accepts("one_one", np.array([[0, 1, 0], [-1, 1, 1], [-1, -1, 0]]))
    Array([ True, False, False], dtype=bool)
  """
  dfa = name_or_dfa if isinstance(name_or_dfa, DFA) else get_dfa(name_or_dfa)
  bits = jnp.asarray(bits)
  if bits.ndim != 2:
    raise ValueError(f"bits must have shape (N, T), got {bits.shape}")
  if not jnp.issubdtype(bits.dtype, jnp.integer):
    raise TypeError(f"bits must be an integer array, got dtype {bits.dtype}")
  _check_bit_values(bits)
  return _batch_accepts(
    jnp.asarray(dfa.transitions),
    jnp.asarray(dfa.start, jnp.int32),
    jnp.asarray(dfa.accepting),
    bits.astype(jnp.int32),
  )


def as_bits(bits: str | np.typing.ArrayLike) -> np.ndarray:
  """One string as a 1-D int32 NumPy array; accepts a str of '0'/'1' or a 1-D
  integer array with entries in {0, 1}. ``ValueError`` otherwise."""
  if isinstance(bits, str):
    if set(bits) - {"0", "1"}:
      raise ValueError(f"bits must contain only '0' and '1', got {bits!r}")
    return np.array([int(c) for c in bits], dtype=np.int32)
  arr = np.asarray(bits)
  if arr.ndim != 1:
    raise ValueError(f"bits must be a 1-D array or a str, got shape {arr.shape}")
  if arr.size and (arr.dtype.kind not in "iub" or not np.all((arr == 0) | (arr == 1))):
    if arr.dtype.kind == "f" and np.all((arr == 0) | (arr == 1)):
      return arr.astype(np.int32)
    raise ValueError("bits must contain only 0 and 1")
  return arr.astype(np.int32)


def accepts(name: str, bits: str | np.typing.ArrayLike) -> bool:
  """Membership of one 0/1 string in the language ``name``.

  **Arguments:**

  - ``name``: ``"parity"`` (odd number of 1s), ``"one_one"`` (exactly one 1,
    D_L1), ``"tomita1"`` ... ``"tomita7"``, or ``"contains:<pattern>"``
    (``<pattern>`` a 0/1 word occurring as a substring). Unknown names raise
    ``ValueError`` naming them.
  - ``bits``: a 1-D integer array with entries in {0, 1}, or a str of '0'/'1'.

  **Returns:** ``bool``. Runs the language's DFA (``get_dfa(name)``) on the
  host; for batches use ``batch_accepts``.

  Example::

    >>> from jaxrnn import languages
    >>> languages.accepts("tomita3", "1011"), languages.accepts("parity", [1, 0, 0])
    (False, True)
  """
  dfa = get_dfa(name)
  q = dfa.start
  for b in as_bits(bits):
    q = int(dfa.transitions[q, b])
  return bool(dfa.accepting[q])


# --------------------------------------------------------------------------
# Strings and data sets


def all_strings(length: int) -> np.ndarray:
  """All 2^length strings of a length, (2^length, length) int32, in
  lexicographic order (row i is i written in binary)."""
  if not isinstance(length, (int, np.integer)) or length < 0:
    raise ValueError(f"length must be a non-negative int, got {length!r}")
  if length > 24:
    raise ValueError(f"length {length} is too long to enumerate (2^{length} strings)")
  idx = np.arange(2**length, dtype=np.int64)[:, None]
  shifts = np.arange(length - 1, -1, -1, dtype=np.int64)[None, :]
  return ((idx >> shifts) & 1).astype(np.int32)


def pad_left(strings: Sequence[np.ndarray], width: int) -> np.ndarray:
  """Stacks 1-D bit arrays into (N, width), left-padded with ``PAD`` (-1):
  the batch format that ``batch_accepts``, ``encode_batch`` and the data
  sets use for strings of mixed lengths."""
  out = np.full((len(strings), width), PAD, dtype=np.int32)
  for i, s in enumerate(strings):
    if len(s) > width:
      raise ValueError(f"string {i} has length {len(s)} > width {width}")
    if len(s):
      out[i, width - len(s) :] = s
  return out


def lengths_of(bits: np.typing.ArrayLike) -> np.ndarray:
  """Number of non-padding entries per row of a (N, T) batch."""
  return np.sum(np.asarray(bits) >= 0, axis=1)


def exhaustive_strings(lengths: Sequence[int], width: int | None = None) -> np.ndarray:
  """Every string whose length is in ``lengths``, as a left-padded (N, width)
  batch (width defaults to the largest length), shorter lengths first."""
  lengths = sorted(set(int(n) for n in lengths))
  width = max(lengths) if width is None else width
  blocks = []
  for n in lengths:
    s = all_strings(n)
    block = np.full((s.shape[0], width), PAD, dtype=np.int32)
    if n:
      block[:, width - n :] = s
    blocks.append(block)
  return np.concatenate(blocks, axis=0)


def log_counts(dfa: DFA, max_remaining: int) -> np.ndarray:
  """``log_counts[k, q]`` = log of the number of strings of length k that
  lead from state q to an accepting state (-inf if none); (max_remaining+1,
  S) float64. Dynamic programming over the DFA, O(max_remaining * S)."""
  t = dfa.transitions
  c = np.where(dfa.accepting, 0.0, -np.inf)
  out = [c]
  for _ in range(max_remaining):
    c = np.logaddexp(c[t[:, 0]], c[t[:, 1]])
    out.append(c)
  return np.stack(out)


def count_members(name_or_dfa: str | DFA, length: int) -> int:
  """Exact number of strings of ``length`` in the language (integer DP)."""
  dfa = name_or_dfa if isinstance(name_or_dfa, DFA) else get_dfa(name_or_dfa)
  c = [int(a) for a in dfa.accepting]
  t = dfa.transitions
  for _ in range(length):
    c = [c[t[q, 0]] + c[t[q, 1]] for q in range(dfa.num_states)]
  return c[dfa.start]


def _sample_one(key, length, logc, transitions, start, width):
  """One string of ``length`` (traced int) uniform among those accepted by
  the DFA whose completion log-counts are ``logc``; left-padded to width."""
  keys = jax.random.split(key, width)

  def step(q, inputs):
    t, k = inputs
    active = t >= width - length
    remaining = width - 1 - t
    nxt0, nxt1 = transitions[q, 0], transitions[q, 1]
    l0, l1 = logc[remaining, nxt0], logc[remaining, nxt1]
    p1 = jnp.exp(l1 - jnp.logaddexp(l0, l1))
    b = (jax.random.uniform(k) < p1).astype(jnp.int32)
    q_new = jnp.where(b == 1, nxt1, nxt0)
    return jnp.where(active, q_new, q), jnp.where(active, b, PAD)

  _, bits = lax.scan(step, jnp.asarray(start, jnp.int32), (jnp.arange(width), keys))
  return bits


# ``jax.random.permutation(key, n)`` sorts ``arange(n)`` by 32-bit random keys
# in ceil(3 log n / log(2^32 - 1)) rounds: one round up to n = 1625. With
# threefry's partitionable bits (JAX's default) the keys of ``arange(n)`` are
# the first n keys of ``arange(N)``, and the sort is stable, so for n <= N <=
# 1625 the permutation of n is that of N with the entries >= n dropped.
# ``_permutation`` uses this to share one compiled program among the sizes of
# a bucket (powers of two up to 1024, then 1625) instead of one per size.
_ONE_ROUND_MAX = 1625


def _permutation_bucket(n: int) -> int | None:
  """The size whose permutation gives that of ``n``; None if none is known."""
  if n > _ONE_ROUND_MAX:
    return None
  b = 1 << max(0, (n - 1).bit_length())
  return b if b <= _ONE_ROUND_MAX else _ONE_ROUND_MAX


def _permutation(key: jax.Array, n: int) -> np.ndarray:
  """``np.asarray(jax.random.permutation(key, n))``, exactly, compiled once
  per size bucket (see above); other sizes, key implementations or threefry
  settings call ``jax.random.permutation`` itself."""
  b = _permutation_bucket(n)
  if (
    b is None
    or b == n
    or not jax.config.jax_threefry_partitionable
    or str(jax.random.key_impl(key)) != "threefry2x32"
  ):
    return np.asarray(jax.random.permutation(key, n))
  p = np.asarray(jax.random.permutation(key, b))
  return p[p < n]


@functools.partial(jax.jit, static_argnames=("n", "width"))
def _sample_batch(key, lengths_avail, num_avail, logc, transitions, start, *, n, width):
  # ``jax.random.choice(k_len, lengths_avail[:num_avail], (n,))`` (a randint
  # into the first num_avail entries), with the count traced: every class and
  # bin of one language shares one program whatever lengths are empty.
  k_len, k_str = jax.random.split(key)
  lengths = lengths_avail[jax.random.randint(k_len, (n,), 0, num_avail)]
  return jax.vmap(_sample_one, in_axes=(0, 0, None, None, None, None))(
    jax.random.split(k_str, n), lengths, logc, transitions, start, width
  )


def sample_class(
  key: jax.Array,
  name_or_dfa: str | DFA,
  n: int,
  lengths: Sequence[int],
  *,
  member: bool = True,
  width: int | None = None,
) -> np.ndarray:
  """``n`` strings drawn i.i.d. from one class of a language.

  Each draw picks a length uniformly among the ``lengths`` at which the class
  (members if ``member`` else non-members) is non-empty, then a string
  uniformly among the class's strings of that length, exactly: bit by bit,
  with probabilities proportional to the number of accepted completions
  (``log_counts``), so rare classes (e.g. tomita1's single member per
  length) are sampled as easily as common ones. Jitted; cost O(n * width).

  **Returns:** (n, width) int32 left-padded with ``-1``. ``ValueError`` if
  the class is empty at every requested length.
  """
  dfa = name_or_dfa if isinstance(name_or_dfa, DFA) else get_dfa(name_or_dfa)
  if not member:
    dfa = dfa.complement()
  lengths = sorted(set(int(x) for x in lengths))
  width = max(lengths) if width is None else int(width)
  logc = log_counts(dfa, width)
  avail = [x for x in lengths if np.isfinite(logc[x, dfa.start])]
  if not avail:
    raise ValueError(f"the language class ({dfa.description}) is empty at lengths {lengths}")
  padded = avail + [avail[-1]] * (len(lengths) - len(avail))
  out = _sample_batch(
    key,
    jnp.asarray(padded, jnp.int32),
    jnp.asarray(len(avail), jnp.int32),
    jnp.asarray(logc, jnp.float32),
    jnp.asarray(dfa.transitions),
    jnp.asarray(dfa.start, jnp.int32),
    n=int(n),
    width=width,
  )
  return np.asarray(out)


def balanced_sample(
  key: jax.Array, name: str, n: int, lengths: Sequence[int], *, width: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
  """A class-balanced sample: ``n // 2`` members and ``n - n // 2``
  non-members (see ``sample_class``), shuffled.

  **Returns:** ``(bits (n, width) int32, labels (n,) bool)``.
  """
  kp, kn, ks = jax.random.split(key, 3)
  width = max(lengths) if width is None else width
  pos = sample_class(kp, name, n // 2, lengths, member=True, width=width)
  neg = sample_class(kn, name, n - n // 2, lengths, member=False, width=width)
  bits = np.concatenate([pos, neg])
  labels = np.concatenate([np.ones(len(pos), bool), np.zeros(len(neg), bool)])
  perm = _permutation(ks, n)
  return bits[perm], labels[perm]


def _row_keys(bits: np.ndarray) -> list[bytes]:
  return [r.tobytes() for r in np.ascontiguousarray(bits, dtype=np.int32)]


class Split(NamedTuple):
  """A train/test split of one language.

  - ``train_bits`` (N_train, T_train), ``train_labels`` (N_train,) bool:
    distinct strings.
  - ``test_bits`` (N_test, T_test), ``test_labels`` (N_test,) bool,
    ``test_bin`` (N_test,) int: bin 0 is held out at the training lengths;
    bin j >= 1 is the j-th range of ``test_lengths``. No test string occurs
    in the training set.
  - ``bin_names``: tuple of str, one per bin (e.g. "1-10 (held out)").
  """

  train_bits: np.ndarray
  train_labels: np.ndarray
  test_bits: np.ndarray
  test_labels: np.ndarray
  test_bin: np.ndarray
  bin_names: tuple


def make_split(
  key: jax.Array,
  name: str,
  train_lengths: tuple[int, int],
  test_lengths: Sequence[tuple[int, int]],
  *,
  n_test: int = 256,
  test_fraction: float = 0.2,
  max_exhaustive: int = 2**15,
  n_train_sampled: int = 4096,
) -> Split:
  """Train and test data for one language.

  Training strings have every length in ``train_lengths = (lo, hi)``
  (inclusive). If there are at most ``max_exhaustive`` of them, the data set
  is *exhaustive*: all of them, labeled by the DFA, a random
  ``test_fraction`` held out (stratified, see below) as test bin 0 (held-out strings of the training
  lengths). Otherwise ``n_train_sampled`` class-balanced strings are drawn
  (``balanced_sample``), duplicates removed, and ``test_fraction`` of the
  distinct ones held out. Each range ``(lo, hi)`` of ``test_lengths`` (meant
  to be longer than training) gives a test bin of ``n_test`` class-balanced
  strings; any that also occurs in the training set is dropped (impossible
  when the range is longer than ``hi``), so train and test never overlap.

  The split sizes depend only on the lengths and the fractions, not on the
  language, so several languages can share one compiled training program.
  The hold-out is stratified: ``round(test_fraction * #members)`` members
  are held out (so rare members, e.g. tomita2's one per even length, are
  split like the rest) and non-members make up the rest.

  **Returns:** a ``Split`` (host NumPy arrays, left-padded with ``-1``).
  """
  lo, hi = int(train_lengths[0]), int(train_lengths[1])
  if not 0 <= lo <= hi:
    raise ValueError(f"train_lengths must be (lo, hi) with 0 <= lo <= hi, got {train_lengths}")
  if not 0 < test_fraction < 1:
    raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
  dfa = get_dfa(name)
  k_train, k_perm, k_test = jax.random.split(key, 3)
  total = sum(2**n for n in range(lo, hi + 1))
  if total <= max_exhaustive:
    pool = exhaustive_strings(range(lo, hi + 1), hi)
  else:
    pool, _ = balanced_sample(k_train, name, n_train_sampled, range(lo, hi + 1), width=hi)
    pool = np.unique(pool, axis=0)
  labels = np.asarray(batch_accepts(dfa, pool))
  # Stratified hold-out with a total that does not depend on the language:
  # round(f * #members) members, the rest of round(f * N) non-members.
  n_held = int(round(test_fraction * pool.shape[0]))
  pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
  kp, kn = jax.random.split(k_perm)
  pos = pos[_permutation(kp, len(pos))] if len(pos) else pos
  neg = neg[_permutation(kn, len(neg))] if len(neg) else neg
  h_pos = min(int(round(test_fraction * len(pos))), n_held)
  h_neg = min(n_held - h_pos, len(neg))
  h_pos = n_held - h_neg
  held = np.sort(np.concatenate([pos[:h_pos], neg[:h_neg]]))
  kept = np.sort(np.concatenate([pos[h_pos:], neg[h_neg:]]))
  train_bits, train_labels = pool[kept], labels[kept]
  width = max([hi] + [int(b) for _, b in test_lengths])
  test_bits = [pad_left([r[r >= 0] for r in pool[held]], width)]
  test_labels = [labels[held]]
  test_bin = [np.zeros(n_held, np.int32)]
  names = [f"{lo}-{hi} (held out)"]
  train_keys = set(_row_keys(pad_left([r[r >= 0] for r in train_bits], width)))
  for j, (a, b) in enumerate(test_lengths, start=1):
    bits, lab = balanced_sample(
      jax.random.fold_in(k_test, j), name, n_test, range(int(a), int(b) + 1), width=width
    )
    keep = np.array([k not in train_keys for k in _row_keys(bits)], dtype=bool)
    test_bits.append(bits[keep])
    test_labels.append(lab[keep])
    test_bin.append(np.full(int(keep.sum()), j, np.int32))
    names.append(f"{a}-{b}")
  return Split(
    train_bits,
    train_labels,
    np.concatenate(test_bits),
    np.concatenate(test_labels),
    np.concatenate(test_bin),
    tuple(names),
  )


def balanced_oversample(
  bits: np.ndarray, labels: np.ndarray, size: int, key: jax.Array
) -> tuple[np.ndarray, np.ndarray]:
  """A class-balanced training array of ``size`` rows from distinct strings.

  Half the rows cycle through the (shuffled) members, half through the
  non-members, so with ``size >= 2 * max(#members, #non-members)`` every
  distinct string appears at least once and each class has half the weight
  (uniform minibatches of the result are then class-balanced in
  expectation). If a class is empty, all rows come from the other one.
  """
  pos, neg = np.flatnonzero(labels), np.flatnonzero(~labels)
  k1, k2 = jax.random.split(key)
  pos = pos[_permutation(k1, len(pos))] if len(pos) else pos
  neg = neg[_permutation(k2, len(neg))] if len(neg) else neg
  if not len(pos) and not len(neg):
    raise ValueError("no strings to sample from")
  n_pos = size // 2 if len(pos) and len(neg) else (size if len(pos) else 0)
  idx = np.concatenate(
    [
      pos[np.arange(n_pos) % max(len(pos), 1)] if n_pos else pos[:0],
      neg[np.arange(size - n_pos) % max(len(neg), 1)] if size - n_pos else neg[:0],
    ]
  )
  return bits[idx], labels[idx]


# --------------------------------------------------------------------------
# Encodings


ENCODINGS = ("normalized", "onehot")


def bit_tokens(d: int, dtype: jax.typing.DTypeLike = jnp.float32) -> jax.Array:
  """The true tokens of bits 0 and 1 for Def. 3.1: (2, d-1) rows on the unit
  sphere S^{d-2} with last entry 1/2, ``xbar(b) = ((2b-1) sqrt(3)/2, 0, ...,
  0, 1/2)``: the two points of the sphere's slice {last entry = 1/2} on the
  first axis, as far apart as the slice allows (distance sqrt(3))."""
  if d < 3:
    raise ValueError(f"d must be at least 3 for normalized tokens, got {d}")
  r = jnp.sqrt(jnp.asarray(0.75, dtype))
  tok = jnp.zeros((2, d - 1), dtype).at[:, -1].set(0.5)
  return tok.at[0, 0].set(-r).at[1, 0].set(r)


def encode(
  bits: jax.Array,
  *,
  encoding: str = "normalized",
  d: int = 3,
  eps_x: float | jax.Array = 0.5,
  dtype: jax.typing.DTypeLike = jnp.float32,
) -> jax.Array:
  """Encodes one left-padded string (T,) (entries 0/1, ``-1`` padding) as an
  RNN input sequence.

  - ``"normalized"`` (the paper's Sec. 5 setting): each bit becomes the
    true token ``bit_tokens(d)[b]`` on S^{d-2}, the n = len tokens are
    normalized by Def. 3.1 (``jaxrnn.normalize_sequence``: bias tokens
    ``(0, ..., 0, 1)`` before and after, middle tokens scaled by
    ``eps_x``). Output (T + 2, d); the n + 2 rows of the normalized
    sequence are the *last* n + 2 rows and earlier rows are 0.
  - ``"onehot"``: bit b becomes the unit vector e_b of R^d (d >= 2), no bias
    tokens. Output (T, d), padding rows 0.

  Zero rows before the sequence do not change the RNN: with h^(0) = 0 and
  x = 0 the cell gives relu(0) = 0, so the hidden state entering the real
  sequence is still 0 and ``rnn_output`` of the padded input equals that of
  the unpadded one exactly. This lets strings of different lengths share
  one batch. Jit- and vmap-able.
  """
  bits = jnp.asarray(bits, jnp.int32)
  T = bits.shape[0]
  valid = bits >= 0
  b = jnp.clip(bits, 0, 1)
  if encoding == "normalized":
    xbar = bit_tokens(d, dtype)[b]  # (T, d-1)
    full = normalize_sequence(xbar, eps_x)  # (T+2, d)
    n = jnp.sum(valid)
    rows = jnp.arange(T + 2)
    first = T - n  # row of the first bias token
    bias = jnp.zeros((d,), dtype).at[-1].set(1)
    out = jnp.where((rows < first)[:, None], jnp.zeros((), dtype), full)
    return jnp.where((rows == first)[:, None], bias[None, :], out)
  if encoding == "onehot":
    if d < 2:
      raise ValueError(f"d must be at least 2 for one-hot tokens, got {d}")
    return jax.nn.one_hot(b, d, dtype=dtype) * valid[:, None].astype(dtype)
  raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def encode_batch(
  bits: jax.typing.ArrayLike,
  *,
  encoding: str = "normalized",
  d: int = 3,
  eps_x: float | jax.Array = 0.5,
  dtype: jax.typing.DTypeLike = jnp.float32,
) -> jax.Array:
  """``encode`` vmapped over a (N, T) batch: (N, T + 2, d) or (N, T, d)."""
  if encoding not in ENCODINGS:
    raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
  f = functools.partial(encode, encoding=encoding, d=d, eps_x=eps_x, dtype=dtype)
  return jax.vmap(f)(jnp.asarray(bits, jnp.int32))


def bin_class_counts(
  pred: jax.Array, labels: jax.Array, bins: jax.Array, n_bins: int
) -> tuple[jax.Array, jax.Array]:
  """Correct predictions per bin and class, for class-balanced accuracy.

  **Arguments:** ``pred`` and ``labels`` (N,) bool (True = member);
  ``bins`` (N,) int in [0, n_bins), e.g. a length bin per string;
  ``n_bins`` static.

  **Returns:** ``(correct, total)``, each (n_bins, 2) int: column 0
  non-members, column 1 members. Jit-able; O(N).

  Example::

    >>> import jax.numpy as jnp
    >>> from jaxrnn.languages import bin_class_counts
    >>> c, t = bin_class_counts(jnp.array([True, False, True]), jnp.array([True, True, False]),
    ...                         jnp.array([0, 0, 1]), 2)
    >>> c.tolist(), t.tolist()
    ([[0, 1], [0, 0]], [[0, 2], [1, 0]])
  """
  seg = bins * 2 + labels.astype(jnp.int32)
  ok = (pred == labels).astype(jnp.int32)
  correct = jax.ops.segment_sum(ok, seg, num_segments=2 * n_bins)
  total = jax.ops.segment_sum(jnp.ones_like(ok), seg, num_segments=2 * n_bins)
  return correct.reshape(n_bins, 2), total.reshape(n_bins, 2)
