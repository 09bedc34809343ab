"""Command line: ``python -m nmf_numba demo``."""

import argparse
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
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    import nmf_numba as nn

    X = load_digits().data  # 1797 images of 8×8 pixels, values 0..16, shipped with scikit-learn
    k = args.n_components
    print(f"scikit-learn digits: X is {X.shape[0]}×{X.shape[1]}, n_components={k}, "
          f"beta_loss={args.beta_loss!r}, solver={args.solver!r}")
    kw = dict(beta_loss=args.beta_loss, solver=args.solver, max_iter=args.max_iter,
              random_state=0)

    t0 = time.perf_counter()
    nn.nmf(X[:40, :16], 4, **dict(kw, max_iter=2, tol=0))
    print(f"first call (JIT compilation of the kernels): {time.perf_counter() - t0:.2f} s\n")

    sk_solver = "cd" if nn.nmf(X[:4, :4], 1, **dict(kw, max_iter=1, tol=0)).solver == "cd" else "mu"
    rows = []
    for tol, label in ((args.tol, f"tol={args.tol:g}"), (0.0, f"{args.max_iter} iterations, tol=0")):
        t_ours, res = _timed(lambda: nn.nmf(X, k, tol=tol, **kw), args.repeat)
        model = NMF(k, beta_loss=args.beta_loss, solver=sk_solver, max_iter=args.max_iter,
                    tol=tol, random_state=0, init="nndsvda")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t_sk, W_sk = _timed(lambda: model.fit_transform(X), args.repeat)
        H_sk = model.components_
        rows.append((label, "nmf_numba", t_ours, res.n_iter,
                     nn.metrics.relative_error(X, res.W, res.H),
                     nn.metrics.explained_variance(X, res.W, res.H)))
        rows.append(("", "scikit-learn", t_sk, model.n_iter_,
                     nn.metrics.relative_error(X, W_sk, H_sk),
                     nn.metrics.explained_variance(X, W_sk, H_sk)))
        rows.append(("", f"  speed-up {t_sk / t_ours:.1f}×", None, None, None, None))

    print(f"{'run':28s} {'library':14s} {'time (s)':>9s} {'iters':>6s} {'rel. error':>11s} "
          f"{'expl. var.':>11s}")
    for label, lib, t, it, rel, ev in rows:
        if t is None:
            print(f"{'':28s} {lib}")
            continue
        print(f"{label:28s} {lib:14s} {t:9.3f} {it:6d} {rel:11.5f} {ev:11.5f}")
    print(f"\ntimes are the best of {args.repeat} runs after compilation, "
          f"same init (nndsvda) on both sides")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m nmf_numba", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="factorise scikit-learn's digits and compare with scikit-learn")
    p.add_argument("--n-components", type=int, default=16)
    p.add_argument("--beta-loss", default="frobenius")
    p.add_argument("--solver", default="auto", choices=["auto", "mu", "cd"])
    p.add_argument("--max-iter", type=int, default=200)
    p.add_argument("--tol", type=float, default=1e-4)
    p.add_argument("--repeat", type=int, default=3)
    p.set_defaults(func=demo)
    args = parser.parse_args(argv)
    try:
        args.beta_loss = float(args.beta_loss)
    except ValueError:
        pass
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
