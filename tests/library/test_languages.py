"""Languages, data sets and encodings (Sec. 5) against independent references.

The references below are written from the plain-words definitions with
regular expressions and counting; none of them uses a DFA or jaxrnn code.
"""

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxrnn
from jaxrnn import languages as L
from jaxrnn._src.languages import lengths_of


def _runs(s):
  return [(m.group()[0], len(m.group())) for m in re.finditer(r"0+|1+", s)]


def _tomita3_later(s):
  """No odd run of 1s followed anywhere later by an odd run of 0s."""
  seen_odd_ones = False
  for c, n in _runs(s):
    if c == "0" and n % 2 == 1 and seen_odd_ones:
      return False
    if c == "1" and n % 2 == 1:
      seen_odd_ones = True
  return True


def _tomita3_immediately(s):
  """The other reading: an odd run of 1s immediately followed by an odd run
  of 0s."""
  r = _runs(s)
  return not any(c1 == "1" and n1 % 2 and n2 % 2 for (c1, n1), (_, n2) in zip(r, r[1:]))


REFERENCE = {
  "parity": lambda s: s.count("1") % 2 == 1,
  "one_one": lambda s: s.count("1") == 1,
  "tomita1": lambda s: re.fullmatch(r"1*", s) is not None,
  "tomita2": lambda s: re.fullmatch(r"(10)*", s) is not None,
  "tomita3": _tomita3_later,
  "tomita4": lambda s: "000" not in s,
  "tomita5": lambda s: s.count("0") % 2 == 0 and s.count("1") % 2 == 0,
  "tomita6": lambda s: (s.count("0") - s.count("1")) % 3 == 0,
  "tomita7": lambda s: re.fullmatch(r"0*1*0*1*", s) is not None,
  "contains:0110": lambda s: "0110" in s,
  "contains:101": lambda s: "101" in s,
  "contains:1": lambda s: "1" in s,
  "contains:0000": lambda s: "0000" in s,
}

MAX_LEN = 12
ALL = ["".join(t) for n in range(MAX_LEN + 1) for t in itertools.product("01", repeat=n)]
BATCH = L.pad_left([np.array([int(c) for c in s], np.int32) for s in ALL], MAX_LEN)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_batch_membership_matches_reference_up_to_length_12(name):
  expected = np.array([REFERENCE[name](s) for s in ALL])
  got = np.asarray(L.batch_accepts(name, BATCH))
  bad = [s for s, e, g in zip(ALL, expected, got) if e != g]
  assert not bad, f"{name}: {len(bad)} mismatches, first {bad[:5]}"


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_accepts_matches_reference(name):
  # Host-side accepts on every string up to length 9 (str input) and on a
  # subset of length 12 (array input).
  for s in ALL[: 2**10 - 1]:
    assert L.accepts(name, s) == REFERENCE[name](s), (name, s)
  for s in ALL[-4096::37]:
    assert L.accepts(name, np.array([int(c) for c in s])) == REFERENCE[name](s), (name, s)


def test_tomita3_reading_is_anywhere_later():
  # The two readings disagree on 327 strings up to length 12; the library
  # must side with "anywhere later" on every one of them (a library on the
  # "immediately after" reading fails here).
  disagree = [s for s in ALL if _tomita3_later(s) != _tomita3_immediately(s)]
  assert len(disagree) == 327
  got = np.asarray(L.batch_accepts("tomita3", L.pad_left([L.as_bits(s) for s in disagree], 12)))
  assert got.tolist() == [_tomita3_later(s) for s in disagree]
  # Strings that separate the readings: odd 0-run after an odd 1-run, but
  # not immediately after it.
  for s in ("0111001101", "11011100110", "100110", "1100100110"):
    assert not L.accepts("tomita3", s) and _tomita3_immediately(s), s
  for s in (
    "",
    "0",
    "1",
    "11",
    "00",
    "100",
    "110",
    "111",
    "000",
    "100100",
    "110000011100001",
    "111101100010011100",
  ):
    assert L.accepts("tomita3", s), s
  for s in ("10", "101", "010", "1010", "1110", "1011", "10001", "111010"):
    assert not L.accepts("tomita3", s), s


def test_tomita6_is_mod_3_not_mod_5():
  assert L.accepts("tomita6", "000") and L.accepts("tomita6", "111")
  assert not L.accepts("tomita6", "00000")  # #0 - #1 = 5: accepted by mod 5
  assert L.accepts("tomita6", "0000011")  # 5 - 2 = 3
  assert not L.accepts("tomita6", "0001111110")  # 4 - 6 = -2
  assert L.accepts("tomita6", "111111")  # 0 - 6 = -6
  assert not L.accepts("tomita6", "1111100000" + "00000")  # 10 - 5 = 5


