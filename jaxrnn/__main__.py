"""``python -m jaxrnn``: the same command line as the ``jaxrnn`` script.

Ctrl-C handling is installed before JAX is imported (``jaxrnn/__init__.py``
imports ``jaxrnn._sigint`` first when started this way, which installs it for
this program only).
"""

import sys

from jaxrnn import _sigint
from jaxrnn.cli import main

if __name__ == "__main__":
  _sigint.install()
  sys.exit(main())  # main() ends the process itself (jaxrnn._sigint.finish)
