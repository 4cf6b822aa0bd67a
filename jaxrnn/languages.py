"""Formal languages over {0, 1} (Sec. 5 of the paper): DFAs, membership,
data sets and token encodings, and the Sec. 5 concept-class constructions.

``accepts(name, bits)`` is the stable entry point (see ``API.md``); the other
names give the explicit automata, jit-able batch membership, exhaustive and
class-balanced data sets, the two bit encodings (the paper's normalized
tokens of Def. 3.1 and plain one-hot), per-bin class counts for scoring, and
the constructions of Sec. 5: members of the concept class that decide D_L1,
PARITY and pattern matching (``concept_member``, a ``LanguageConcept`` whose
``concept`` is a ``jaxrnn.concept.Concept``), and the exact optimum of the
token-wise additive class (Thm. H.1). Names: ``"parity"`` (odd number of
1s), ``"one_one"`` (exactly one 1, D_L1), ``"tomita1"`` ... ``"tomita7"``,
``"contains:<pattern>"``. The definitions, and the readings chosen for
Tomita 3 and Tomita 6, are in the docstring of ``get_dfa``'s module
(``jaxrnn._src.languages``).
"""

from __future__ import annotations

import numpy as np

from jaxrnn._src.expressibility import (
  AdditiveOptimum,
  LanguageConcept,
  additive_best_accuracy,
  additive_best_sup_error,
  classify,
  concept_member,
  contains_member,
  count_direction,
  evaluate,
  one_one_member,
  parity_member,
  pattern_power,
  true_sequence,
)
from jaxrnn._src.languages import (
  DFA,
  ENCODINGS,
  LANGUAGE_NAMES,
  PAD,
  TOMITA_NAMES,
  Split,
  all_strings,
  as_bits,
  balanced_oversample,
  balanced_sample,
  batch_accepts,
  bin_class_counts,
  bit_tokens,
  count_members,
  describe,
  encode,
  encode_batch,
  exhaustive_strings,
  final_state,
  get_dfa,
  lengths_of,
  log_counts,
  make_split,
  pad_left,
  sample_class,
)
from jaxrnn._src.languages import accepts as _accepts


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
  return _accepts(name, bits)


__all__ = [
  "accepts",
  "DFA",
  "get_dfa",
  "describe",
  "batch_accepts",
  "final_state",
  "as_bits",
  "all_strings",
  "exhaustive_strings",
  "pad_left",
  "lengths_of",
  "log_counts",
  "count_members",
  "sample_class",
  "balanced_sample",
  "balanced_oversample",
  "make_split",
  "Split",
  "bit_tokens",
  "encode",
  "encode_batch",
  "bin_class_counts",
  "ENCODINGS",
  "LANGUAGE_NAMES",
  "TOMITA_NAMES",
  "PAD",
  # Sec. 5 concept-class constructions and the additive class (Thm. H.1)
  "LanguageConcept",
  "concept_member",
  "one_one_member",
  "parity_member",
  "contains_member",
  "pattern_power",
  "count_direction",
  "true_sequence",
  "evaluate",
  "classify",
  "AdditiveOptimum",
  "additive_best_accuracy",
  "additive_best_sup_error",
]
