"""The paper's ReLU RNN as flax modules, and flax (msgpack) checkpoints.

flax earns its place here in two ways users of the flax stack ask for:

- **Modules.** ``ElmanRNN`` is a ``flax.nnx`` module holding W and A as
  ``nnx.Param`` and B as ``Frozen`` (an ``nnx.Variable`` that is not a
  ``Param``), initialized exactly as ``jaxrnn.init_params`` (Def. 3.2) from
  one key, and computing ``jaxrnn.rnn_output``; an optimizer built with
  ``nnx.Optimizer(model, tx, wrt=nnx.Param)`` therefore trains W and A and
  never touches B, as in Thm. 3.1. ``ReLUCell`` is the same cell as a
  ``flax.linen`` ``RNNCellBase`` (``h' = relu(A x + W h)``, Eq. 1), so it drops
  into ``flax.linen.RNN`` and any linen model; ``LinenElmanRNN`` adds the frozen
  readout B in a separate variable collection ``"frozen"`` (gradients taken
  with respect to ``"params"`` leave it alone).
- **Checkpoints.** ``save`` / ``load`` write and read any jaxrnn pytree
  (``RNNParams``, ``TrainResult``, dicts of arrays) with
  ``flax.serialization`` msgpack, atomically, with a SHA-256 of the state
  that every loader checks (a corrupted file is an error, not different
  numbers); ``load`` checks the template's structure, shapes and dtypes
  against the file (a ``ValueError`` names the first leaf that differs);
  ``load_params`` reads an ``RNNParams`` back without a template, and
  ``load_run_params`` whatever ``save`` wrote, such as the files of
  ``jaxrnn run languages --save-params`` (each a ``TrainResult`` stacked
  over seeds), also without one.

Example (the file of a ``--save-params`` run holds one ``TrainResult`` per
training point, every leaf with the seed axis first; the run's
``results.jsonl`` names it in the record's ``params_file``)::

  >>> import jax, json, os, tempfile, jaxrnn
  >>> from jaxrnn import flax as jf
  >>> stacked = jax.vmap(lambda k: jaxrnn.init_params(k, 8, 4, 1))(jaxrnn.seed_keys(0, 3))
  >>> path = os.path.join(tempfile.mkdtemp(), "params.msgpack")
  >>> jf.save(path, stacked)
  >>> jf.load_run_params(path).W.shape        # (num_seeds, m, m)
  (3, 8, 8)
  >>> jf.load(path, jaxrnn.init_params(jax.random.key(0), 8, 4, 1))
  Traceback (most recent call last):
  ValueError: ... leaf W has shape (3, 8, 8) and dtype float32 in the file, shape (8, 8) ...

and for a run directory ``run`` of ``jaxrnn run languages --save-params``::

  for line in (run / "results.jsonl").read_text().splitlines():
    rec = json.loads(line)
    if "params_file" in rec:
      result = jf.load_run_params(run / rec["params_file"])  # TrainResult
      seed0 = jax.tree.map(lambda x: x[0], result)            # the first seed's

The modules hold no hidden state beyond their variables; the math lives in
``jaxrnn`` and is called, not copied, so the modules equal the pure functions
(``tests/library/test_flax.py``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import msgpack
import numpy as np
from flax import linen as nn
from flax import nnx, serialization

from jaxrnn._src.rnn import RNNParams, init_params, relu, rnn_output
from jaxrnn._src.training import TrainResult

__all__ = [
  "ElmanRNN",
  "Frozen",
  "ReLUCell",
  "LinenElmanRNN",
  "linen_variables",
  "save",
  "load",
  "load_params",
  "load_run_params",
]


# --------------------------------------------------------------------------
# nnx


class Frozen(nnx.Variable):
  """A variable that ``nnx.Optimizer(..., wrt=nnx.Param)`` does not train
  (the output weights B of Thm. 3.1)."""


class ElmanRNN(nnx.Module):
  """The RNN of Def. 3.2 as an ``nnx.Module``; B frozen.

  **Arguments:** ``d`` input dimension, ``m`` width, ``d_out`` output
  dimension; ``rngs`` an ``nnx.Rngs``: the next key of its ``params`` stream
  is the key given to ``jaxrnn.init_params``; ``dtype``.

  Calling it on ``xs`` (L, d) returns ``rnn_output`` (d_out,); on (N, L, d)
  it vmaps. ``rnn_params()`` returns the weights as ``jaxrnn.RNNParams``, so
  every jaxrnn function (pseudo-network, inversion, NTK) applies to a module.

  Example::

    >>> import jax, jax.numpy as jnp, optax
    >>> from flax import nnx
    >>> from jaxrnn.flax import ElmanRNN
    >>> model = ElmanRNN(4, 32, 1, rngs=nnx.Rngs(params=0))
    >>> model(jnp.ones((5, 4))).shape
    (1,)
    >>> opt = nnx.Optimizer(model, optax.sgd(0.1), wrt=nnx.Param)   # W, A only
  """

  def __init__(self, d: int, m: int, d_out: int, *, rngs: nnx.Rngs, dtype=jnp.float32):
    p = init_params(rngs.params(), m, d, d_out, dtype)
    self.W = nnx.Param(p.W)
    self.A = nnx.Param(p.A)
    self.B = Frozen(p.B)

  def rnn_params(self) -> RNNParams:
    """The module's weights as ``jaxrnn.RNNParams``."""
    return RNNParams(self.W[...], self.A[...], self.B[...])

  def __call__(self, xs: jax.Array) -> jax.Array:
    p = self.rnn_params()
    if xs.ndim == 3:
      return jax.vmap(rnn_output, in_axes=(None, 0))(p, xs)
    return rnn_output(p, xs)


