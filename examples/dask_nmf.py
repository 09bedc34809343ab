"""NMF on Dask: the same nmf() call on a Dask array whose row blocks live on a cluster.

    python examples/dask_nmf.py [--quick] [--workers 2] [--out DIR]

The data are scikit-learn's handwritten digits (1797 images of 8×8 pixels, shipped inside
scikit-learn), cut into row shards as if each were a file on a different machine.  Each shard
is loaded by a task on the cluster (``dask.delayed``), stored as a CSR block, and never leaves
its worker: ``nmf()`` sees a Dask array and runs its per-block kernels where the blocks are,
sending only the 10×64 components back and forth.  The result is checked against the
single-machine ``nmf()`` from the same start, and the components are saved as an image when
matplotlib is installed.

Needs the ``dask`` extra: ``pip install 'nmf-numba[dask]'``.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

import nmf_numba
from nmf_numba.metrics import relative_error

K = 10


def load_shard(index, n_shards):
    """Rows ``index::n_shards`` of the digits as CSR (stands in for reading one file)."""
    from sklearn.datasets import load_digits

    X = load_digits().data[index::n_shards] / 16.0
    return sp.csr_matrix(X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args(argv)

    import dask
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    n_shards, max_iter = (2, 30) if args.quick else (4, 200)
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")
        sizes = [len(range(i, 1797, n_shards)) for i in range(n_shards)]
        blocks = [
            da.from_delayed(dask.delayed(load_shard)(i, n_shards), shape=(rows, 64),
                            dtype=np.float64, meta=sp.csr_matrix((0, 64)))
            for i, rows in enumerate(sizes)
        ]
        X = da.concatenate(blocks).persist()  # the shards are read on the workers, once

        t0 = time.perf_counter()
        res = nmf_numba.nmf(X, K, beta_loss="kullback-leibler", solver="mu", init="nndsvda",
                            max_iter=max_iter, tol=1e-4, random_state=0)
        seconds = time.perf_counter() - t0
        print(f"dask: {res.n_iter} iterations in {seconds:.1f}s "
              f"({1e3 * seconds / max(res.n_iter, 1):.0f} ms per iteration); "
              f"W is a dask array with row chunks {res.W.chunks[0]}, "
              f"H a {res.H.shape} NumPy array")

        # the same fit on one machine, from the same start (NNDSVDa computed here: the digits
        # are small enough to hold on the client, which a real distributed X would not be)
        X_local = sp.vstack([load_shard(i, n_shards) for i in range(n_shards)], format="csr")
        W0, H0 = nmf_numba.initialize(X_local, K, "nndsvda", random_state=0)
        kw = dict(beta_loss="kullback-leibler", solver="mu", init=(W0, H0), max_iter=max_iter,
                  tol=0)
        dist = nmf_numba.nmf(X, K, **kw)
        local = nmf_numba.nmf(X_local, K, **kw)
        W = dist.W.compute()
        diff = np.abs(W - local.W).max() / np.abs(local.W).max()
        print(f"same start, {max_iter} iterations: max |W_dask - W_one_machine| / max |W| = "
              f"{diff:.1e}")
        print(f"relative error {relative_error(X_local, W, dist.H):.4f} "
              f"(one machine {relative_error(X_local, local.W, local.H):.4f})")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    fig, axes = plt.subplots(1, K, figsize=(K, 1.3))
    for ax, component in zip(axes, res.H):
        ax.imshow(component.reshape(8, 8), cmap="gray_r")
        ax.set_axis_off()
    fig.suptitle("KL-NMF components of the digits, fitted on Dask")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "dask_digits_components.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
