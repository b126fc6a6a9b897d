"""Data sets shipped with the lessons."""
