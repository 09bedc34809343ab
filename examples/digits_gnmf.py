"""Graph-regularised NMF (GNMF) against plain NMF for clustering handwritten digits.

    python examples/digits_gnmf.py [--quick] [--out DIR]

The data are scikit-learn's bundled digits (1797 images of 8×8 pixels, 10 classes), each image
scaled to unit Euclidean norm as in Cai, He, Han & Huang (IEEE TPAMI 2011).  GNMF adds
``(λ/2)·tr(Wᵀ L W)`` to the least-squares loss, with ``L`` the Laplacian of a 5-nearest-neighbour
graph between the images (``nmf_numba.knn_graph``): images that are neighbours get similar rows
of W.  Both models are fitted with k = 10 by the paper's multiplicative updates, from random
starts, for a fixed budget of 500 iterations (``tol=0``), with 10 seeds (3 with ``--quick``).
Each fit gives clusters in two ways:

* argmax over each row of W after scaling W's columns to unit norm (one component = one
  cluster, each component measured on its own scale);
* k-means on the rows of W, the protocol of Cai et al.

and ``nmf_numba.metrics.clustering_accuracy`` (best one-to-one matching of clusters to digits)
scores them.  GNMF's objective is not scale-invariant: ``W → W/c, H → c·H`` leaves the fit
unchanged and divides the graph term by c², so left alone a solver lets W shrink and H grow and
the graph's effect fades.  nmf_numba therefore keeps a graph fit's basis (the rows of H) at
unit Euclidean norm after every iteration, W carrying the scale, as Cai et al. normalise the
basis.  W's columns then carry each component's magnitude, which is why the argmax is taken
after scaling them to unit norm (the plain argmax of W picks the largest components: 0.21
accuracy at λ = 300).  The full run also sweeps λ and follows one long fit, printing the
range of W's column norms, which no longer collapses as λ or the iterations grow.

What the full run shows (10 seeds, λ = 300): k-means on W 0.81 (NMF 0.67) at a higher
relative error (0.54 against 0.33); argmax of the scaled W 0.60 (NMF 0.48).  Before the
balance (issue 21) GNMF's W columns shrank to norms 2.5–3.1 (5–9 for NMF); over 5 seeds it
scored k-means 0.810, scaled argmax 0.49 at λ = 300 and 0.80, 0.44 at λ = 1000, now 0.814,
0.59 and 0.813, 0.62.  Along one long fit k-means stays at 0.81 while the argmax clusters peak
early (0.74 at 200 iterations) and settle near 0.49 by 4000, with W's columns at norms 6–14.

With matplotlib installed, the accuracies (and, in the full run, the λ sweep and the long fit)
are saved as ``digits_gnmf.png`` in ``--out`` (default: the current folder).
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits

import nmf_numba
from nmf_numba.metrics import clustering_accuracy, relative_error

K = 10
N_NEIGHBORS = 5
LAMBDA = 300.0  # the best argmax accuracy of the full run's λ sweep (k-means likes 300-3000)


def scaled_labels(W):
    """argmax over each row of W with W's columns scaled to unit norm."""
    norms = np.linalg.norm(W, axis=0)
    return nmf_numba.clustering.labels(W / np.where(norms > 0, norms, 1.0))


def scores(X, y, res, seed):
    """(argmax accuracy, k-means accuracy, relative error) of a fit."""
    by_argmax = scaled_labels(res.W)
    by_kmeans = KMeans(K, n_init=10, random_state=seed).fit_predict(res.W)
    return (clustering_accuracy(y, by_argmax), clustering_accuracy(y, by_kmeans),
            relative_error(X, res))


