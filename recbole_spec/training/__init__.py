"""Training: the plugin trainer, its samplers and safe checkpoints.

Importing it makes RecBole ready first (compat shims, metrics, the ``Config`` hook), since its
modules subclass RecBole's trainer and loaders.
"""

from recbole_spec.config.recbole_setup import ensure_recbole

ensure_recbole()
