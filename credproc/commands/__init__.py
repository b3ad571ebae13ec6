"""Core command functions: explicit arguments in, values out. They never print."""
