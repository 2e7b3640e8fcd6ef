"""``python -m recbole_spec``: the same command line as the ``recbole-spec`` script."""

from __future__ import annotations

import sys

from recbole_spec.cli import main

if __name__ == "__main__":
    sys.exit(main())