def fit(X, lam, graph, seed, max_iter, callback=None):
    return nmf_numba.nmf(X, K, solver="mu", init="random", random_state=seed,
                         graph=graph if lam else None, graph_reg=lam,
                         max_iter=max_iter, tol=0, callback=callback)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X = X / np.linalg.norm(X, axis=1, keepdims=True)
    graph = nmf_numba.knn_graph(X, n_neighbors=N_NEIGHBORS, weight="binary")
    seeds = range(3) if args.quick else range(10)
    max_iter = 300 if args.quick else 500
    print(f"digits: {X.shape[0]} images × {X.shape[1]} pixels, {len(np.unique(y))} classes; "
          f"{N_NEIGHBORS}-NN graph with {graph.nnz // 2} edges")
    print(f"k = {K}, multiplicative updates, {max_iter} iterations, seeds 0..{len(seeds) - 1}\n")

    t0 = time.perf_counter()
    table = {}
    for name, lam in (("NMF", 0.0), (f"GNMF λ={LAMBDA:g}", LAMBDA)):
        table[name] = np.array([scores(X, y, fit(X, lam, graph, s, max_iter), s) for s in seeds])
    print("                 accuracy (argmax W)   accuracy (k-means on W)   relative error"
          "   (argmax: W's columns scaled to unit norm)")
    for name, s in table.items():
        mean, std = s.mean(axis=0), s.std(axis=0)
        print(f"{name:15}  {mean[0]:.3f} ± {std[0]:.3f}         {mean[1]:.3f} ± {std[1]:.3f}"
              f"             {mean[2]:.4f}")
    print(f"({time.perf_counter() - t0:.1f} s)")

    sweep = drift = None
    if not args.quick:
        lambdas = [0.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0]
        print("\nλ sweep (seeds 0..4):\n      λ   argmax   k-means   relative error")
        sweep = []
        for lam in lambdas:
            s = np.array([scores(X, y, fit(X, lam, graph, seed, max_iter), seed)
                          for seed in range(5)])
            sweep.append(s.mean(axis=0))
            print(f"  {lam:5g}   {sweep[-1][0]:.3f}    {sweep[-1][1]:.3f}     {sweep[-1][2]:.4f}")
        sweep = (lambdas, np.array(sweep))

        checkpoints = (50, 100, 200, 500, 1000, 2000, 4000)
        print(f"\none long fit per model (seed 0, λ = {LAMBDA:g}): accuracy along the run")
        print("  iteration   NMF argmax  k-means  ‖W col‖    |  GNMF argmax  k-means  ‖W col‖")
        drift = {}
        for name, lam in (("NMF", 0.0), ("GNMF", LAMBDA)):
            rows = []

            def record(info, rows=rows):
                if info.iteration in checkpoints:
                    by_kmeans = KMeans(K, n_init=10, random_state=0).fit_predict(info.W)
                    norms = np.linalg.norm(info.W, axis=0)
                    rows.append((clustering_accuracy(y, scaled_labels(info.W)),
                                 clustering_accuracy(y, by_kmeans), norms.min(), norms.max()))

            fit(X, lam, graph, 0, checkpoints[-1], callback=record)
            drift[name] = np.array(rows)
        for i, it in enumerate(checkpoints):
            a, b = drift["NMF"][i], drift["GNMF"][i]
            print(f"  {it:9d}   {a[0]:.3f}       {a[1]:.3f}   {a[2]:4.1f}–{a[3]:4.1f}  |  "
                  f"{b[0]:.3f}        {b[1]:.3f}   {b[2]:4.1f}–{b[3]:4.1f}")
        drift = (checkpoints, drift)
        print("(GNMF's basis is kept at unit norm, so W keeps its scale and the graph term "
              "its weight along the run)")

    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    panels = 1 if sweep is None else 3
    fig = Figure(figsize=(4.6 * panels, 3.8), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)[0]

    ax = axes[0]
    names = list(table)
    for j, (rule, offset) in enumerate((("argmax of W", -0.2), ("k-means on W", 0.2))):
        means = [table[n][:, j].mean() for n in names]
        stds = [table[n][:, j].std() for n in names]
        ax.bar(np.arange(len(names)) + offset, means, 0.4, yerr=stds, capsize=4, label=rule)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylim(0, 1)
    ax.set_ylabel("clustering accuracy")
    ax.set_title(f"{len(seeds)} seeds, {max_iter} iterations (mean ± std)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)

    if sweep is not None:
        lambdas, values = sweep
        ax = axes[1]
        xs = [max(lam, 1.0) for lam in lambdas]  # λ = 0 drawn at 1 on the log axis
        ax.semilogx(xs, values[:, 0], "o-", label="argmax of W")
        ax.semilogx(xs, values[:, 1], "s-", label="k-means on W")
        ax.semilogx(xs, values[:, 2], "^--", color="gray", label="relative error")
        ax.set_xlabel("graph_reg λ (λ = 0 drawn at 1)")
        ax.set_ylabel("accuracy / relative error")
        ax.set_title("λ sweep (5 seeds)", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)

        checkpoints, runs = drift
        ax = axes[2]
        for name, style in (("NMF", "--"), ("GNMF", "-")):
            ax.semilogx(checkpoints, runs[name][:, 0], "o" + style, color="C0",
                        label=f"{name}, argmax")
            ax.semilogx(checkpoints, runs[name][:, 1], "s" + style, color="C1",
                        label=f"{name}, k-means")
        ax.set_xlabel("iteration")
        ax.set_ylabel("clustering accuracy")
        ax.set_title(f"along one long fit (seed 0, λ = {LAMBDA:g})", fontsize=10)
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)

    fig.suptitle("Digits: plain NMF vs graph-regularised NMF (k = 10)")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "digits_gnmf.png"
    fig.savefig(path, dpi=100)
    print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
