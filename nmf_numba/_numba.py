"""The one place that decides how kernels are compiled.

Every kernel in :mod:`nmf_numba.kernels` is decorated with ``njit(**PARALLEL)`` or
``njit(**SERIAL)`` from this module, so that changing a compile option means changing one line.

* ``fastmath`` never includes ``nnan``/``ninf``: the MU and β-divergence kernels rely on IEEE
  inf/NaN semantics and on explicit epsilon guards.  ``PARALLEL``/``SERIAL`` allow only
  ``contract`` (fused multiply-add) and ``nsz``.  ``PARALLEL_SUMS`` adds ``reassoc``, which lets
  LLVM vectorise the k-long dot products and axpys; it is only for kernels whose arithmetic is
  sums of products, because reassociating a ratio (``a * (b / c)`` → ``(a * b) / c``) overflows
  where the original does not (float32 MU on data around 1e13 turned into NaN).
* The threading layer is TBB where it is installed (a dependency on x86-64 Linux and Windows):
  it is the one Numba layer that is both thread-safe (several Python threads may run fits at
  once) and fork-safe (a ``fork``-based multiprocessing pool may run fits after the parent
  did).  GNU OpenMP, Numba's next choice, kills a forked child that launches a parallel
  kernel; the workqueue layer aborts when two threads launch kernels at once.  pip's ``tbb``
  wheel puts ``libtbb.so.12`` in ``<prefix>/lib``, where the dynamic loader does not look, so
  Numba would silently fall back to OpenMP: :func:`_make_tbb_loadable` loads it first.
  ``NUMBA_THREADING_LAYER`` still overrides the choice.
* ``cache`` is on: compiling the kernels a fit needs takes 10-15 s, reading them from Numba's
  on-disk cache well under a second (``python asv_bench/startup.py`` measures both).  The cache
  lives in ``__pycache__`` beside the package or, where that is read-only, in Numba's user-wide
  cache directory (``NUMBA_CACHE_DIR``).  Where neither is writable, caching is switched off
  here instead of failing at import.  ``NMF_NUMBA_CACHE=0`` switches it off on purpose — do
  that while editing kernels: Numba does not notice a change in an inlined helper from another
  file (``kernels/_scalar.py``) and would keep the stale machine code.
"""

import ctypes
import glob
import os
import site
import sys
import types

from numba import njit

__all__ = ["PARALLEL", "PARALLEL_SUMS", "SERIAL", "SERIAL_SUMS", "CACHE", "serial_twin"]


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


def _make_tbb_loadable():
    """Load pip's ``libtbb.so.12`` (if installed) so that Numba's TBB layer can find it."""
    if not sys.platform.startswith("linux"):
        return False
    for base in dict.fromkeys((sys.prefix, sys.base_prefix, site.getuserbase())):
        for path in sorted(glob.glob(os.path.join(base, "lib", "libtbb.so.12*"))):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return True
            except OSError:
                continue
    return False


_make_tbb_loadable()
CACHE = _cache_wanted_and_possible()

SERIAL = dict(nogil=True, cache=CACHE, fastmath={"contract", "nsz"})
PARALLEL = dict(SERIAL, parallel=True)
PARALLEL_SUMS = dict(PARALLEL, fastmath={"contract", "nsz", "reassoc"})
SERIAL_SUMS = dict(SERIAL, fastmath={"contract", "nsz", "reassoc"})


def serial_twin(kernel):
    """``kernel`` (a dispatcher compiled with ``parallel=True``) compiled again without it,
    for the compiled small-problem loop (:mod:`nmf_numba._compiled`), whose fits run on the
    calling thread and, in ``nmf_many``, side by side in a ``prange`` over problems.

    ``prange`` runs as ``range`` there, over the same fixed chunks, so the twin does the
    parallel kernel's arithmetic in the same order.  The twin is a copy of the Python function
    under its own name (``<name>_serial``), so that Numba's on-disk cache keeps the two
    compilations apart: the cache names its files after the function, not its options."""
    py_func = kernel.py_func
    twin = types.FunctionType(py_func.__code__, py_func.__globals__,
                              py_func.__name__ + "_serial", py_func.__defaults__,
                              py_func.__closure__)
    twin.__qualname__ = py_func.__qualname__ + "_serial"
    twin.__module__ = py_func.__module__
    twin.__doc__ = py_func.__doc__
    # targetoptions hold the compile flags; caching is the dispatcher's, so it is asked again
    options = {key: value for key, value in kernel.targetoptions.items()
               if key not in ("parallel", "nopython")}
    return njit(cache=CACHE, **options)(twin)
