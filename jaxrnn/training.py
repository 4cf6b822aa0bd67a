"""Training W and A with B frozen (Sec. 3.3, Thm. 3.1).

``train(key, params, xs, ys, optimizer=optimizer("sgd", learning_rate=eta),
steps=T, loss="clipped_squared")`` runs SGD (or any optax optimizer) on the
perturbations W', A' as one jitted ``lax.scan``, for the RNN
(``model="rnn"``) or its pseudo-network (``model="pseudo"``), detects
divergence and evaluates as it goes; ``init_and_train`` is the per-seed
function for ``jaxrnn.sweep``. Losses G of Sec. 3.1 (convex, 1-Lipschitz):
``logistic_loss``, ``clipped_squared_loss`` (and the plain
``squared_loss``). ``theory_schedule`` makes Thm. 3.1's rho, eps_x, lambda,
eta and T explicit; ``practical_schedule`` is the one that runs on a laptop;
``stable_step_size`` gives the step that is stable for the RNN's
pseudo-network at any width and lambda; ``kernel_step_size`` reads it from the
top eigenvalue of the measured kernel Theta_0 (the rule the experiments use).
"""

from jaxrnn._src.training import (  # noqa: F401
  LOSSES,
  MODELS,
  Schedule,
  StepSize,
  TrainResult,
  clipped_squared_loss,
  get_loss,
  init_and_train,
  kernel_step_size,
  logistic_loss,
  model_output,
  optimizer,
  practical_schedule,
  predict,
  sign_accuracy,
  squared_loss,
  stable_step_size,
  theory_schedule,
  train,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
