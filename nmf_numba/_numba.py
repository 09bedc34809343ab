"""The one place that decides how kernels are compiled.

Every kernel in :mod:`nmf_numba.kernels` is decorated with ``njit(**PARALLEL)`` or
``njit(**SERIAL)`` from this module, so that changing a compile option means changing one line.

* ``fastmath`` is a subset without ``nnan``/``ninf``: the MU and β-divergence kernels rely on
  IEEE inf/NaN semantics and on explicit epsilon guards.  ``reassoc`` and ``contract`` let LLVM
  vectorise the short k-loops (dot products of length n_components); they change rounding only.
* ``cache`` is on: compiling the kernels a fit needs takes 10-15 s, reading them from Numba's
  on-disk cache well under a second (``python asv_bench/startup.py`` measures both).  The cache
  lives in ``__pycache__`` beside the package or, where that is read-only, in Numba's user-wide
  cache directory (``NUMBA_CACHE_DIR``).  Where neither is writable, caching is switched off
  here instead of failing at import.  ``NMF_NUMBA_CACHE=0`` switches it off on purpose — do
  that while editing kernels: Numba does not notice a change in an inlined helper from another
  file (``kernels/_scalar.py``) and would keep the stale machine code.
"""

import os

from numba import njit

__all__ = ["PARALLEL", "SERIAL", "CACHE"]


def _probe():
    return 0


def _cache_wanted_and_possible():
    if os.environ.get("NMF_NUMBA_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    try:  # numba picks the cache location when decorating; nothing is compiled here
        njit(cache=True)(_probe)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return False
    return True


CACHE = _cache_wanted_and_possible()

_FASTMATH = {"contract", "reassoc", "nsz"}

SERIAL = dict(nogil=True, cache=CACHE, fastmath=_FASTMATH)
PARALLEL = dict(SERIAL, parallel=True)
