"""Moved to :mod:`recbole_spec.config.presets`; this name is the same module, kept for old imports."""

import sys

from recbole_spec.config import presets

sys.modules[__name__] = presets
