"""consensus_components against cNMF's replicates, on the PBMC data of examples/pbmc_programs.py.

    python asv_bench/cnmf_compare.py [--ks 8] [--runs 100] [--repeat 1]
                                     [--cnmf-python /tmp/cnmf_venv/bin/python]

Sides, measured on the same matrix (700 cells × 765 genes, CSR, counts scaled to unit
variance as cNMF prepares them), the same n_runs and ranks, one after another in one process:

* ``nmf_numba``: ``consensus_components(X, ks, n_runs, random_state=0)`` at its defaults
  (replicates side by side through nmf_many, stop="relative" tol=1e-4, max_iter=2000) plus
  the consensus (density filter, k-means, silhouette, NNLS refit).
* ``sklearn loop``: what cNMF's ``factorize`` step runs, a Python loop of scikit-learn's
  ``non_negative_factorization(X, k, init="random", solver="cd", beta_loss="frobenius",
  tol=1e-4, max_iter=1000, alpha_W=0, alpha_H="same", l1_ratio=0, random_state=seed)`` (cNMF
  1.x's ``get_nmf_iter_params`` for β = 2) over the same seeds: the replicates only, none of
  the consensus step.
* ``cnmf`` (with ``--cnmf-python``, cNMF installed in a separate environment, e.g.
  ``python3 -m venv /tmp/cnmf_venv && /tmp/cnmf_venv/bin/pip install cnmf``): cNMF's own
  workflow on the recovered counts, ``prepare`` (2000 highly variable genes keep all 765),
  ``factorize`` (one worker), ``combine`` and ``consensus(k, density_threshold=0.5)`` per k,
  run in a subprocess; the time of each step is printed.

Each library runs at its own stopping rule (documented above), so their iteration counts
differ; the mean final relative error of the replicates is printed for each side.  BLAS and
scikit-learn run on the threads they choose (cNMF sets none).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

CNMF_SCRIPT = textwrap.dedent("""
    import json, sys, time, warnings
    warnings.simplefilter("ignore")
    from cnmf import cNMF
    counts, out, ks, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
    times = {}
    t = time.perf_counter()
    obj = cNMF(output_dir=out, name="pbmc")
    obj.prepare(counts_fn=counts, components=ks, n_iter=runs, seed=14, num_highvar_genes=2000)
    times["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    obj.factorize(worker_i=0, total_workers=1)
    times["factorize"] = time.perf_counter() - t
    t = time.perf_counter()
    obj.combine()
    times["combine"] = time.perf_counter() - t
    t = time.perf_counter()
    for k in ks:
        obj.consensus(k, density_threshold=0.5)
    times["consensus"] = time.perf_counter() - t
    print(json.dumps(times))
""")


def sklearn_loop(X, ks, seeds):
    from sklearn.decomposition import non_negative_factorization

    from nmf_numba.metrics import relative_error

    errors = []
    for k in ks:
        for seed in seeds:
            W, H, _ = non_negative_factorization(
                X, n_components=k, init="random", solver="cd", beta_loss="frobenius",
                tol=1e-4, max_iter=1000, alpha_W=0.0, alpha_H="same", l1_ratio=0.0,
                random_state=int(seed))
            errors.append(relative_error(X, W, H))
    return float(np.mean(errors))


def run_cnmf(python, counts, ks, n_runs):
    import anndata

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "counts.h5ad"
        anndata.AnnData(X=counts.astype(np.float32)).write_h5ad(path)
        out = subprocess.run([python, "-c", CNMF_SCRIPT, str(path), tmp, json.dumps(ks),
                              str(n_runs)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[8])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1, help="best of this many calls")
    parser.add_argument("--cnmf-python", default=None)
    args = parser.parse_args(argv)

    import nmf_numba
    from nmf_numba._random import draw_seeds
    from pbmc_programs import load_pbmc68k_reduced, unit_variance

    counts, _, _ = load_pbmc68k_reduced()
    X, _ = unit_variance(counts)
    print(f"PBMC: {X.shape[0]} x {X.shape[1]} CSR, ks={args.ks}, n_runs={args.runs}")

    # warm the JIT outside the timings
    nmf_numba.consensus_components(X, 2, n_runs=2, random_state=0)
    best = {"nmf_numba": np.inf, "sklearn loop": np.inf}
    for _ in range(args.repeat):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sweep = nmf_numba.consensus_components(X, args.ks, n_runs=args.runs,
                                                   random_state=0)
        best["nmf_numba"] = min(best["nmf_numba"], time.perf_counter() - t)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk_error = sklearn_loop(X, args.ks, draw_seeds(0, args.runs))
        best["sklearn loop"] = min(best["sklearn loop"], time.perf_counter() - t)
    ours_error = np.mean([np.sqrt(2 * loss) / np.sqrt(X.multiply(X).sum())
                          for res in sweep for loss in res.losses])
    print(f"  nmf_numba consensus_components: {best['nmf_numba']:8.2f} s  "
          f"(replicates' mean relative error {ours_error:.5f})")
    print(f"  scikit-learn replicates (loop):  {best['sklearn loop']:8.2f} s  "
          f"(replicates' mean relative error {sk_error:.5f})")
    print(f"  ratio sklearn loop / nmf_numba: {best['sklearn loop'] / best['nmf_numba']:.2f}x")
    if args.cnmf_python:
        times = run_cnmf(args.cnmf_python, counts, args.ks, args.runs)
        total = sum(times.values())
        print("  cNMF workflow: " + ", ".join(f"{s} {v:.2f} s" for s, v in times.items())
              + f"; total {total:.2f} s")
        print(f"  ratio cNMF (factorize+combine+consensus) / nmf_numba: "
              f"{(total - times['prepare']) / best['nmf_numba']:.2f}x; total / nmf_numba "
              f"{total / best['nmf_numba']:.2f}x")


if __name__ == "__main__":
    main()
