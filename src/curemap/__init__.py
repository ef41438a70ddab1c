"""Curemap: a living, cited map of the research toward curing multiple sclerosis."""

__version__ = "0.1.0"
