"""Memory back to the system between stages: a stage's models go when the stage ends.

A full run is one process. Without this, the recogniser, the speaker models, the NLP
pipelines and the LLM each stayed resident after their stage, and the run's peak was their sum
(4.6 GB on the demo) instead of the largest stage's. Stages load models in functions memoised
with ``functools.lru_cache`` (loaded once, reused within the stage); those caches are emptied
here, the garbage collector runs, and glibc is asked to hand freed heap pages back (``malloc_trim``).
A model the next stage needs again is loaded again (seconds), which is the price of the bound.
"""

from __future__ import annotations

import ctypes
import functools
import gc
import sys

# The type of an lru_cache-wrapped function (CPython's C implementation; stable since 3.2).
_LRU_WRAPPER = type(functools.lru_cache(maxsize=1)(lambda: None))


def release(package: str = "pipeline") -> int:
    """Empty every lru_cache of ``package``'s loaded modules, collect, trim the heap; returns how
    many caches held something."""
    cleared = 0
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, _LRU_WRAPPER) and value.cache_info().currsize:
                value.cache_clear()
                cleared += 1
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: freed memory is still reused within the process
    return cleared