# --------------------------------------------------------------------------
# linen


def _he(stddev_sq_num: float, fan: int):
  """N(0, stddev_sq_num / fan) initializer (Def. 3.2: 2/m and 2/d_out)."""
  std = float(np.sqrt(stddev_sq_num / fan))

  def init(key, shape, dtype=jnp.float32):
    return std * jax.random.normal(key, shape, dtype)

  return init


class ReLUCell(nn.RNNCellBase):
  """The ReLU cell of Eq. (1), ``h' = relu(A x + W h)``, as a linen
  ``RNNCellBase`` with the initialization of Def. 3.2 (W, A ~ N(0, 2/m)).

  ``__call__(carry (..., m), x (..., d)) -> (h', h')``; ``nn.RNN(ReLUCell(m))``
  scans it over time (batch-major inputs (N, L, d) by default). The variable
  names are ``W`` (m, m) and ``A`` (m, d), as in ``jaxrnn.RNNParams``.
  """

  features: int
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry, inputs):
    m, d = self.features, inputs.shape[-1]
    W = self.param("W", _he(2.0, m), (m, m), self.param_dtype)
    A = self.param("A", _he(2.0, m), (m, d), self.param_dtype)
    h = relu(inputs @ A.T + carry @ W.T)
    return h, h

  @nn.nowrap
  def initialize_carry(self, rng, input_shape):
    del rng
    return jnp.zeros(tuple(input_shape[:-1]) + (self.features,), self.param_dtype)

  @property
  def num_feature_axes(self) -> int:
    return 1


class LinenElmanRNN(nn.Module):
  """``nn.RNN(ReLUCell(m))`` and the readout ``B h^(L)``, B ~ N(0, 2/d_out)
  in the variable collection ``"frozen"``: train ``variables["params"]``
  (W and A) and B stays as initialized. Input (N, L, d), output (N, d_out)."""

  features: int
  d_out: int = 1
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs):
    hs = nn.RNN(ReLUCell(self.features, self.param_dtype, parent=None), name="rnn")(xs)
    B = self.variable(
      "frozen",
      "B",
      lambda: _he(2.0, self.d_out)(
        self.make_rng("params"), (self.d_out, self.features), self.param_dtype
      ),
    )
    return hs[..., -1, :] @ B.value.T


def linen_variables(params: RNNParams) -> dict:
  """``LinenElmanRNN`` variables holding the given weights."""
  return {"params": {"rnn": {"cell": {"W": params.W, "A": params.A}}}, "frozen": {"B": params.B}}


# --------------------------------------------------------------------------
# Checkpoints


# A checkpoint file is one msgpack map: the format tag, the SHA-256 of the
# state, and the state itself (flax msgpack bytes of the pytree).
_FORMAT = "jaxrnn-checkpoint"
_VERSION = 1


def save(path: str | os.PathLike, tree: Any) -> None:
  """Writes a pytree (``RNNParams``, ``TrainResult``, ...) as flax msgpack,
  atomically (a temporary file renamed over ``path``), with its SHA-256.

  The file is one msgpack map ``{"format": "jaxrnn-checkpoint", "version": 1,
  "sha256": hex digest of state, "state": flax msgpack of the tree}``;
  ``load`` and ``load_params`` recompute the digest and refuse a file whose
  bytes changed (one flipped bit is enough)."""
  state = serialization.to_bytes(jax.device_get(tree))
  blob = msgpack.packb(
    {
      "format": _FORMAT,
      "version": _VERSION,
      "sha256": hashlib.sha256(state).hexdigest(),
      "state": state,
    },
    use_bin_type=True,
  )
  _write_atomically(Path(path), blob)


def _write_atomically(path: Path, data: bytes) -> None:
  """A temporary file in the same directory, fsynced, renamed over ``path``
  (readers see the old file or the new one); mode as ``open`` gives it."""
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
  fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
  try:
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    with contextlib.suppress(FileNotFoundError):
      os.unlink(tmp)
    raise


