"""jaxrnn: overparameterized ReLU RNNs in JAX (Panigrahi & Goyal, NeurIPS 2021).

The top level holds the model and its linearization; everything else lives
in a namespace named after the concept it holds. ``API.md`` lists every
public name with its signature.

- Model (Def. 3.1-3.2): ``RNNParams``, ``init_params``, ``cell``,
  ``hidden_states``, ``final_hidden_state``, ``rnn_output``,
  ``activation_patterns``, ``preactivations``, ``input_projections``,
  ``relu``, ``normalize_sequence``, ``random_true_sequence``,
  ``random_normalized_sequence``.
- Pseudo-network (Eq. 4-5, Sec. 4.1): ``pseudo_network``,
  ``pseudo_network_explicit``, ``backward_matrices``,
  ``backward_correlations``, ``taylor_remainder``, ``scaled_perturbation``,
  ``absolute_perturbation``.
- ``inversion_matrix`` (Sec. 4.4; the rest of the inversion in
  ``jaxrnn.inversion``).
- Seeds: ``sweep``, ``sweep_plan`` (the layout it picks, run nothing), ``seed_keys``,
  ``seed_mesh``.
- Namespaces: ``features`` (Lemma 4.4), ``inversion`` (Sec. 4.4, Thm. 4.5),
  ``rerandomize`` (Sec. 4.2), ``concept`` (Def. 2.1, Def. 3.3, Lemmas
  4.1-4.2, Thm. 4.3), ``training`` (Sec. 3.3, Thm. 3.1), ``kernels`` (NTK
  and baselines), ``languages`` (Sec. 5), ``experiments`` (the experiment
  framework's types and the registry), ``lab`` (the framework itself).

Implementations live in ``jaxrnn._src``; this module only re-exports.
"""

import jaxrnn._sigint  # noqa: F401  first: Ctrl-C in the jaxrnn program (no-op on import)
from jaxrnn import checks, concept, features, inversion, kernels, languages, rerandomize, training
from jaxrnn._src.inputs import normalize_sequence, random_normalized_sequence, random_true_sequence
from jaxrnn._src.inversion import inversion_matrix
from jaxrnn._src.pseudo import (
  absolute_perturbation,
  backward_correlations,
  backward_matrices,
  pseudo_network,
  pseudo_network_explicit,
  scaled_perturbation,
  taylor_remainder,
)
from jaxrnn._src.rnn import (
  RNNParams,
  activation_patterns,
  cell,
  final_hidden_state,
  hidden_states,
  init_params,
  input_projections,
  preactivations,
  relu,
  rnn_output,
)
from jaxrnn._src.sweep import Plan as SweepPlan
from jaxrnn._src.sweep import plan as sweep_plan
from jaxrnn._src.sweep import seed_keys, seed_mesh, sweep

__version__ = "0.1.0"

__all__ = [
  # Def. 3.2: the model
  "RNNParams",
  "init_params",
  "cell",
  "hidden_states",
  "final_hidden_state",
  "rnn_output",
  "activation_patterns",
  "preactivations",
  "input_projections",
  "relu",
  # Def. 3.1: normalized inputs
  "normalize_sequence",
  "random_true_sequence",
  "random_normalized_sequence",
  # Eq. 4-5: the pseudo-network
  "pseudo_network",
  "pseudo_network_explicit",
  "backward_matrices",
  "backward_correlations",
  "taylor_remainder",
  "scaled_perturbation",
  "absolute_perturbation",
  # Sec. 4.4
  "inversion_matrix",
  # seeds
  "sweep",
  "sweep_plan",
  "SweepPlan",
  "seed_keys",
  "seed_mesh",
  # namespaces
  "checks",
  "concept",
  "features",
  "inversion",
  "kernels",
  "languages",
  "rerandomize",
  "training",
]
