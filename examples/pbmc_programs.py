"""Gene expression programs of blood cells by consensus NMF (cNMF; Kotliar et al., eLife 2019).

    python examples/pbmc_programs.py [--quick] [--runs N] [--out DIR]

The data are scanpy's bundled ``pbmc68k_reduced``: 700 peripheral blood mononuclear cells ×
765 genes from 10x Genomics' 68k PBMC data set, annotated with cell types (``bulk_labels``).
The file ships inside the scanpy wheel and is read from the installed package at run time.

What the file holds, and what this script factorises: ``.X`` is scaled (centred, with negative
values) and not usable for NMF; ``.raw.X`` is ``log1p`` of per-cell normalised counts, for the
765 genes only.  cNMF wants counts.  Each cell's smallest non-zero normalised value is taken to
be a count of 1, which turns ``expm1(raw.X)`` back into integers (to float32 rounding: the
largest deviation from an integer is 0.11, at counts in the hundreds; the median is 1e-16):
these are the counts of the 765 genes (not of the whole transcriptome; the cells'
``n_counts`` are 4-6 times larger).  cNMF's preparation is then followed as far as it applies:
its default of 2000 highly variable genes keeps all 765, and each gene is scaled to unit
variance without centring (so counts stay non-negative and sparse).  The matrix stays sparse
(CSR, about 33 % non-zero).

``nmf_numba.consensus_components`` runs ``--runs`` replicates (default 100, cNMF's default;
10 with ``--quick``) for each k in 5…10 (4…6 with ``--quick``), keeps the components found
in most replicates, clusters them into k programs, and reports each k's stability and error.
The script prints that table, the programs' top genes at the chosen k with the cell types that
use them most, and saves the stability-error plot and the clustergram into ``--out``
(default ``examples/output``).

Needs scanpy for the data and matplotlib for the figures: ``pip install "nmf-numba[examples]"``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import nmf_numba
from nmf_numba.metrics import relative_error


def load_pbmc68k_reduced():
    """``(counts CSR float64 (700, 765), genes, cell types)`` recovered from scanpy's file."""
    import anndata
    import scanpy

    path = Path(scanpy.__file__).parent / "datasets" / "10x_pbmc68k_reduced.h5ad"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # anndata moves old .uns entries
        adata = anndata.read_h5ad(path)
    logged = sp.csr_matrix(adata.raw.X, dtype=np.float64)
    scaled = logged.copy()
    scaled.data = np.expm1(scaled.data)
    smallest = np.minimum.reduceat(scaled.data, scaled.indptr[:-1])  # every cell has entries
    counts = sp.diags(1.0 / smallest) @ scaled
    counts.data = np.round(counts.data)
    return (sp.csr_matrix(counts), np.asarray(adata.raw.var_names),
            np.asarray(adata.obs["bulk_labels"].astype(str)))


def unit_variance(counts):
    """cNMF's scaling: each gene divided by its standard deviation (ddof=1), no centring."""
    mean = np.asarray(counts.mean(axis=0)).ravel()
    sq = counts.multiply(counts)
    var = (np.asarray(sq.sum(axis=0)).ravel() - counts.shape[0] * mean**2) / (counts.shape[0] - 1)
    std = np.sqrt(np.maximum(var, 0))
    keep = std > 0
    X = counts[:, keep] @ sp.diags(1.0 / std[keep])
    return sp.csr_matrix(X), keep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--runs", type=int, default=None,
                        help="replicates per k (default 100, 10 with --quick)")
    parser.add_argument("--k", type=int, default=None, help="the k whose programs to print (default: the most stable)")
    parser.add_argument("--out", type=Path, default=Path("examples") / "output")
    args = parser.parse_args(argv)

    try:
        counts, genes, cell_types = load_pbmc68k_reduced()
    except ImportError:
        sys.exit('The PBMC data are read from the scanpy package, which is not installed: '
                 'pip install "nmf-numba[examples]"')
    X, keep = unit_variance(counts)
    genes = genes[keep]
    n_runs = args.runs or (10 if args.quick else 100)
    ks = list(range(4, 7)) if args.quick else list(range(5, 11))
    print(f"pbmc68k_reduced: {X.shape[0]} cells × {X.shape[1]} genes (counts recovered from "
          f"raw.X, scaled to unit variance), {X.nnz / np.prod(X.shape):.0%} non-zero")

    t0 = time.perf_counter()
    sweep = nmf_numba.consensus_components(X, ks, n_runs=n_runs, random_state=0)
    seconds = time.perf_counter() - t0
    print(f"\nconsensus_components: {n_runs} replicates for each k in {ks[0]}..{ks[-1]} in "
          f"{seconds:.1f} s")
    print("   k  stability  relative error  kept components")
    for row in sweep.table:
        print(f"  {row['k']:2d}  {row['stability']:9.3f}  {row['error']:14.4f}  "
              f"{row['n_kept']:5d} of {n_runs * row['k']}")

    k = args.k if args.k in sweep.by_k else max(sweep.ks, key=lambda r: sweep[r].stability)
    res = sweep[k]
    print(f"\nprograms at k = {k} (stability {res.stability:.3f}, relative error "
          f"{relative_error(X, res.W, res.H):.4f}): top genes, and the cell types with the "
          "highest mean usage")
    usage = res.W / np.maximum(res.W.sum(axis=1, keepdims=True), 1e-300)  # per-cell fractions
    types = np.unique(cell_types)
    for i in range(k):
        top = genes[np.argsort(res.H[i])[::-1][:10]]
        mean_usage = np.array([usage[cell_types == t, i].mean() for t in types])
        best = types[np.argsort(mean_usage)[::-1][:2]]
        print(f"  program {i}: {' '.join(top)}\n             used most by: "
              + ", ".join(f"{t} ({mean_usage[types == t][0]:.2f})" for t in best))

    try:
        from nmf_numba.plot import component_clusters, stability_error
    except ImportError:
        return
    try:
        fig = stability_error(sweep)
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    args.out.mkdir(parents=True, exist_ok=True)
    fig.suptitle(f"pbmc68k_reduced: {n_runs} replicates per k", fontsize=10)
    path = args.out / "pbmc_k_selection.png"
    fig.savefig(path, dpi=100)
    print(f"\nsaved {path}")
    path = args.out / f"pbmc_clustergram_k{k}.png"
    component_clusters(res).savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
