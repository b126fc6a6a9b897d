"""The debugger core: sessions, history, breakpoints and the command language."""
