"""The command line: ``nmf-numba fit | rank | demo`` (also ``python -m nmf_numba``).

    nmf-numba fit data.npz -k 20 --beta-loss kl --out factors.npz --plot figs/
    nmf-numba rank data.mtx --ranks 2:12
    nmf-numba demo

Errors (a missing or unreadable file, a bad option, data the fit rejects) are one line on
stderr and exit code 2, never a traceback; outputs are written to a temporary file in the same
directory and renamed into place, so an interrupted or failed run never leaves a partial file.
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

EXIT_USAGE = 2
INPUT_FORMATS = ".npy, .npz (dense or scipy.sparse.save_npz), .mtx, .csv, .tsv"
_BETA_NAMES = {"fro": "frobenius", "frobenius": "frobenius", "kl": "kullback-leibler",
               "kullback-leibler": "kullback-leibler", "is": "itakura-saito",
               "itakura-saito": "itakura-saito"}


class UsageError(Exception):
    """A problem with the command line or an input file: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: one line too
        raise UsageError(message)


# --------------------------------------------------------------------------------------------
# reading inputs, writing outputs
# --------------------------------------------------------------------------------------------


def read_matrix(path):
    """X from ``path`` by its extension: a 2-D float ndarray or a CSR matrix."""
    import scipy.sparse as sp

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    suffix = "".join(path.suffixes[-2:]) if path.suffix == ".gz" else path.suffix
    suffix = suffix.lower()
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            X = _read_npz(path)
        elif suffix in (".mtx", ".mtx.gz"):
            from scipy.io import mmread

            X = mmread(path)
            X = X.tocsr() if sp.issparse(X) else np.asarray(X)
        elif suffix in (".csv", ".tsv", ".txt"):
            X = _read_text(path, "\t" if suffix == ".tsv" else ",")
        else:
            raise UsageError(f"{path}: unknown format {path.suffix!r}; use {INPUT_FORMATS}")
    except UsageError:
        raise
    except (OSError, ValueError, EOFError, KeyError) as err:
        raise UsageError(f"{path}: cannot read it as {suffix}: {_one_line(err)}") from err
    if not sp.issparse(X):
        X = np.asarray(X)
        if X.ndim != 2:
            raise UsageError(f"{path}: expected a 2-D matrix, got {X.ndim} dimension(s) "
                             f"(shape {X.shape})")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise UsageError(f"{path}: expected numbers, got dtype {X.dtype}")
    return X


def _read_npz(path):
    import scipy.sparse as sp

    with np.load(path, allow_pickle=False) as f:
        keys = set(f.files)
        if {"format", "shape"} <= keys:  # written by scipy.sparse.save_npz
            pass
        elif len(keys) == 1:
            return f[next(iter(keys))]
        elif "X" in keys:
            return f["X"]
        else:
            raise UsageError(f"{path}: an .npz with several arrays ({', '.join(sorted(keys))}) "
                             "needs one named X")
    return sp.load_npz(path).tocsr()


def _read_text(path, delimiter):
    """Numeric CSV/TSV; a first line that does not parse as numbers is a header."""
    with open(path, encoding="utf-8", errors="strict") as f:
        first = f.readline()
    skip = 0
    try:
        [float(v) for v in first.strip().split(delimiter) if v.strip() != ""]
    except ValueError:
        skip = 1
    X = np.loadtxt(path, delimiter=delimiter, skiprows=skip, ndmin=2, dtype=np.float64)
    return X


def _one_line(err):
    return " ".join(str(err).split()) or type(err).__name__


