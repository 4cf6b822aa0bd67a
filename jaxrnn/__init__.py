"""jaxrnn: overparameterized ReLU RNNs in JAX (Panigrahi & Goyal, NeurIPS 2021).

The public surface (see ``API.md`` of the project): the model of Def. 3.2,
normalized inputs of Def. 3.1, the pseudo-network of Eq. (4), the inversion of
Sec. 4.4, formal languages of Sec. 5, and the sweep and experiment tools.
Implementations live in ``jaxrnn._src``; this module only re-exports them.
"""

from jaxrnn import languages
from jaxrnn._src.inputs import (normalize_sequence, random_normalized_sequence,
                                random_true_sequence)
from jaxrnn._src.inversion import invert_hidden_state, inversion_matrix
from jaxrnn._src.pseudo import (backward_matrices, pseudo_network,
                                pseudo_network_explicit)
from jaxrnn._src.rnn import (RNNParams, activation_patterns, cell,
                             final_hidden_state, hidden_states, init_params,
                             input_projections, preactivations, relu, rnn_output)
from jaxrnn._src.runner import (ConfigError, Experiment, apply_overrides,
                                run_experiment)
from jaxrnn._src.sweep import seed_keys, seed_mesh, sweep

__version__ = "0.1.0"

__all__ = [
    "RNNParams", "init_params", "cell", "hidden_states", "final_hidden_state",
    "rnn_output", "relu", "input_projections", "preactivations",
    "activation_patterns", "normalize_sequence", "random_true_sequence",
    "random_normalized_sequence", "pseudo_network", "pseudo_network_explicit",
    "backward_matrices", "inversion_matrix", "invert_hidden_state",
    "languages", "sweep", "seed_keys", "seed_mesh", "Experiment", "ConfigError",
    "apply_overrides", "run_experiment",
]

# Training (Sec. 3.3, Thm. 3.1): SGD/optax on W', A' with B frozen.
from jaxrnn._src.train import (LOSSES, Schedule, TrainResult,
                               clipped_squared_loss, init_and_train,
                               logistic_loss, model_output, practical_schedule,
                               sign_accuracy, squared_loss, theory_schedule,
                               train)
__all__ += [
    "train", "init_and_train", "TrainResult", "model_output", "logistic_loss",
    "clipped_squared_loss", "squared_loss", "sign_accuracy", "LOSSES",
    "Schedule", "theory_schedule", "practical_schedule",
]

# Sec. 4.2-4.4: random ReLU features, naive and least-squares inversion,
# re-randomization (issue 3).
from jaxrnn._src.features import (random_relu_features, relu_features_apply,
                                  relu_features_error, relu_features_error_std,
                                  relu_readout)
from jaxrnn._src.inversion import (LinearDecoder, apply_linear_decoder,
                                   fit_linear_decoder,
                                   invert_hidden_state_naive,
                                   naive_block_scales, naive_inversion_matrix,
                                   reconstruction_errors, zero_base_sequence)
from jaxrnn._src.rerandomize import (block_mask, relative_change, rerandomize,
                                     rerandomize_rows, rerandomization_changes)

__all__ += [
    "random_relu_features", "relu_readout", "relu_features_apply",
    "relu_features_error", "relu_features_error_std", "naive_inversion_matrix",
    "invert_hidden_state_naive", "naive_block_scales", "zero_base_sequence", "LinearDecoder",
    "fit_linear_decoder", "apply_linear_decoder", "reconstruction_errors",
    "rerandomize", "rerandomize_rows", "block_mask", "relative_change", "rerandomization_changes",
]

# Concept class, complexity and existence (Def. 2.1, Def. 3.3, Sec. 4.2).
from jaxrnn._src.complexity import (complexity_eps, complexity_s,
                                    log_complexity_eps, log_complexity_s,
                                    phi_function, taylor_coefficients)
from jaxrnn._src.concept import (Concept, concept_dataset, concept_value,
                                 estimate_opt, huber_noise_opt, make_concept,
                                 random_concept)
from jaxrnn._src.existence import (construct_pseudo_network,
                                   fit_weight_function, lemma41_expectation,
                                   lemma42_a_star, weight_function)
__all__ += [
    "complexity_eps", "complexity_s", "log_complexity_eps", "log_complexity_s",
    "phi_function", "taylor_coefficients", "Concept", "concept_dataset",
    "concept_value", "estimate_opt", "huber_noise_opt", "make_concept",
    "random_concept", "construct_pseudo_network", "fit_weight_function",
    "lemma41_expectation", "lemma42_a_star", "weight_function",
]

# Kernel baselines: empirical NTK of the RNN, token-wise additive class.
from jaxrnn._src.kernels import (additive_token_kernel, empirical_ntk,
                                 fit_additive_baseline, kernel_ridge_loo)
__all__ += ["empirical_ntk", "kernel_ridge_loo", "additive_token_kernel",
            "fit_additive_baseline"]
