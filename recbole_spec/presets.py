"""Old name of :mod:`recbole_spec.config.presets` (the same module object), for old imports."""

import sys

from recbole_spec.config import presets

sys.modules[__name__] = presets
