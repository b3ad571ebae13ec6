"""credproc: a fast AWS credential helper.

Kept free of imports and work: the cache-hit path imports this package and must stay cheap.
"""

__version__ = "0.1.0"
