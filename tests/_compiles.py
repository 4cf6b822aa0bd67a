"""``count_compiles()``: a context manager counting XLA backend compilations
(``jax.monitoring``'s compile-duration event) inside it; shared by the tests
that check how many programs a computation compiles."""

import contextlib

import jax

_EVENT = "/jax/core/compile/backend_compile_duration"


@contextlib.contextmanager
def count_compiles():
  counter = {"n": 0}

  def listener(name, duration, **kwargs):
    if name == _EVENT:
      counter["n"] += 1

  jax.monitoring.register_event_duration_secs_listener(listener)
  try:
    yield counter
  finally:
    jax.monitoring.unregister_event_duration_listener(listener)
