"""The line-oriented REPL (prompt_toolkit), in the spirit of pdb."""
