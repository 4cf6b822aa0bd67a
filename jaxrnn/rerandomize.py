"""Re-randomization of blocks of neurons (Sec. 4.2).

``rerandomize(key, params, block, num_blocks)`` redraws one block of rows of
``[W, A]_r`` from the initialization; ``rerandomization_changes`` measures how
much h^(l), Back_{i->L}, W̄^[L] and the inversion error move. Block indices
may be traced, so both vmap over blocks.
"""

from jaxrnn._src.rerandomize import (  # noqa: F401
  block_mask,
  relative_change,
  rerandomization_changes,
  rerandomize,
  rerandomize_rows,
)

__all__ = [name for name in globals() if not name.startswith("_")]  # the names imported above
