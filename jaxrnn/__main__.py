"""``python -m jaxrnn``: the same command line as the ``jaxrnn`` script."""

import sys

from jaxrnn.cli import main

if __name__ == "__main__":
  sys.exit(main())
