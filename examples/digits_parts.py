"""Parts-based components of handwritten digits (scikit-learn's bundled 8×8 digits).

    python examples/digits_parts.py            # prints the fit; saves a figure if matplotlib is there

NMF with the Kullback-Leibler loss learns non-negative "strokes" whose sums rebuild the digits.
The components are printed as 8×8 character maps; with matplotlib installed they are also saved
to examples/output/digits_parts.png.
"""

import pathlib
import time

from sklearn.datasets import load_digits

import nmf_numba as nn

X = load_digits().data  # 1797 × 64, values 0..16
k = 16

t0 = time.perf_counter()
res = nn.nmf(X, k, beta_loss="kullback-leibler", init="nndsvda", max_iter=500, random_state=0)
seconds = time.perf_counter() - t0

print(f"{res.n_iter} iterations in {seconds:.2f} s (stopped by {res.stop_reason})")
print(f"relative error      {nn.metrics.relative_error(X, res.W, res.H):.4f}")
print(f"explained variance  {nn.metrics.explained_variance(X, res.W, res.H):.4f}")
print(f"sparsity of H rows  {nn.metrics.hoyer_sparsity(res.H, axis=1):.3f} (Hoyer; 0 dense, 1 one pixel)")
print(f"sparsity of W cols  {nn.metrics.hoyer_sparsity(res.W, axis=0):.3f}")

shades = " .:-=+*#%@"
for i in range(0, k, 4):  # four components per line of text
    blocks = [res.H[c].reshape(8, 8) / max(res.H[c].max(), 1e-12) for c in range(i, i + 4)]
    for row in range(8):
        print("   ".join("".join(shades[int(v * 9.999)] for v in b[row]) for b in blocks))
    print()

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no figure written")
else:
    out = pathlib.Path(__file__).with_name("output")
    out.mkdir(exist_ok=True)
    fig, axes = plt.subplots(2, k // 2, figsize=(k // 2 * 1.2, 2.6))
    for ax, comp in zip(axes.ravel(), res.H):
        ax.imshow(comp.reshape(8, 8), cmap="gray_r")
        ax.set_axis_off()
    fig.suptitle("NMF (KL) components of the digits")
    fig.savefig(out / "digits_parts.png", dpi=100, bbox_inches="tight")
    print(f"figure written to {out / 'digits_parts.png'}")
