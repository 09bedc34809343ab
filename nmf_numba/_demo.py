"""``nmf-numba demo``: the digits factorised by nmf_numba and by scikit-learn, side by side."""

import time
import warnings


def _timed(fn, repeat):
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def demo(args):
    from sklearn.datasets import load_digits
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    import nmf_numba as nn

    X = load_digits().data  # 1797 images of 8×8 pixels, values 0..16, shipped with scikit-learn
    k = args.n_components
    # the same algorithm on both sides: scikit-learn's cd for the Frobenius loss, else its mu
    solver = args.solver
    if solver == "auto":
        solver = "cd" if args.beta_loss in ("frobenius", 2, 2.0) else "mu"
    kw = dict(beta_loss=args.beta_loss, solver=solver, max_iter=args.max_iter, stop="sklearn")
    print(f"scikit-learn digits: X is {X.shape[0]}×{X.shape[1]}, n_components={k}, "
          f"beta_loss={args.beta_loss!r}, solver={solver!r}")

    t0 = time.perf_counter()
    first = nn.nmf(X[:40, :16], min(k, 16), **dict(kw, max_iter=2, tol=0))
    print(f"first call (compiles the kernels, or loads them from the cache): "
          f"{time.perf_counter() - t0:.2f} s\n")

    # both libraries start from the same factors
    W0, H0 = nn.initialize(X, k, "auto", random_state=0)
    sk_solver = "cd" if first.solver == "cd" else "mu"
    rows = []
    for tol in (args.tol, 0.0):
        model = NMF(k, beta_loss=args.beta_loss, solver=sk_solver, max_iter=args.max_iter,
                    tol=tol, init="custom")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_ours, res = _timed(lambda: nn.nmf(X, k, init=(W0, H0), tol=tol, **kw), args.repeat)
            t_sk, W_sk = _timed(lambda: model.fit_transform(X, W=W0.copy(), H=H0.copy()),
                                args.repeat)
        for lib, t, n_iter, W, H in (("nmf_numba", t_ours, res.n_iter, res.W, res.H),
                                     ("scikit-learn", t_sk, model.n_iter_, W_sk,
                                      model.components_)):
            rows.append((tol, lib, t, n_iter, nn.metrics.relative_error(X, W, H),
                         nn.metrics.explained_variance(X, W, H)))

    print(f"{'stopping':22s} {'library':13s} {'time (s)':>9s} {'iters':>6s} {'ms/iter':>8s} "
          f"{'rel. error':>11s} {'expl. var.':>11s}")
    for tol, lib, t, n_iter, rel, ev in rows:
        label = f"tol={tol:g}" if tol else f"{args.max_iter} iterations"
        print(f"{label:22s} {lib:13s} {t:9.3f} {n_iter:6d} {1e3 * t / max(n_iter, 1):8.2f} "
              f"{rel:11.5f} {ev:11.5f}")
    t_ours, t_sk = rows[2][2], rows[3][2]
    print(f"\nsame {args.max_iter} iterations from the same start: nmf_numba is "
          f"{t_sk / t_ours:.1f}× as fast as scikit-learn (best of {args.repeat} runs each).")
    print("With tol > 0 both stop by scikit-learn's rule (nmf(..., stop='sklearn')), so they "
          "run the same iterations.")
    return 0