def _atomic_write(path, write):
    """``write(file_object)`` into a temporary file beside ``path``, then rename it there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# --------------------------------------------------------------------------------------------
# the commands
# --------------------------------------------------------------------------------------------


def _beta(value):
    name = str(value).strip().lower()
    if name in _BETA_NAMES:
        return _BETA_NAMES[name]
    try:
        return float(name)
    except ValueError:
        raise UsageError(f"--beta-loss {value!r}: use fro, kl, is or a number") from None


def _progress_wanted(args):
    return not args.json and not args.quiet and sys.stderr.isatty()


def cmd_fit(args):
    import scipy.sparse as sp

    import nmf_numba as nn
    from nmf_numba import metrics

    X = read_matrix(args.input)
    out = Path(args.out)
    if out.suffix != ".npz":
        raise UsageError(f"--out {out}: the factors are written as .npz")
    params = dict(n_components=args.k, beta_loss=_beta(args.beta_loss), solver=args.solver,
                  init=args.init, max_iter=args.max_iter, tol=args.tol, alpha_W=args.alpha_W,
                  l1_ratio=args.l1_ratio, random_state=args.seed,
                  accelerate={"auto": "auto", "on": True, "off": False}[args.accelerate],
                  normalize=args.normalize)
    fixed = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.fix_H is not None:
            F = read_matrix(args.fix_H)
            fixed = dict(init=_start_with_fixed_rows(X, F, params, args.fix_H),
                         fix_H=np.arange(F.shape[0]))
        res = nn.nmf(X, verbose=_progress_wanted(args), **dict(params, **fixed))
    seconds = time.perf_counter() - t0
    W, H = res.W, res.H
    summary = {
        "input": str(args.input),
        "shape": list(X.shape),
        "format": "csr" if sp.issparse(X) else "dense",
        "parameters": dict(params, solver=res.solver, beta_loss=res.beta,
                           accelerate=res.accelerated,
                           fix_H=None if args.fix_H is None else str(args.fix_H)),
        "fixed_components": int(res.fixed_H.sum()),
        "n_iter": int(res.n_iter),
        "stop_reason": res.stop_reason,
        "converged": bool(res.converged),
        "seconds": round(seconds, 4),
        "objective": float(res.loss),
        "data_loss": float(res.data_loss),
        # of the model: W diag(scale) H with --normalize both
        "relative_error": float(metrics.relative_error(X, res)),
        "explained_variance": float(metrics.explained_variance(X, res)),
        "sparsity": {
            "W_zeros": float(np.mean(W == 0)),
            "H_zeros": float(np.mean(H == 0)),
            # Hoyer's measure needs vectors of 2 entries or more (None for a 1-row X, say)
            "W_hoyer": _hoyer(W, axis=0),
            "H_hoyer": _hoyer(H, axis=1),
        },
        "scale": None if res.scale is None else [float(v) for v in res.scale],
        "warnings": [_one_line(w.message) for w in caught],
        "outputs": {"factors": str(out), "summary": str(out.with_suffix(".json"))},
    }
    figures = []
    if args.plot:
        figures = _fit_figures(res, X, Path(args.plot))
        summary["outputs"]["figures"] = [str(p) for p in figures]
    factors = dict(W=W, H=H) if res.scale is None else dict(W=W, H=H, scale=res.scale)
    _atomic_write(out, lambda f: np.savez_compressed(f, **factors))
    text = json.dumps(summary, indent=2)
    _atomic_write(out.with_suffix(".json"), lambda f: f.write(text.encode() + b"\n"))
    if args.json:
        print(text)
    elif not args.quiet:
        print(f"{args.input}: {X.shape[0]}×{X.shape[1]} {summary['format']}, k={args.k}, "
              f"{res.solver}, β={res.beta:g}: {res.n_iter} iterations ({res.stop_reason}) in "
              f"{seconds:.2f} s")
        print(f"objective {res.loss:.6g}, relative error {summary['relative_error']:.4f}, "
              f"explained variance {summary['explained_variance']:.4f}, zeros in W "
              f"{summary['sparsity']['W_zeros']:.1%} and H {summary['sparsity']['H_zeros']:.1%}")
        for message in summary["warnings"]:
            print(f"warning: {message}")
        print(f"wrote {out} ({', '.join(factors)}) and {out.with_suffix('.json')}"
              + (f" and {len(figures)} figure(s) in {args.plot}" if figures else ""))
    return 0


def _start_with_fixed_rows(X, F, params, path):
    """The custom start ``(W0, H0)`` of ``fit --fix-H``: H0's first rows are the fixed
    components ``F`` (a dense array whose rows are components over X's columns), its other
    ``k − len(F)`` rows the first rows of the ``--init`` start drawn with ``k − len(F)``
    components; W0 is :func:`nmf_numba.transform` of X for that H0 (the best W for the start,
    with the fit's loss), so that the fixed and the drawn components start on one scale."""
    import scipy.sparse as sp

    import nmf_numba as nn

    k = params["n_components"]
    F = F.toarray() if sp.issparse(F) else np.asarray(F, dtype=np.float64)
    if F.shape[1] != X.shape[1]:
        raise UsageError(f"--fix-H {path}: its rows are components over X's {X.shape[1]} "
                         f"columns, got shape {F.shape}")
    if F.shape[0] > k:
        raise UsageError(f"--fix-H {path}: {F.shape[0]} fixed components for -k {k}; -k counts "
                         "the fixed and the learned components together")
    n_new = k - F.shape[0]
    H0 = F
    if n_new:
        _, H_new = nn.initialize(X, n_new, params["init"], random_state=params["random_state"])
        H0 = np.vstack([F, H_new])
    H0 = H0.astype(X.dtype if X.dtype in (np.float32, np.float64) else np.float64)
    W0 = nn.transform(X, H0, beta_loss=params["beta_loss"])
    return W0, H0


def _hoyer(A, axis):
    from nmf_numba import metrics

    if A.shape[axis] < 2:
        return None
    return metrics.hoyer_sparsity(A, axis=axis)  # the mean over the vectors


def _fit_figures(res, X, directory):
    from nmf_numba import plot

    paths = []
    fig = plot.objective(res)
    paths.append(_save_figure(fig, directory / "objective.png"))
    n = X.shape[1]
    side = int(round(np.sqrt(n)))
    if side * side == n:  # square images: show the components as pictures
        paths.append(_save_figure(plot.components(res.H, (side, side)),
                                  directory / "components.png"))
    else:
        names = [f"feature {j}" for j in range(n)]
        paths.append(_save_figure(plot.top_features(res.H, names), directory / "top_features.png"))
    return paths


def _save_figure(fig, path):
    _atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    return path


def _parse_ranks(text):
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop = parts[0], parts[1]
            step = parts[2] if len(parts) == 3 else 1
            ranks = list(range(start, stop + 1, step))
        else:
            ranks = [int(p) for p in text.split(",")]
    except ValueError:
        raise UsageError(f"--ranks {text!r}: use START:STOP[:STEP] (inclusive) or a "
                         "comma-separated list") from None
    if not ranks or min(ranks) < 1:
        raise UsageError(f"--ranks {text!r}: ranks must be positive integers")
    return ranks


def cmd_rank(args):
    import nmf_numba as nn

    X = read_matrix(args.input)
    ranks = _parse_ranks(args.ranks)
    t0 = time.perf_counter()
    limits = {} if args.max_iter is None else {"max_iter": args.max_iter}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sel = nn.select_rank(X, ranks, n_folds=args.folds, n_runs=args.runs,
                             beta_loss=_beta(args.beta_loss), random_state=args.seed,
                             **limits)
    seconds = time.perf_counter() - t0
    figures = []
    if args.plot:
        from nmf_numba import plot

        figures.append(_save_figure(plot.rank_selection(sel), Path(args.plot) / "ranks.png"))
    if args.json:
        print(json.dumps({"input": str(args.input), "table": sel.table,
                          "suggested_rank": int(sel.suggested_rank), "rule": sel.rule,
                          "seconds": round(seconds, 3),
                          "figures": [str(p) for p in figures]}, indent=2, default=float))
        return 0
    columns = [c for c in ("rank", "cv_error", "cv_error_std", "relative_error",
                           "explained_variance", "cophenetic", "dispersion") if c in sel.table[0]]
    print("  ".join(f"{c:>18s}" for c in columns))
    for row in sel.table:
        print("  ".join(f"{row[c]:18d}" if c == "rank" else f"{row[c]:18.6g}" for c in columns))
    print(f"suggested rank: {sel.suggested_rank} ({sel.rule}); {seconds:.1f} s")
    if figures:
        print(f"wrote {figures[0]}")
    return 0


def build_parser():
    from . import solvers  # the registry as it is now: solvers registered at run time included
    from ._validation import INITS, NORMALIZE

    parser = _Parser(prog="nmf-numba", description="Non-negative matrix factorisation "
                     "(X ≈ W H) of a matrix file.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fit = sub.add_parser("fit", help="factorise a matrix file; write W, H and a JSON summary",
                         description=f"INPUT: {INPUT_FORMATS}.")
    fit.add_argument("input", help=f"the matrix ({INPUT_FORMATS})")
    fit.add_argument("-k", "--n-components", dest="k", type=int, required=True)
    fit.add_argument("--beta-loss", default="fro", help="fro, kl, is or a number")
    fit.add_argument("--solver", default="auto", choices=solvers.names(),
                     help="; ".join(f"{s.name}: {s.summary}" for s in solvers.SOLVERS.values()))
    fit.add_argument("--accelerate", default="auto", choices=["auto", "on", "off"],
                     help="the solver's accelerated variant (see nmf()'s accelerate; auto: "
                          "where the benchmarks measured it faster)")
    fit.add_argument("--init", default="auto", choices=list(INITS))
    fit.add_argument("--max-iter", type=int, default=200)
    fit.add_argument("--tol", type=float, default=1e-4)
    fit.add_argument("--alpha-W", dest="alpha_W", type=float, default=0.0,
                     help="penalty weight (H gets the same)")
    fit.add_argument("--l1-ratio", type=float, default=0.0)
    fit.add_argument("--seed", type=int, default=None)
    fit.add_argument("--fix-H", dest="fix_H", metavar="FILE", default=None,
                     help="fixed (known) components: a matrix file whose rows are components "
                          "over X's columns; they are H's first rows and stay as given, the "
                          "other k minus their number are learned (start: --init's, W0: "
                          "transform of X for that H)")
    fit.add_argument("--normalize", default=None, choices=list(NORMALIZE),
                     help="H: rows of H sum to 1; W: columns of W sum to 1; both: both, the "
                          "model being W diag(scale) H (scale in the .npz and the summary); "
                          "components sorted by their share of the model")
    fit.add_argument("--out", default="factors.npz",
                     help="the factors (.npz with W and H, and scale with --normalize both); "
                          "the summary goes beside it as .json")
    fit.add_argument("--plot", metavar="DIR", default=None,
                     help="also save figures (needs matplotlib)")
    fit.add_argument("--json", action="store_true", help="print the summary as JSON")
    fit.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    fit.set_defaults(func=cmd_fit)

    rank = sub.add_parser("rank", help="score ranks by cross-validation and suggest one")
    rank.add_argument("input", help=f"the matrix ({INPUT_FORMATS})")
    rank.add_argument("--ranks", default="2:12", help="START:STOP[:STEP] or a list (2,4,8)")
    rank.add_argument("--folds", type=int, default=5)
    rank.add_argument("--runs", type=int, default=0,
                      help="restarts per rank for the consensus measures (0: skip)")
    rank.add_argument("--beta-loss", default="fro")
    rank.add_argument("--max-iter", type=int, default=None,
                      help="each fit's max_iter (default: select_rank's, which converges)")
    rank.add_argument("--seed", type=int, default=None)
    rank.add_argument("--plot", metavar="DIR", default=None)
    rank.add_argument("--json", action="store_true")
    rank.set_defaults(func=cmd_rank)

    demo = sub.add_parser("demo", help="time nmf_numba against scikit-learn: the default "
                          "calls on scikit-learn's digits, the time to the same objective, a "
                          "small fit and nmf_many")
    demo.add_argument("--n-components", type=int, default=16, help="k for the digits")
    demo.add_argument("--beta-loss", default="frobenius")
    demo.add_argument("--solver", default="auto", choices=["auto", "mu", "cd"],
                      help="auto: each library's default on the digits, 'cd' (or 'mu' for "
                      "other losses) for the small fits; mu/cd: that solver on both sides")
    demo.add_argument("--max-iter", type=int, default=200,
                      help="both libraries' max_iter, and the small fits' iterations")
    demo.add_argument("--tol", type=float, default=1e-4, help="both libraries' tol")
    demo.add_argument("--repeat", type=int, default=3, help="times are the best of this many")
    demo.add_argument("--many", type=int, default=200, metavar="P",
                      help="how many 64×32 problems nmf_many fits")
    demo.add_argument("--blas-threads", type=int, default=None, metavar="N",
                      help="limit the BLAS to N threads on both sides (default: as it is; "
                      "on a busy machine 1 gives steadier times)")
    demo.set_defaults(func=_demo)
    return parser


def _demo(args):
    from ._demo import demo

    for name in ("n_components", "max_iter", "repeat", "many", "blas_threads"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    args.beta_loss = _BETA_NAMES.get(str(args.beta_loss).lower(), args.beta_loss)
    try:
        args.beta_loss = float(args.beta_loss)
    except ValueError:
        pass
    return demo(args)


def main(argv=None):
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "plot", None) and importlib.util.find_spec("matplotlib") is None:
            raise UsageError('--plot needs matplotlib: pip install "nmf-numba[plot]"')
        return args.func(args)
    except UsageError as err:
        print(f"nmf-numba: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (ValueError, TypeError, FloatingPointError, MemoryError) as err:
        # what nmf() rejects (negative values, NaN, a bad rank, ...): its message, one line
        print(f"nmf-numba: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("nmf-numba: interrupted", file=sys.stderr)
        return 130
