"""Widgets of the full-screen debugger, one per file."""
