"""nmf() on Dask against nmf() on one machine: per-iteration time, fixed overhead, weak scaling.

    python asv_bench/dask_bench.py            # the sizes of the README's table (a few minutes)
    python asv_bench/dask_bench.py --quick    # small sizes, a smoke run

What is measured (float64, k = 20, ``solver="cd"``, β = 2, ``tol=0``, the same random start):

* one machine: ``nmf(X)`` on a NumPy / SciPy X with Numba and the BLAS on one thread;
* Dask: ``nmf(da.from_array(X, chunks=rows))`` on a ``LocalCluster`` with 1 or 2 worker
  processes of one thread each, one row block per worker;
* the per-iteration time, ``(t[N] − t[N0]) / (N − N0)`` from the fit's own history (the time of
  every objective check), so start-up, initialisation and compilation are not counted;
* the fixed overhead per iteration: the same on a tiny X (64 rows), where the kernels take
  microseconds and what remains is Dask: building the round's graph, scheduling one task per
  block, the tree reduction and the transfers;
* weak scaling: X grows with the workers (each worker holds the same number of rows), so the
  ideal per-iteration time is flat.

The machine's cores are shared by the client, the scheduler and the workers: on a 2-core VM the
2-worker rows are the least favourable case.
"""

import argparse
import functools
import platform
import time
import warnings

import numpy as np
import scipy.sparse as sp

K = 20
N0, N = 3, 15


def dense_rows(rows, seed, n):
    rng = np.random.default_rng(seed)
    return rng.random((rows, K)) @ rng.random((K, n)) / K + 0.1 * rng.random((rows, n))


def csr_rows(rows, seed, n, per_row):
    rng = np.random.default_rng(seed)
    band = n // per_row
    indices = rng.integers(0, band, size=(rows, per_row)) + np.arange(per_row) * band
    indices = np.minimum(indices, n - 1)
    indptr = np.arange(0, rows * per_row + 1, per_row)
    return sp.csr_matrix((rng.random(rows * per_row) + 0.01, indices.ravel(), indptr),
                         shape=(rows, n))


def per_iteration(res):
    t, it = res.history["time"], res.history["iteration"]
    a, b = np.searchsorted(it, N0), np.searchsorted(it, N)
    return (t[b] - t[a]) / (it[b] - it[a])


def fit(X, W0, H0):
    import nmf_numba

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return nmf_numba.nmf(X, K, solver="cd", init=(W0, H0), max_iter=N, tol=0)


def start(X, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((X.shape[0], K)), rng.random((K, X.shape[1]))


def one_machine(X, W0, H0):
    import numba
    from threadpoolctl import threadpool_limits

    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            fit(X, W0, H0)  # compile / load the kernels
            return min(per_iteration(fit(X, W0, H0)) for _ in range(2))
    finally:
        numba.set_num_threads(before)


def on_dask(client, make, rows, workers, W0, H0):
    """Each worker makes its own rows (as it would read them) and keeps them."""
    import dask
    import dask.array as da

    meta = make(1, 0)
    blocks = [da.from_delayed(dask.delayed(make)(rows, seed), shape=(rows, meta.shape[1]),
                              dtype=meta.dtype, meta=meta[:0])
              for seed in range(workers)]
    Xd = client.persist(da.concatenate(blocks))  # X lives on the workers before the clock starts
    fit(Xd, W0, H0)
    return min(per_iteration(fit(Xd, W0, H0)) for _ in range(2))


def _warm():
    import nmf_numba

    warnings.simplefilter("ignore")
    for X in (np.random.rand(20, 10), sp.random(20, 10, density=0.3, format="csr")):
        nmf_numba.nmf(X, 2, solver="cd", init="random", max_iter=2)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from dask.distributed import Client, LocalCluster

    if args.quick:
        dense_shape, csr_shape, per_row = (2000, 200), (20000, 2000), 10
    else:
        dense_shape, csr_shape, per_row = (20000, 1000), (200000, 10000), 20
    print(f"# nmf() on Dask vs one machine; {platform.processor() or platform.machine()}, "
          f"k={K}, cd, float64, per iteration = (t[{N}] - t[{N0}]) / {N - N0}")
    print(f"{'data':44s} {'workers':>7s} {'one machine':>12s} {'dask':>10s} {'dask/one':>9s}")
    cases = [
        ("tiny dense 64×50 (fixed overhead)", functools.partial(dense_rows, n=50), 32),
        (f"dense {dense_shape[0]}×{dense_shape[1]} per worker",
         functools.partial(dense_rows, n=dense_shape[1]), dense_shape[0]),
        (f"CSR {csr_shape[0]}×{csr_shape[1]}, {per_row}/row per worker",
         functools.partial(csr_rows, n=csr_shape[1], per_row=per_row), csr_shape[0]),
    ]
    results = []
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None, silence_logs=50) as cluster, \
                Client(cluster) as client:
            client.run(_warm)
            for label, make, rows in cases:
                # weak scaling: each worker brings its own rows
                parts = [make(rows, seed) for seed in range(workers)]
                X = sp.vstack(parts, format="csr") if sp.issparse(parts[0]) else np.vstack(parts)
                W0, H0 = start(X)
                t0 = time.perf_counter()
                ours = one_machine(X, W0, H0)
                theirs = on_dask(client, make, rows, workers, W0, H0)
                results.append((label, workers, ours, theirs))
                print(f"{label:44s} {workers:7d} {ours * 1e3:10.2f}ms {theirs * 1e3:8.2f}ms "
                      f"{theirs / ours:8.2f}×   ({time.perf_counter() - t0:.0f}s)", flush=True)
    print("\nweak scaling (per-iteration time with 2 workers and twice the rows / with 1):")
    for label, *_ in cases[1:]:
        one = next(r for r in results if r[0] == label and r[1] == 1)
        two = next(r for r in results if r[0] == label and r[1] == 2)
        print(f"  {label}: {two[3] / one[3]:.2f} (ideal 1.00; one machine, 1 thread: "
              f"{two[2] / one[2]:.2f})")
    return results


if __name__ == "__main__":
    main()
