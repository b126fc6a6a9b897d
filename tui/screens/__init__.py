"""Screens of the full-screen debugger."""