def _verified_state(path: str | os.PathLike, verify: bool) -> bytes:
  """The state bytes of a checkpoint, after checking its digest;
  ``ValueError`` naming the file otherwise. With ``verify=False`` a file
  without the wrapper (plain flax msgpack) is returned as it is."""
  raw = Path(path).read_bytes()
  try:
    wrapper = msgpack.unpackb(raw, raw=False, strict_map_key=False)
  except Exception:  # msgpack's errors differ between versions; all mean "not readable"
    wrapper = None
  is_checkpoint = (
    isinstance(wrapper, dict)
    and wrapper.get("format") == _FORMAT
    and isinstance(wrapper.get("state"), bytes)
    and isinstance(wrapper.get("sha256"), str)
  )
  if not is_checkpoint:
    if not verify:
      return raw
    raise ValueError(
      f"{path} is not a jaxrnn checkpoint with a checksum (written by jaxrnn.flax.save), "
      "or its header is damaged; pass verify=False to read a plain flax msgpack file unchecked"
    )
  if wrapper.get("version") != _VERSION:
    raise ValueError(
      f"{path} is a jaxrnn checkpoint of version {wrapper.get('version')!r}; "
      f"this jaxrnn reads version {_VERSION}"
    )
  state = wrapper["state"]
  digest = hashlib.sha256(state).hexdigest()
  if digest != wrapper["sha256"]:
    raise ValueError(
      f"{path} is corrupted: the SHA-256 of its state is {digest[:16]}..., the file "
      f"records {wrapper['sha256'][:16]}... (the bytes changed after it was written)"
    )
  return state


def _dtype(x) -> np.dtype:
  return np.dtype(x.dtype) if hasattr(x, "dtype") else np.asarray(x).dtype


def _describe_leaf(x) -> str:
  return f"shape {tuple(np.shape(x))} and dtype {_dtype(x)}"


def _mismatch(want: Any, got: Any, where: str) -> str | None:
  """The first difference between the template's state dict ``want`` and
  the file's ``got`` (keys, then each leaf's shape and dtype), as text
  naming the leaf by its ``/``-joined path; None when they agree."""
  here = where or "the top level"
  if isinstance(want, dict) or isinstance(got, dict):
    if not (isinstance(want, dict) and isinstance(got, dict)):
      kind = "a mapping" if isinstance(got, dict) else "a leaf"
      return f"{here} is {kind} in the file but not in the template"
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
      parts = [f"the template's {missing} are not in the file"] if missing else []
      parts += [f"the file's {extra} are not in the template"] if extra else []
      return f"at {here}: " + "; ".join(parts)
    for k in want:
      found = _mismatch(want[k], got[k], f"{where}/{k}" if where else str(k))
      if found:
        return found
    return None
  if want is None or got is None:
    return None if want is got else f"leaf {here} is None in only one of the file and the template"
  if not hasattr(want, "dtype"):  # a Python number: only its shape, (), is known
    return (
      None
      if np.shape(got) == ()
      else f"leaf {here} is an array in the file, a number in the template"
    )
  same = np.shape(want) == np.shape(got) and _dtype(want) == _dtype(got)
  if same:
    return None
  return (
    f"leaf {here} has {_describe_leaf(got)} in the file, {_describe_leaf(want)} in the template"
  )


def load(path: str | os.PathLike, target: Any, *, verify: bool = True) -> Any:
  """Reads a pytree written by ``save`` into the structure of ``target``
  (e.g. ``jaxrnn.init_params(...)`` of the same shapes); arrays come back
  bit for bit. The file's SHA-256 is checked first: a changed byte raises
  ``ValueError`` naming the file. Then the template: its structure and every
  leaf's shape and dtype must be the file's, else ``ValueError`` naming the
  first leaf that differs (``load_run_params`` needs no template).
  ``verify=False`` also reads a plain flax msgpack file
  (``flax.serialization.to_bytes``), which has no checksum."""
  state = serialization.msgpack_restore(_verified_state(path, verify))
  found = _mismatch(serialization.to_state_dict(target), state, "")
  if found:
    raise ValueError(f"{path} does not match the template: {found}")
  return serialization.from_state_dict(target, state)


def load_params(path: str | os.PathLike, *, verify: bool = True) -> RNNParams:
  """An ``RNNParams`` written by ``save``, without a template (checked as in
  ``load``)."""
  state = serialization.msgpack_restore(_verified_state(path, verify))
  try:
    return RNNParams(*(jnp.asarray(state[k]) for k in ("W", "A", "B")))
  except (KeyError, TypeError):
    raise ValueError(f"{path} does not hold an RNNParams (W, A, B)") from None


def _from_state(state: Any) -> Any:
  if isinstance(state, dict):
    tree = {k: _from_state(v) for k, v in state.items()}
    for cls in (RNNParams, TrainResult):
      if set(tree) == set(cls._fields):
        return cls(**tree)
    return tree
  return state


def load_run_params(path: str | os.PathLike, *, verify: bool = True) -> Any:
  """Whatever ``save`` wrote, without a template: the file of a
  ``--save-params`` run (``params/<digest>.msgpack``, named by its record's
  ``params_file``) comes back as the ``TrainResult`` it holds, every leaf
  with a leading seed axis (num_seeds, ...); a map with the fields of
  ``RNNParams`` or ``TrainResult`` becomes one, any other map a dict. Leaves
  are NumPy arrays bit for bit as saved (a float64 file stays float64),
  scalars and None as saved. The SHA-256 is checked as in ``load``."""
  state = serialization.msgpack_restore(_verified_state(path, verify))
  if not isinstance(state, dict):
    raise ValueError(f"{path} does not hold a pytree of arrays written by jaxrnn.flax.save")
  return _from_state(state)
