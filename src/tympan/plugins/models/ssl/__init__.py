"""Self-supervised speech models."""
