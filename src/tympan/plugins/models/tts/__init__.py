"""Speech synthesis models."""
