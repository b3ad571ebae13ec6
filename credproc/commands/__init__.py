"""One module per command: plain functions with explicit arguments at the top (values in, values
out, never printing), the click command at the bottom (``command``: parses, calls one function,
renders). credproc.cli imports a module only when its command runs."""
