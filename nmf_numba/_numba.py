"""The one place that decides how kernels are compiled.

Every kernel in :mod:`nmf_numba.kernels` is decorated with ``njit(**PARALLEL)`` or
``njit(**SERIAL)`` from this module, so that changing a compile option means changing one line.

* ``fastmath`` is a subset without ``nnan``/``ninf``: the MU and β-divergence kernels rely on
  IEEE inf/NaN semantics and on explicit epsilon guards.  ``reassoc`` and ``contract`` let LLVM
  vectorise the short k-loops (dot products of length n_components); they change rounding only.
* ``cache`` is off by default.  On-disk caching of parallel kernels has known rough edges (stale
  caches across numba versions, read-only installs), and the kernels here compile in a few
  seconds.  Set ``NMF_NUMBA_CACHE=1`` in the environment before importing the package to opt in.
"""

import os

__all__ = ["PARALLEL", "SERIAL", "CACHE"]

CACHE = os.environ.get("NMF_NUMBA_CACHE", "0").strip().lower() in ("1", "true", "yes", "on")

_FASTMATH = {"contract", "reassoc", "nsz"}

SERIAL = dict(nogil=True, cache=CACHE, fastmath=_FASTMATH)
PARALLEL = dict(SERIAL, parallel=True)
