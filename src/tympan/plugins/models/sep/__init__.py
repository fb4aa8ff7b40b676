"""Source separation models."""
