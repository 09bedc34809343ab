"""``nmf-numba demo``: what a user gets from nmf_numba, next to scikit-learn.

Four comparisons, each timed as the best of ``--repeat`` runs (the small fit: of at least 5
rounds of 10 calls), the two libraries' runs alternating:

1. the default calls on scikit-learn's digits, ``nmf(X, k)`` and ``NMF(k).fit_transform(X)``
   (each library's own stopping rule, so the objectives they end at differ);
2. the time nmf_numba's default solver needs to reach the objective of scikit-learn's default
   call, both from the same NNDSVDa start;
3. one small fit (100×50, k=5), the same coordinate descent and iterations on both sides;
4. many small fits: ``nmf_many`` on a stack of 64×32 matrices against a Python loop over
   scikit-learn's ``non_negative_factorization``.
"""

import contextlib
import os
import time
import warnings

import numpy as np

SEED = 0
"""Both sides' ``random_state``: the NNDSVDa start uses a randomised SVD."""


def _race(ours, theirs, repeat, calls=1):
    """``(t_ours, t_theirs, out_ours, out_theirs)``: each time the best over ``repeat`` rounds
    of the mean of ``calls`` calls, with what the best round's last call returned; the two
    sides' rounds alternate, so that a change in the machine's load falls on both."""
    best, out = [float("inf"), float("inf")], [None, None]
    for _ in range(max(repeat, 1)):
        for side, fn in enumerate((ours, theirs)):
            t0 = time.perf_counter()
            for _ in range(calls):
                value = fn()
            elapsed = (time.perf_counter() - t0) / calls
            if elapsed < best[side]:
                best[side], out[side] = elapsed, value
    return best[0], best[1], out[0], out[1]


def _solver(res):
    """The solver a fit ran, "+acc" for its accelerated variant."""
    return res.solver + ("+acc" if res.accelerated else "")


def _machine():
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f
                         if line.startswith("model name")), "")
    except OSError:
        pass
    text = f"{name + ', ' if name else ''}{os.cpu_count()} CPUs"
    if hasattr(os, "getloadavg"):
        text += f", load average {os.getloadavg()[0]:.1f} before the demo"
    from threadpoolctl import threadpool_info

    blas = sorted({f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info()
                   if pool["user_api"] == "blas"})
    if blas:
        text += f"; BLAS threads: {', '.join(blas)}"
    return text


def _ratio(t_ours, t_sk):
    ratio = t_sk / t_ours
    if ratio >= 1.05:
        return f"{ratio:.1f}× as fast"
    return f"{ratio:.2f}× as fast" + (" (slower)" if ratio < 1 else "")


def _call(head, options, defaults):
    """``head(..., option=value)`` with the options that differ from the defaults."""
    extra = "".join(f", {key}={value!r}" for key, value in options.items()
                    if key in defaults and value != defaults[key])
    return f"{head}{extra})"


def demo(args):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import NMF, non_negative_factorization
    from sklearn.exceptions import ConvergenceWarning

    import nmf_numba as nn

    blas_threads = getattr(args, "blas_threads", None)
    with warnings.catch_warnings(), contextlib.ExitStack() as stack:
        warnings.simplefilter("ignore", ConvergenceWarning)
        if blas_threads is not None:
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(blas_threads, user_api="blas"))
        return _demo(args, nn, load_digits, NMF, non_negative_factorization)


