"""Which thread pools a fit uses: Numba's and the BLAS's.

Numba's worker threads and OpenBLAS's both busy-wait for a while after their work, so with both
pools at full size on a machine with as many cores as threads each steals the other's cores.
One pool therefore gets the cores (the README's performance section has the measurements):

* small problems (fewer than :data:`settings.small_problem` stored entries) use neither pool:
  waking a pool costs more than the kernels (they run in the compiled loop of
  :mod:`nmf_numba._compiled` where it has the solver; ``nmf_many`` runs many of them side by
  side, one per Numba thread);
* dense data with a step whose work is the two big BLAS products (the solver registry's
  ``blas_bound``): BLAS keeps every thread, Numba's kernels run on one;
* otherwise (sparse data, whose BLAS work is k×k Gram matrices, and kernel-bound steps): BLAS
  gets one thread and Numba every one.

Kernels split their work into a fixed number of chunks whatever the thread count, so the
choice changes the speed, not the results.  The BLAS limit is process-wide: while any fit that
asked for one BLAS thread runs, every fit's BLAS runs on one (dense BLAS-bound fits that overlap
a sparse one included), and the limit covers the BLAS libraries loaded when the first fit
started (NumPy's and SciPy's by then).  ``numba.get_num_threads()`` called inside a fit
(e.g. from its ``callback``) tells which policy is in force.
"""

import contextlib
import threading
from dataclasses import dataclass

import numba

__all__ = ["settings", "fit_threads", "init_threads", "single_threaded", "numba_serial",
           "serial_blas"]


@dataclass
class _Settings:
    small_problem: int = 200_000
    """Below this many stored entries a fit runs on the calling thread only."""


settings = _Settings()

_CONTROLLER = []  # one threadpoolctl controller per process: building one scans the libraries
_LOCK = threading.Lock()
_SERIAL_BLAS = {"fits": 0, "before": []}  # fits inside, and the BLAS thread counts before


def _blas_libraries():
    """threadpoolctl's controllers of the BLAS libraries (the controller is built once per
    process: building one scans the loaded libraries)."""
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return [lib for lib in _CONTROLLER[0].lib_controllers if lib.user_api == "blas"]


@contextlib.contextmanager
def serial_blas():
    """The BLAS on one thread while the block runs.  The limit is process-wide, and fits may
    overlap in several Python threads: the first fit to enter sets it, the last to leave
    restores what was there before the first (a per-fit restore would put back another fit's
    limit and leave the BLAS on one thread for good).  Each library's thread count is set
    directly (threadpoolctl's ``limit()`` re-reads every library's state, about 30 µs: a small
    fit's whole budget)."""
    with _LOCK:
        if _SERIAL_BLAS["fits"] == 0:
            before = [(lib, lib.get_num_threads()) for lib in _blas_libraries()]
            for lib, _ in before:
                lib.set_num_threads(1)
            _SERIAL_BLAS["before"] = before
        _SERIAL_BLAS["fits"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _SERIAL_BLAS["fits"] -= 1
            if _SERIAL_BLAS["fits"] == 0:
                for lib, threads in _SERIAL_BLAS["before"]:
                    lib.set_num_threads(threads)


@contextlib.contextmanager
def numba_serial():
    """Numba kernels on the calling thread only (``set_num_threads`` is per calling thread)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@contextlib.contextmanager
def single_threaded():
    """Numba and the BLAS both on the calling thread."""
    with serial_blas(), numba_serial():
        yield


def init_threads(n_stored):
    """The thread context of a fit's initialisation on ``n_stored`` stored entries: the BLAS on
    one thread for a small problem, as its iterations (an NNDSVD start, a randomized SVD, of
    scikit-learn's digits took 0.8 s with two BLAS threads on a busy 2-core machine and 0.01 s
    with one)."""
    return serial_blas() if n_stored < settings.small_problem else contextlib.nullcontext()


def fit_threads(sparse, blas_bound, n_stored):
    """The thread context for the iterations of a fit on ``n_stored`` stored entries."""
    if n_stored < settings.small_problem:
        return single_threaded()
    if not sparse and blas_bound:
        return numba_serial()
    return serial_blas()
