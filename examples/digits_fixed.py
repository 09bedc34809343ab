"""Fixed (known) components: what NMF must add to components learned on other data.

    python examples/digits_fixed.py [--quick] [--out DIR]

Semi-supervised NMF on scikit-learn's digits (1797 images × 64 pixels, grey levels 0…16):

1. learn ``K_KNOWN`` components on the digits 0–4 only;
2. fit all the digits 0–9 with those components fixed (``fix_H``) plus ``K_NEW`` new ones
   learned: ``nmf(X, K_KNOWN + K_NEW, init=(W0, H0), fix_H=range(K_KNOWN))``.  H0 stacks the
   known components and an NNDSVDa start for the new ones; W0 is ``transform`` of X for H0;
3. compare with the known components alone (``transform``: W only) and with a fit of as many
   components, all learned.

The new components should be the strokes the digits 5–9 need and 0–4 did not: the script
prints, per digit class, the share of each image's weight (its row of W) that goes to the new
components, the class that uses each new component most, the new components as 8×8 character
maps, and the relative errors.  With matplotlib the components and the shares are saved as
``digits_fixed.png`` in ``--out`` (default: examples/output/, which git ignores).
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

import nmf_numba as nn

K_KNOWN, K_NEW = 10, 5
SHADES = " .:-=+*#%@"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("output"))
    args = parser.parse_args(argv)

    digits = load_digits()
    X, y = digits.data, digits.target
    if args.quick:  # every third image, fewer iterations
        X, y = X[::3], y[::3]
    fit_args = dict(max_iter=100 if args.quick else 1000, tol=1e-4 if args.quick else 1e-6,
                    stop="relative", random_state=0)
    k = K_KNOWN + K_NEW
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter caps the quick fits
        # 1. the known components, from the digits 0-4
        known = nn.nmf(X[y < 5], K_KNOWN, **fit_args).H
        # 2. all the digits: the known components fixed, K_NEW more learned
        _, H_new = nn.initialize(X, K_NEW, "nndsvda", random_state=0)
        H0 = np.vstack([known, H_new])
        W0 = nn.transform(X, H0)
        semi = nn.nmf(X, k, init=(W0, H0), fix_H=np.arange(K_KNOWN), **fit_args)
        # 3. the references: the known components alone, and k components all learned
        W_known = nn.transform(X, known)
        free = nn.nmf(X, k, **fit_args)
    seconds = time.perf_counter() - t0
    assert np.array_equal(semi.H[:K_KNOWN], known)  # the known components stayed as given

    print(f"digits: {X.shape[0]} images × {X.shape[1]} pixels; {K_KNOWN} components learned "
          f"on the digits 0-4, then {K_NEW} new ones on 0-9 ({seconds:.1f} s)")
    print("relative error on the digits 0-9, ‖X − WH‖_F / ‖X‖_F:")
    rows = [(f"known components only (transform, k = {K_KNOWN})",
             nn.metrics.relative_error(X, W_known, known), ""),
            (f"known fixed + {K_NEW} new (fix_H, k = {k})", nn.metrics.relative_error(X, semi),
             f"{semi.n_iter} iterations"),
            (f"all learned, none fixed (k = {k})", nn.metrics.relative_error(X, free),
             f"{free.n_iter} iterations")]
    for label, error, note in rows:
        print(f"  {label:42s} {error:.4f}  {note}")

    weight = semi.W * semi.H.sum(axis=1)  # each component's share of the image's total ink
    share_new = weight[:, K_KNOWN:].sum(axis=1) / np.maximum(weight.sum(axis=1), 1e-300)
    print("\nmean share of each image's weight on the new components, by digit class:")
    print("  class  " + "  ".join(f"{c:5d}" for c in range(10)))
    print("  share  " + "  ".join(f"{share_new[y == c].mean():5.2f}" for c in range(10)))
    print(f"  digits 0-4: {share_new[y < 5].mean():.2f}, digits 5-9: {share_new[y >= 5].mean():.2f}")

    usage = np.array([weight[y == c, K_KNOWN:].mean(axis=0) for c in range(10)])  # 10 × K_NEW
    print("\nthe new components (8×8 maps) and the classes that use each most:")
    for j in range(K_NEW):
        top = np.argsort(usage[:, j])[::-1][:3]
        print(f"  new {j}: digits " + ", ".join(f"{c} ({usage[c, j] / usage[:, j].sum():.0%})"
                                                 for c in top))
    blocks = [semi.H[K_KNOWN + j].reshape(8, 8) / max(semi.H[K_KNOWN + j].max(), 1e-12)
              for j in range(K_NEW)]
    for row in range(8):
        print("  " + "   ".join("".join(SHADES[int(v * 9.999)] for v in b[row]) for b in blocks))

    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    fig = Figure(figsize=(12, 4.2))
    grid = fig.add_gridspec(3, max(K_KNOWN, 10))
    for j in range(K_KNOWN):
        ax = fig.add_subplot(grid[0, j])
        ax.imshow(known[j].reshape(8, 8), cmap="gray_r")
        ax.set_axis_off()
        ax.set_title("known" if j == 0 else "", fontsize=9, loc="left")
    for j in range(K_NEW):
        ax = fig.add_subplot(grid[1, j])
        ax.imshow(semi.H[K_KNOWN + j].reshape(8, 8), cmap="Reds")
        ax.set_axis_off()
        ax.set_title(f"new {j}", fontsize=9)
    ax = fig.add_subplot(grid[2, :])
    ax.bar(range(10), [share_new[y == c].mean() for c in range(10)],
           color=["tab:grey"] * 5 + ["tab:red"] * 5)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit class")
    ax.set_ylabel("share on new")
    fig.suptitle(f"{K_KNOWN} components learned on digits 0-4 (fixed) + {K_NEW} learned on 0-9")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "digits_fixed.png"
    fig.savefig(path, dpi=100, bbox_inches="tight")
    print(f"figure written to {path}")


if __name__ == "__main__":
    main()