def _demo(args, nn, load_digits, NMF, non_negative_factorization):
    X = load_digits().data  # 1797 images of 8×8 pixels, values 0..16, shipped with scikit-learn
    k, beta, repeat, n_iter = args.n_components, args.beta_loss, args.repeat, args.max_iter
    fro = beta in ("frobenius", 2, 2.0)
    objective = "½‖X−WH‖²" if fro else "D_β(X|WH)"
    # scikit-learn's default solver, "cd", only fits the Frobenius loss: its "mu" otherwise
    sk_solver = args.solver if args.solver != "auto" else ("cd" if fro else "mu")
    small_solver = sk_solver  # rows 3 and 4 run the same algorithm on both sides
    beta_kw = {} if beta == "frobenius" else dict(beta_loss=beta)
    ours_kw = dict(beta_kw, solver=args.solver, max_iter=n_iter, tol=args.tol)
    sk_kw = dict(beta_kw, solver=sk_solver, max_iter=n_iter, tol=args.tol)
    defaults = dict(beta_loss="frobenius", solver="auto", max_iter=200, tol=1e-4)
    p, (m_small, n_small), (m_many, n_many) = args.many, (100, 50), (64, 32)

    def f(A, W, H):
        return nn.metrics.beta_divergence(A, W, H, beta)

    print(f"nmf_numba demo: scikit-learn's digits, X {X.shape[0]}×{X.shape[1]}, n_components={k}"
          f", beta_loss={beta!r}")
    print(f"machine: {_machine()}")

    # the first calls compile the kernels (or load them from Numba's cache): out of the timings
    W0, H0 = nn.initialize(X, k, "nndsvda", random_state=SEED)
    small = np.random.default_rng(0).random((m_small, n_small))
    S = np.random.default_rng(1).random((p, m_many, n_many))
    t0 = time.perf_counter()
    nn.nmf(X, k, **dict(ours_kw, max_iter=2, tol=0), random_state=SEED)
    nn.nmf(X, k, **dict(ours_kw, max_iter=2, tol=0), init=(W0, H0), callback=lambda info: False)
    nn.nmf(small, 5, **dict(beta_kw, solver=small_solver, max_iter=2, tol=0))
    t_nmf = time.perf_counter() - t0
    t0 = time.perf_counter()
    nn.nmf_many(S[:2], 4, **dict(beta_kw, solver=small_solver, max_iter=2, tol=0),
                init="random", random_state=SEED)
    t_many = time.perf_counter() - t0
    print(f"first calls (compile the kernels, or load them from Numba's cache): "
          f"{t_nmf + t_many:.2f} s (nmf {t_nmf:.2f} s, nmf_many {t_many:.2f} s)")
    print(f"times: best of {repeat} run{'s' if repeat > 1 else ''}; random_state={SEED} on both "
          f"sides (the same NNDSVDa start); ConvergenceWarnings silenced\n")
    summary = []

    # 1. the default calls
    model = NMF(k, **sk_kw, random_state=SEED)
    t_ours, t_sk, res, W_sk = _race(lambda: nn.nmf(X, k, **ours_kw, random_state=SEED),
                                    lambda: model.fit_transform(X), repeat)
    f_ours, f_sk = f(X, res.W, res.H), f(X, W_sk, model.components_)
    ours_call = _call(f"nn.nmf(X, {k}", ours_kw, defaults)
    sk_call = _call(f"NMF({k}", sk_kw, dict(defaults, solver="cd")) + ".fit_transform(X)"
    w = max(34, len(ours_call), len(sk_call))
    ws = max(6, len(_solver(res)), len(sk_solver))
    print("1. The default calls: each library's defaults and its own stopping rule")
    print(f"   {'call':{w}s} {'solver':>{ws}s} {'time (s)':>9s} {'iters':>6s} {objective:>13s} "
          f"{'rel. error':>11s}")
    for call, solver, t, iters, W, H, fx in (
            (ours_call, _solver(res), t_ours, res.n_iter,
             res.W, res.H, f_ours),
            (sk_call, sk_solver, t_sk, model.n_iter_, W_sk, model.components_, f_sk)):
        print(f"   {call:{w}s} {solver:>{ws}s} {t:9.3f} {iters:6d} {fx:13.6g} "
              f"{nn.metrics.relative_error(X, W, H):11.5f}")
    gap = 100 * (f_ours - f_sk) / f_sk
    more = "higher" if gap >= 0 else "lower"
    sk_stop = "max_iter" if model.n_iter_ >= n_iter else "tol"
    print(f"   Before its first iteration nmf_numba spent {res.history['time'][0]:.3f} s (checks, "
          f"and the NNDSVDa start:\n   a randomised SVD).  Stopped by: nmf_numba "
          f"{res.stop_reason!r} (its objective's decrease over\n   10 iterations < tol × the "
          f"start's objective, {res.history['objective'][0]:.3g} here), scikit-learn\n   "
          f"{sk_stop!r} (its own rule).  The rules differ, so the objectives do:\n"
          f"   nmf_numba's is {abs(gap):.2f} % {more}.\n")
    summary.append(("default calls", _ratio(t_ours, t_sk),
                    f"objective {abs(gap):.2f} % {more}"))

    # 2. the time nmf_numba's default solver needs to reach scikit-learn's objective
    model = NMF(k, **dict(sk_kw, init="custom"))
    W_sk = model.fit_transform(X, W=W0.copy(), H=H0.copy())
    f_target = f(X, W_sk, model.components_)
    target = f_target * (1 + 1e-9)  # at most f_target, up to rounding
    cap = max(20 * n_iter, 1000)
    probe = nn.nmf(X, k, **dict(ours_kw, tol=0, max_iter=cap), init=(W0, H0),
                   callback=lambda info: info.objective <= target)
    needed = probe.n_iter
    # the timed calls run without the callback (in the compiled loop when it can): check that
    # the same number of iterations gets there, and add some if rounding says otherwise
    while needed < cap:
        check = nn.nmf(X, k, **dict(ours_kw, tol=0, max_iter=needed), init=(W0, H0))
        if f(X, check.W, check.H) <= target:
            break
        needed += 1 if fro else 10
    run = dict(ours_kw, tol=0, max_iter=needed)
    t_ours, t_sk, res, W_sk = _race(lambda: nn.nmf(X, k, **run, init=(W0, H0)),
                                    lambda: model.fit_transform(X, W=W0.copy(), H=H0.copy()),
                                    repeat)
    f_ours = f(X, res.W, res.H)
    reached = f_ours <= target
    print("2. Time to scikit-learn's objective: from the same NNDSVDa start, nmf_numba's "
          "default solver\n   runs until its objective is at most scikit-learn's default "
          "call's")
    ours_call = _call(f"nn.nmf(X, {k}, init=(W0, H0)", run, dict(defaults, max_iter=None))
    sk_call = _call(f"NMF({k}, init='custom'", sk_kw, dict(defaults, solver="cd"))
    w = max(34, len(ours_call), len(sk_call))
    ws = max(6, len(_solver(res)), len(sk_solver))
    print(f"   {'call':{w}s} {'solver':>{ws}s} {'time (s)':>9s} {'iters':>6s} {objective:>13s}")
    print(f"   {ours_call:{w}s} {_solver(res):>{ws}s} "
          f"{t_ours:9.3f} {res.n_iter:6d} {f_ours:13.6g}")
    print(f"   {sk_call:{w}s} {sk_solver:>{ws}s} {t_sk:9.3f} {model.n_iter_:6d} {f_target:13.6g}")
    if reached:
        print(f"   nmf_numba reaches scikit-learn's objective in {t_ours:.3f} s against "
              f"{t_sk:.3f} s: {_ratio(t_ours, t_sk)}.\n")
        summary.append(("same objective", _ratio(t_ours, t_sk),
                        f"{res.n_iter} iterations against {model.n_iter_}"))
    else:
        print(f"   nmf_numba did not reach it within {cap} iterations.\n")
        summary.append(("same objective", "not reached", f"within {cap} iterations"))

    # 3. one small fit, the same algorithm and iterations on both sides
    Ws, Hs = nn.initialize(small, 5, "nndsvda", random_state=SEED)
    calls, rounds = 10, max(repeat, 5)
    fixed = dict(beta_kw, solver=small_solver, max_iter=n_iter, tol=0)
    t_ours, t_sk, res, (W_sk, H_sk, _) = _race(
        lambda: nn.nmf(small, 5, **fixed, init=(Ws, Hs)),
        lambda: non_negative_factorization(small, Ws.copy(), Hs.copy(), n_components=5,
                                           init="custom", **fixed), rounds, calls)
    print(f"3. A small problem: {m_small}×{n_small} random, k=5, {n_iter} iterations, tol=0, "
          f"solver={small_solver!r}, the same NNDSVDa start\n   (ms per call: best of {rounds} "
          f"rounds of {calls} calls)")
    print(f"   {'call':50s} {'ms/call':>8s} {objective:>13s}")
    print(f"   {f'nn.nmf(X, 5, solver={small_solver!r})':50s} {1e3 * t_ours:8.2f} "
          f"{f(small, res.W, res.H):13.6g}")
    print(f"   {f'non_negative_factorization(X, solver={small_solver!r})':50s} "
          f"{1e3 * t_sk:8.2f} {f(small, W_sk, H_sk):13.6g}")
    print(f"   nmf_numba is {_ratio(t_ours, t_sk)}.\n")
    summary.append((f"small fit ({m_small}×{n_small})", _ratio(t_ours, t_sk),
                    f"{1e3 * t_ours:.2f} ms against {1e3 * t_sk:.2f} ms"))

    # 4. many small fits at once
    starts = [nn.initialize(S[i], 4, "random", random_state=i) for i in range(p)]
    W0s, H0s = np.stack([W for W, _ in starts]), np.stack([H for _, H in starts])

    def loop():
        return [non_negative_factorization(S[i], W0s[i].copy(), H0s[i].copy(), n_components=4,
                                           init="custom", **fixed)[:2] for i in range(p)]

    t_ours, t_sk, many, fits = _race(lambda: nn.nmf_many(S, 4, **fixed, init=(W0s, H0s)), loop,
                                     repeat)
    f_ours = np.mean([f(S[i], many.W[i], many.H[i]) for i in range(p)])
    f_sk = np.mean([f(S[i], W, H) for i, (W, H) in enumerate(fits)])
    print(f"4. Many small problems: {p} random {m_many}×{n_many} matrices, k=4, {n_iter} "
          f"iterations, tol=0, solver={small_solver!r},\n   each from "
          f"nn.initialize(S[i], 4, 'random', random_state=i)")
    print(f"   {'call':50s} {'time (s)':>8s} {'mean ' + objective:>15s}")
    print(f"   {'nn.nmf_many(S, 4, init=(W0s, H0s))':50s} {t_ours:8.3f} {f_ours:15.6g}")
    print(f"   {'for i: non_negative_factorization(S[i], ...)':50s} {t_sk:8.3f} {f_sk:15.6g}")
    print(f"   nmf_numba is {_ratio(t_ours, t_sk)}.\n")
    summary.append((f"nmf_many ({p} × {m_many}×{n_many})", _ratio(t_ours, t_sk),
                    f"{t_ours:.3f} s against {t_sk:.3f} s"))

    print("Summary: nmf_numba against scikit-learn")
    for label, ratio, note in summary:
        print(f"   {label + ':':27s} {ratio:24s} ({note})")
    return 0
