"""Moved to :mod:`recbole_spec.config.keys`; this name is the same module, kept for old imports."""

import sys

from recbole_spec.config import keys

sys.modules[__name__] = keys
