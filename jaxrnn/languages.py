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

from jaxrnn._src.expressibility import (  # noqa: F401
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
from jaxrnn._src.languages import (  # noqa: F401
  DFA,
  ENCODINGS,
  LANGUAGE_NAMES,
  PAD,
  TOMITA_NAMES,
  Split,
  accepts,
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
  make_split,
  pad_left,
  sample_class,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
