"""Training: the plugin trainer, its samplers and safe checkpoints."""
