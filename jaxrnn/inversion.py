"""Inverting the hidden state at initialization (Sec. 4.4, Thm. 4.5).

``inversion_matrix(params, base_xs)`` builds W̄^[L] from the activation
patterns of a base sequence, so that ``W̄^[L].T h^(L) ~ [x^(1) ... x^(L)]``;
``invert_hidden_state`` applies it in O(L m^2) without forming it;
``invert_hidden_state_centered`` subtracts its value at the base sequence and
adds the base (exact at the base; ``centered_decoding_offset`` is that
constant). The naive
constructions the paper contrasts with (``W̄ = factor [W W̄, A]_r``, factor 2
or 1), a least-squares yardstick (``fit_linear_decoder``) and the error split
into bias and token entries (``reconstruction_errors``) complete the set.
"""

from jaxrnn._src.inversion import (  # noqa: F401
  LinearDecoder,
  apply_linear_decoder,
  centered_decoding_offset,
  fit_linear_decoder,
  inversion_matrix,
  invert_hidden_state,
  invert_hidden_state_centered,
  invert_hidden_state_naive,
  naive_block_scales,
  naive_inversion_matrix,
  reconstruction_errors,
  zero_base_sequence,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
