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
  and baselines), ``languages`` (Sec. 5), ``checks`` (value checks, error
  types); ``jaxrnn.flax`` (flax modules, checkpoints) is imported on request.

Implementations live in ``jaxrnn._src``; this module only re-exports, and
loads the math only: the experiment application (``jaxrnn.lab``,
``jaxrnn.experiments``, the ``jaxrnn`` command in ``jaxrnn.cli``) is
imported by whoever uses it, never from here.
"""

import sys as _sys

# Started as the jaxrnn program (``python -m jaxrnn``, or the console script)?
# Then Ctrl-C handling goes in before JAX loads; ``jaxrnn._sigint`` decides
# exactly and installs nothing in any other program, which never loads it.
if (_sys.argv or [""])[0] == "-m" or (_sys.argv or [""])[0].endswith("jaxrnn"):
  from jaxrnn import _sigint  # noqa: F401

from jaxrnn import checks, concept, features, inversion, kernels, languages, rerandomize, training  # noqa: F401
from jaxrnn._src.inputs import normalize_sequence, random_normalized_sequence, random_true_sequence  # noqa: F401
from jaxrnn._src.inversion import inversion_matrix  # noqa: F401
from jaxrnn._src.pseudo import (  # noqa: F401
  absolute_perturbation,
  backward_correlations,
  backward_matrices,
  pseudo_network,
  pseudo_network_explicit,
  scaled_perturbation,
  taylor_remainder,
)
from jaxrnn._src.rnn import (  # noqa: F401
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
from jaxrnn._src.sweep import Plan as SweepPlan  # noqa: F401
from jaxrnn._src.sweep import Planned as SweepPlanned  # noqa: F401
from jaxrnn._src.sweep import allow_large_setting as check_sweep_environment  # noqa: F401
from jaxrnn._src.sweep import plan as sweep_plan  # noqa: F401
from jaxrnn._src.sweep import plan_only as sweep_plan_only  # noqa: F401
from jaxrnn._src.sweep import seed_keys, seed_mesh, sweep  # noqa: F401

__version__ = "0.1.0"

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