def test_unknown_names_and_bad_bits():
  with pytest.raises(ValueError, match="tomita8"):
    L.accepts("tomita8", "01")
  with pytest.raises(ValueError, match="dyck"):
    L.batch_accepts("dyck", np.zeros((1, 2), np.int32))
  with pytest.raises(ValueError):
    L.accepts("contains:012", "01")
  with pytest.raises(ValueError):
    L.accepts("parity", "0a1")
  with pytest.raises(ValueError):
    L.accepts("parity", np.array([0, 2, 1]))
  with pytest.raises(ValueError):
    L.accepts("parity", np.zeros((2, 2), int))


def test_padding_is_skipped_left_and_right():
  s = np.array([1, 0, 1, 1, 0, 0, 1], np.int32)
  left = np.concatenate([[-1, -1, -1], s])
  right = np.concatenate([s, [-1, -1, -1]])
  for name in REFERENCE:
    got = np.asarray(L.batch_accepts(name, np.stack([left, right])))
    want = REFERENCE[name]("1011001")
    assert got.tolist() == [want, want], name


def test_batch_membership_jits_and_vmaps():
  dfa = L.get_dfa("tomita4")
  f = jax.jit(jax.vmap(lambda b: L.final_state(dfa, b)))
  q = np.asarray(f(jnp.asarray(BATCH[-50:])))
  assert np.array_equal(dfa.accepting[q], [REFERENCE["tomita4"](s) for s in ALL[-50:]])


@pytest.mark.parametrize(
  "name", ["parity", "one_one", "tomita2", "tomita3", "tomita5", "contains:0110"]
)
def test_count_members_matches_enumeration(name):
  for n in range(0, 11):
    want = sum(REFERENCE[name]("".join(t)) for t in itertools.product("01", repeat=n))
    assert L.count_members(name, n) == want


def test_sample_class_is_uniform_within_class():
  # tomita4 members of length 5: 24 strings. 4800 draws: each count is
  # Binomial(4800, 1/24), mean 200, sd ~14; 200 +- 70 (5 sd) cannot fail by
  # chance in practice, while a sampler that picks bits with probability 1/2
  # (not proportional to completions) gives counts from ~75 to ~300.
  bits = L.sample_class(jax.random.key(0), "tomita4", 4800, [5])
  strings = ["".join(map(str, r)) for r in bits]
  assert all(REFERENCE["tomita4"](s) for s in strings)
  counts = {s: strings.count(s) for s in set(strings)}
  assert len(counts) == 24
  assert all(130 <= c <= 270 for c in counts.values()), counts
  # Non-members of a rare class: tomita1 non-members only.
  neg = L.sample_class(jax.random.key(1), "tomita1", 200, [3, 4], member=False)
  assert not any(REFERENCE["tomita1"]("".join(map(str, r[r >= 0]))) for r in neg)
  assert set(lengths_of(neg)) == {3, 4}


def test_sample_class_skips_lengths_where_class_is_empty():
  bits = L.sample_class(jax.random.key(2), "tomita2", 100, range(3, 9))
  assert set(lengths_of(bits)) == {4, 6, 8}  # (10)* has only even lengths
  with pytest.raises(ValueError):
    L.sample_class(jax.random.key(2), "tomita2", 10, [3, 5])


@pytest.mark.parametrize("name", ["tomita1", "parity", "one_one"])
def test_make_split_disjoint_balanced_and_of_requested_lengths(name):
  split = L.make_split(
    jax.random.key(3), name, (1, 8), [(9, 11), (12, 14)], n_test=100, test_fraction=0.25
  )
  ref = REFERENCE[name]
  as_str = lambda r: "".join(map(str, r[r >= 0]))
  train = [as_str(r) for r in split.train_bits]
  test = [as_str(r) for r in split.test_bits]
  # Labels are right.
  assert [ref(s) for s in train] == split.train_labels.tolist()
  assert [ref(s) for s in test] == split.test_labels.tolist()
  # Exhaustive at the training lengths: train + held out = all strings of
  # lengths 1..8, each once; 25% held out.
  held = [s for s, b in zip(test, split.test_bin) if b == 0]
  everything = sorted(train + held)
  assert everything == sorted(
    "".join(t) for n in range(1, 9) for t in itertools.product("01", repeat=n)
  )
  assert len(held) == round(0.25 * 510)
  # Stratified: a quarter of the members is held out.
  n_members = sum(ref(s) for s in everything)
  assert sum(ref(s) for s in held) == round(0.25 * n_members)
  # Disjoint.
  assert not set(train) & set(test)
  # Longer bins: requested lengths, class-balanced, n_test each.
  for j, (lo, hi) in enumerate([(9, 11), (12, 14)], start=1):
    sel = split.test_bin == j
    lens = {len(s) for s, k in zip(test, sel) if k}
    assert lens <= set(range(lo, hi + 1)) and min(lens) >= lo
    assert sel.sum() == 100
    assert split.test_labels[sel].sum() == 50
  assert split.bin_names == ("1-8 (held out)", "9-11", "12-14")


