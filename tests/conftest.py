import os
import sys

import jax

sys.path.insert(0, os.path.dirname(__file__))  # for np_reference

# Silent broadcasting between arrays of different ranks is an error in the
# suite (as in neural-tangents' tests): jaxrnn must say what it broadcasts.
jax.config.update("jax_numpy_rank_promotion", "raise")
