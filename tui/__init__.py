"""The terminal front ends: the full-screen Textual app and the line REPL."""