def test_make_split_sampled_when_too_many_strings():
  split = L.make_split(
    jax.random.key(4),
    "tomita4",
    (10, 14),
    [(15, 16)],
    n_test=64,
    max_exhaustive=1000,
    n_train_sampled=600,
  )
  assert np.unique(split.train_bits, axis=0).shape[0] == split.train_bits.shape[0]
  lens = lengths_of(split.train_bits)
  assert lens.min() >= 10 and lens.max() <= 14
  # Sampled class-balanced: about half members (duplicates removed).
  assert 0.35 < split.train_labels.mean() < 0.65
  tr = {r.tobytes() for r in L.pad_left([r[r >= 0] for r in split.train_bits], 16)}
  te = {r.tobytes() for r in split.test_bits}
  assert not tr & te


def test_balanced_oversample_covers_all_and_balances():
  bits = L.exhaustive_strings(range(1, 7))
  labels = np.asarray(L.batch_accepts("one_one", bits))
  b, y = L.balanced_oversample(bits, labels, 2 * len(bits), jax.random.key(0))
  assert y.mean() == 0.5
  assert np.unique(b, axis=0).shape[0] == len(bits)


def _normalized_reference(s, d, eps_x, width):
  """Def. 3.1 written out: bias (0,..,0,1), eps_x * (xbar, 0) per bit,
  bias; left-padded with zero rows to width + 2."""
  r = np.sqrt(3) / 2
  rows = [np.eye(d)[d - 1]]
  for c in s:
    xbar = np.zeros(d - 1)
    xbar[0] = r if c == "1" else -r
    xbar[-1] = 0.5
    assert abs(np.linalg.norm(xbar) - 1) < 1e-12  # on S^{d-2}
    rows.append(np.concatenate([eps_x * xbar, [0.0]]))
  rows.append(np.eye(d)[d - 1])
  pad = [np.zeros(d)] * (width - len(s))
  return np.array(pad + rows)


@pytest.mark.parametrize("d", [3, 5])
def test_normalized_encoding_is_def_3_1(d):
  strings = ["", "1", "0110", "10101011"]
  bits = L.pad_left([np.array([int(c) for c in s], np.int32) for s in strings], 8)
  xs = np.asarray(L.encode_batch(bits, encoding="normalized", d=d, eps_x=0.3))
  for s, x in zip(strings, xs):
    np.testing.assert_allclose(x, _normalized_reference(s, d, 0.3, 8), atol=1e-6)


def test_onehot_encoding():
  bits = L.pad_left([np.array([1, 0, 1], np.int32)], 5)
  xs = np.asarray(L.encode_batch(bits, encoding="onehot", d=2))
  np.testing.assert_array_equal(xs[0], [[0, 0], [0, 0], [0, 1], [1, 0], [0, 1]])
  with pytest.raises(ValueError, match="encoding"):
    L.encode_batch(bits, encoding="binary")


@pytest.mark.parametrize("encoding", ["normalized", "onehot"])
def test_left_padding_does_not_change_the_rnn(encoding):
  # Zero rows before the sequence keep h = 0, so the output is the same as
  # for the unpadded sequence (checked against the NumPy reference loop).
  from tests import np_reference

  p = jaxrnn.init_params(jax.random.key(0), 16, 3, 1)
  s = np.array([1, 1, 0, 1, 0], np.int32)
  short = L.encode_batch(L.pad_left([s], 5), encoding=encoding)[0]
  long = L.encode_batch(L.pad_left([s], 11), encoding=encoding)[0]
  want = np_reference.output(p.W, p.A, p.B, np.asarray(short))
  np.testing.assert_allclose(jaxrnn.rnn_output(p, long), want, rtol=1e-4, atol=1e-5)
