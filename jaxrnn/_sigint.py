"""Ctrl-C in the ``jaxrnn`` program: one line, exit status 130, at any moment.

``jaxrnn/__init__.py`` imports this module before anything else; it installs
its handler only when the process *is* the jaxrnn program (``python -m
jaxrnn`` or the ``jaxrnn`` console script), so that Ctrl-C during the imports
of JAX is covered too. ``import jaxrnn`` in any other program changes nothing.
Standard library only: it must not import JAX.

Why not Python's default (a ``KeyboardInterrupt`` raised in the main thread)?
With it, about half of the Ctrl-C's segfaulted. gdb and core dumps
showed two causes, both inside jaxlib, both set off by the exception:

1. Ctrl-C during ``import jax``: the ``KeyboardInterrupt`` is raised while
   jaxlib's nanobind extension ``jaxlib._jax`` is being initialized; the
   half-built module is freed and ``nanobind::detail::nb_module_free``
   dereferences state that was never set (SIGSEGV in ``module_dealloc``).
2. Ctrl-C while XLA compiles: JAX looks for signals while the main thread
   waits for the compilation, so the ``KeyboardInterrupt`` abandons it; the
   compilation goes on in an XLA thread-pool worker. The CLI printed the
   resume message and returned 130, the interpreter finalized, and the garbage
   collector destroyed the ``PjRtClient`` and its devices while the worker was
   still running: it then called ``SingleDeviceSharding::Create`` on a freed
   device (SIGSEGV, "no Python frame", after the message).

A third failure, an interrupt that is "swallowed" and the run finishing with
exit 0, is what an exception raised inside a ``__del__``, weakref or C++
callback does: it is printed as "Exception ignored" and the run goes on.

All three come from raising an exception at an arbitrary point and from
tearing the interpreter down with XLA work in flight, so the program does
neither: on SIGINT it writes one line to stderr and ends with
``os._exit(130)``, with no exception, no interpreter teardown and no
destructor racing an XLA thread. Nothing is lost by skipping the teardown:
the result store survives SIGKILL at any moment (a record is one ``write``
of one line, every other file is written to a temporary file and renamed,
the run-directory lock is released by the kernel), so at most the point in
flight is recomputed on resume.

The signal is acted on at once even while the main thread is inside a long
XLA computation that does not look at signals: a daemon thread blocks on the
interpreter's wakeup fd (``signal.set_wakeup_fd``) and exits as soon as the
signal arrives; the Python-level handler in the main thread does the same
and covers the case where something else takes over the wakeup fd.

What is still not covered: the first few milliseconds of interpreter start-up
(before ``jaxrnn/__init__.py`` runs, Python's default handler is active), and
a process started with SIGINT ignored (a background job of a non-interactive
shell), where Ctrl-C is left ignored as the parent asked.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

MESSAGE = "jaxrnn: interrupted; completed points are kept, rerun the same command to resume"
EXIT_STATUS = 130  # 128 + SIGINT, what shells report for a process ended by Ctrl-C

_once = threading.Lock()
_installed = False


def _interrupted() -> None:
  """Writes the message and ends the process; the first caller wins."""
  if not _once.acquire(blocking=False):
    return  # the other path (thread or handler) is already exiting
  try:
    prefix = "\n" if os.isatty(2) else ""  # after a progress bar's line
    os.write(2, (prefix + MESSAGE + "\n").encode())
  finally:
    os._exit(EXIT_STATUS)


def _handler(signum, frame) -> None:
  _interrupted()


def _watch(fd: int) -> None:
  while True:
    try:
      data = os.read(fd, 64)
    except InterruptedError:
      continue
    except OSError:
      return
    if not data:
      return
    if signal.SIGINT in data:
      _interrupted()


def install() -> bool:
  """Makes Ctrl-C end the process at once with the one-line message and exit
  status 130. Call from the main thread of the program (not of a library
  user's process). Returns False, changing nothing, when SIGINT is ignored
  (inherited from the parent) or when not on the main thread."""
  global _installed
  if _installed:
    return True
  if threading.current_thread() is not threading.main_thread():
    return False
  if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    return False
  signal.signal(signal.SIGINT, _handler)
  try:
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(r,), name="jaxrnn-sigint", daemon=True).start()
  except (OSError, ValueError, RuntimeError):
    pass  # the Python-level handler alone still ends the process cleanly
  _installed = True
  return True


_MODULES = ("jaxrnn", "jaxrnn.__main__", "jaxrnn.cli")


def is_program() -> bool:
  """True when this process was started as the jaxrnn program: ``python -m
  jaxrnn`` (while Python locates the module, ``sys.argv[0]`` is ``-m``) or
  the ``jaxrnn`` console script."""
  argv0 = sys.argv[0] if sys.argv else ""
  if argv0 == "-m":
    orig = list(getattr(sys, "orig_argv", ()))
    for i, arg in enumerate(orig):
      if arg == "-m" and i + 1 < len(orig):
        return orig[i + 1] in _MODULES
      if arg.startswith("-m") and len(arg) > 2:
        return arg[2:] in _MODULES
    return False
  main = sys.modules.get("__main__")
  return os.path.basename(argv0) == "jaxrnn" and getattr(main, "__file__", None) == argv0


def finish(status: int):
  """Ends the program with ``status`` once its work is done: flushes stdout
  and stderr, then ``os._exit``, skipping the interpreter teardown. Every
  file the run wrote is closed and synced by then, and the teardown can only
  add the XLA race of cause 2 above and a window in which Python has put
  back the default SIGINT disposition (a Ctrl-C there killed the process
  silently, exit -2); after this, Ctrl-C gives 130 and the message or the
  run has ended with ``status``."""
  for stream in (sys.stdout, sys.stderr):
    try:
      stream.flush()
    except (OSError, ValueError):
      pass
  os._exit(status)


#: Whether this process is the jaxrnn program (decided at import, while
#: ``sys.argv[0]`` still says ``-m``).
STARTED_AS_PROGRAM = is_program()

if STARTED_AS_PROGRAM:
  install()
