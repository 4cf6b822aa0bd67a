import os
import sys

import jax

sys.path.insert(0, os.path.dirname(__file__))  # for np_reference

# Silent broadcasting between arrays of different ranks is an error in the
# suite (as in neural-tangents' tests): jaxrnn must say what it broadcasts.
jax.config.update("jax_numpy_rank_promotion", "raise")

# The suite's `jaxrnn` runs (in-process and in subprocesses) compile every
# time: the persistent compilation cache (jaxrnn.lab.cache) would make a test's
# behaviour depend on earlier runs and write into the user's cache. The tests
# of the cache turn it on themselves.
os.environ.setdefault("JAXRNN_COMPILATION_CACHE", "0")
