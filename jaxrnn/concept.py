"""The concept class and the existence of a good pseudo-network.

- Def. 2.1, complexity of a smooth phi: ``log10_complexity_eps``,
  ``log10_complexity_s`` (base-10 logs: with C* = 10^4 the values overflow
  float64), ``complexity_eps``, ``complexity_s``; ``phi_function``,
  ``taylor_coefficients``, ``PHI_NAMES``, ``C_STAR``.
- Def. 3.3, the class: ``Concept`` (the one type for a member: targets of
  experiments and the Sec. 5 language constructions alike),
  ``make_concept``, ``random_concept``, ``product_concept`` (a product of
  two tokens), ``concept_value``, ``concept_dataset``; OPT:
  ``huber_noise_opt``, ``estimate_opt``; distance to the token-wise class of
  [37]: ``tokenwise_gap``, ``TokenwiseGap``.
- Lemma 4.1-4.2, Thm. 4.3: ``fit_weight_function`` (a bounded, Lipschitz
  H of Lemma 4.1), ``weight_function``, ``lipschitz_constant``,
  ``lemma41_expectation``, ``lemma42_a_star`` (A* with W* = 0),
  ``construct_pseudo_network`` (Thm. 4.3) with its ``Construction``, and
  ``construction_terms`` (its error split along the proof).
"""

from jaxrnn._src.complexity import (  # noqa: F401
  C_STAR,
  PHI_NAMES,
  complexity_eps,
  complexity_s,
  log10_complexity_eps,
  log10_complexity_s,
  phi_function,
  taylor_coefficients,
)
from jaxrnn._src.concept import (  # noqa: F401
  Concept,
  TokenwiseGap,
  concept_dataset,
  concept_value,
  estimate_opt,
  huber_noise_opt,
  make_concept,
  product_concept,
  random_concept,
  tokenwise_gap,
)
from jaxrnn._src.existence import (  # noqa: F401
  Construction,
  ConstructionTerms,
  WeightFit,
  base_sequence,
  construct_pseudo_network,
  construction_terms,
  fit_weight_function,
  lemma41_expectation,
  lemma42_a_star,
  lipschitz_constant,
  weight_function,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
