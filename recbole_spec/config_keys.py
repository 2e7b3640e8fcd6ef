"""Old name of :mod:`recbole_spec.config.keys` (the same module object), for old imports."""

import sys

from recbole_spec.config import keys

sys.modules[__name__] = keys
