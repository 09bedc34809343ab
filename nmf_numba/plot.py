"""Figures of fits: objective traces, components, top features, consensus, rank selection,
the consensus of components (cNMF).

Every function builds and returns a :class:`matplotlib.figure.Figure` (or draws on the ``ax``
given) and never shows or saves it: call ``fig.savefig(path)`` or ``plt.show()`` yourself.
The figures are made with ``matplotlib.figure.Figure`` directly, not through pyplot, so they
work in scripts, servers and notebooks alike and are freed when no longer referenced.

matplotlib is an optional dependency: ``pip install "nmf-numba[plot]"``.
"""

import numpy as np

__all__ = [
    "objective",
    "components",
    "top_features",
    "consensus_matrix",
    "rank_selection",
    "stability_error",
    "component_clusters",
]


def _figure(figsize):
    try:
        from matplotlib.figure import Figure
    except ImportError as err:
        raise ImportError('nmf_numba.plot needs matplotlib: pip install "nmf-numba[plot]"') \
            from err
    return Figure(figsize=figsize, layout="constrained")


def _axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig = _figure(figsize)
    return fig, fig.add_subplot()


def objective(results, labels=None, *, x="iteration", relative=True, ax=None):
    """Objective against iteration or time for one or several fits on one axis.

    Parameters
    ----------
    results : NMFResult or list of NMFResult
        Fits of :func:`nmf_numba.nmf` (their ``history``).
    labels : list of str, optional
        Legend entries (default: each fit's solver).
    x : {"iteration", "time"}
    relative : bool
        Plot ``objective / min over all fits − 1`` (the gap to the best objective, on a log
        axis), which shows convergence far better than the raw objective; False plots the raw
        objective.
    ax : matplotlib Axes, optional
    """
    if not isinstance(results, (list, tuple)):
        results = [results]
    if x not in ("iteration", "time"):
        raise ValueError(f"x must be 'iteration' or 'time', got {x!r}.")
    if labels is None:
        labels = [getattr(r, "solver", f"fit {i}") for i, r in enumerate(results)]
    if len(labels) != len(results):
        raise ValueError(f"{len(labels)} labels for {len(results)} results.")
    fig, ax = _axes(ax, (6, 4))
    best = min(float(np.min(r.history["objective"])) for r in results)
    for res, label in zip(results, labels):
        f = np.asarray(res.history["objective"], dtype=float)
        xs = np.asarray(res.history[x], dtype=float)
        if relative:
            gap = f / best - 1 if best > 0 else f - best
            # the best point itself has gap 0: show it at the floor of the other gaps
            positive = gap[gap > 0]
            floor = positive.min() / 10 if positive.size else 1e-16
            ax.semilogy(xs, np.maximum(gap, floor), label=label)
        else:
            ax.plot(xs, f, label=label)
    ax.set_xlabel("iteration" if x == "iteration" else "time (s)")
    ax.set_ylabel("objective / best − 1" if relative else "objective")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return fig


def components(H, image_shape, *, n_cols=None, titles=None, cmap="gray_r"):
    """The rows of H (k × n) as images of ``image_shape`` (rows × cols = n), in a grid.

    Each image has its own colour scale (components differ in magnitude)."""
    H = np.asarray(H)
    if H.ndim != 2:
        raise ValueError(f"H must be 2-D (k × n), got shape {H.shape}.")
    image_shape = tuple(int(s) for s in image_shape)
    if len(image_shape) != 2 or image_shape[0] * image_shape[1] != H.shape[1]:
        raise ValueError(f"image_shape {image_shape} does not hold the {H.shape[1]} features of "
                         "each component (rows × cols must equal n_features).")
    k = H.shape[0]
    n_cols = n_cols or int(np.ceil(np.sqrt(k)))
    n_rows = int(np.ceil(k / n_cols))
    aspect = image_shape[0] / image_shape[1]
    fig = _figure((1.6 * n_cols, 1.6 * n_rows * aspect + 0.3))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if i < k:
            ax.imshow(H[i].reshape(image_shape), cmap=cmap, interpolation="nearest")
            if titles is not None:
                ax.set_title(str(titles[i]), fontsize=8)
    return fig


def top_features(H, feature_names, *, n_top=10, n_cols=None):
    """The ``n_top`` largest-weighted features of each component, as horizontal bar charts
    (for text: the top words of each topic)."""
    H = np.asarray(H)
    names = np.asarray(feature_names)
    if H.ndim != 2 or names.shape != (H.shape[1],):
        raise ValueError(f"feature_names must have one name per column of H ({H.shape[-1]}), "
                         f"got {names.shape}.")
    k = H.shape[0]
    n_top = min(int(n_top), H.shape[1])
    n_cols = n_cols or min(k, 5)
    n_rows = int(np.ceil(k / n_cols))
    fig = _figure((2.6 * n_cols, 0.22 * n_top * n_rows + 0.6 * n_rows))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i >= k:
            ax.set_axis_off()
            continue
        top = np.argsort(H[i])[::-1][:n_top]
        ax.barh(np.arange(n_top), H[i, top], color="C0")
        ax.set_yticks(np.arange(n_top), labels=[str(n) for n in names[top]], fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"component {i}", fontsize=9)
        ax.tick_params(axis="x", labelsize=7)
    return fig


def consensus_matrix(result, *, ax=None, cmap="viridis"):
    """A :class:`~nmf_numba.ConsensusResult`'s matrix, samples ordered by consensus cluster,
    with the cophenetic correlation and dispersion in the title."""
    C = np.asarray(result.matrix)
    order = np.argsort(result.labels, kind="stable")
    fig, ax = _axes(ax, (5, 4.4))
    image = ax.imshow(C[np.ix_(order, order)], cmap=cmap, vmin=0, vmax=1,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, label="fraction of runs together")
    ax.set_title(f"k = {result.n_components}: cophenetic {result.cophenetic:.3f}, "
                 f"dispersion {result.dispersion:.3f}", fontsize=10)
    ax.set_xlabel("samples (by consensus cluster)")
    ax.set_ylabel("samples")
    return fig


def rank_selection(selection):
    """The curves of a :class:`~nmf_numba.RankSelection` against the rank: the cross-validated
    error (with ±1 standard deviation), explained variance, and, when computed, the cophenetic
    correlation and dispersion; the suggested rank is marked."""
    table = selection.table
    ranks = selection.column("rank")
    panels = [("cv_error", "held-out error"), ("explained_variance", "explained variance")]
    if table and "cophenetic" in table[0]:
        panels.append(("cophenetic", "cophenetic / dispersion"))
    fig = _figure((4 * len(panels), 3.4))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (key, label) in zip(axes, panels):
        values = selection.column(key)
        ax.plot(ranks, values, "o-", label=key.replace("_", " "))
        if key == "cv_error" and "cv_error_std" in table[0]:
            std = selection.column("cv_error_std")
            ax.fill_between(ranks, values - std, values + std, alpha=0.25)
        if key == "cophenetic":
            ax.plot(ranks, selection.column("dispersion"), "s--", label="dispersion")
            ax.legend(fontsize=8)
        ax.axvline(selection.suggested_rank, color="C3", linestyle=":",
                   label=f"suggested {selection.suggested_rank}")
        ax.set_xlabel("rank")
        ax.set_ylabel(label)
        ax.set_xticks(ranks)
        ax.grid(True, alpha=0.3)
    fig.suptitle(f"rank selection: suggested rank {selection.suggested_rank}", fontsize=10)
    return fig


def stability_error(sweep, *, ax=None):
    """The choice of k in :func:`nmf_numba.consensus_components`: the stability (silhouette of
    the component clusters, left axis) and the consensus model's error (right axis) against
    k, for a :class:`~nmf_numba.ComponentConsensusSweep` (cNMF's k-selection plot).  Choose k
    where stability is high and the error low."""
    ks = np.asarray(sweep.column("k"))
    fig, ax = _axes(ax, (5.5, 3.6))
    ax.plot(ks, sweep.column("stability"), "o-", color="C0")
    ax.set_xlabel("k")
    ax.set_ylabel("stability (silhouette)", color="C0")
    ax.tick_params(axis="y", labelcolor="C0")
    ax.set_xticks(ks)
    ax.grid(True, alpha=0.3)
    right = ax.twinx()
    right.plot(ks, sweep.column("error"), "s--", color="C3")
    label = "relative error" if sweep.error_name == "relative_error" else "β-divergence"
    right.set_ylabel(f"error ({label})", color="C3")
    right.tick_params(axis="y", labelcolor="C3")
    ax.set_title("consensus of components: stability and error", fontsize=10)
    return fig


def component_clusters(result, *, ax=None, cmap="RdBu_r"):
    """cNMF's clustergram for a :class:`~nmf_numba.ComponentConsensus`: the Euclidean distances
    between the unit-norm replicate components kept by the density filter, ordered by
    cluster (within a cluster by average-linkage leaf order), with the cluster boundaries
    drawn.  Blocks of small distance on the diagonal are stable programs."""
    from scipy.cluster.hierarchy import leaves_list, linkage
    from scipy.spatial.distance import pdist, squareform

    kept = np.flatnonzero(result.labels >= 0)
    components = np.asarray(result.components, dtype=np.float64)[kept]
    labels = result.labels[kept]
    order, bounds = [], []
    for c in range(result.k):
        members = np.flatnonzero(labels == c)
        if members.size > 2:
            members = members[leaves_list(linkage(pdist(components[members]), "average"))]
        order.extend(members)
        bounds.append(len(order))
    order = np.asarray(order, dtype=np.int64)
    D = squareform(pdist(components[order]))
    fig, ax = _axes(ax, (5, 4.4))
    image = ax.imshow(D, cmap=cmap, vmin=0, vmax=max(float(D.max()), 1e-12),
                      interpolation="nearest")
    for b in bounds[:-1]:
        ax.axhline(b - 0.5, color="k", linewidth=0.6)
        ax.axvline(b - 0.5, color="k", linewidth=0.6)
    fig.colorbar(image, ax=ax, label="Euclidean distance (unit components)")
    ax.set_title(f"k = {result.k}: {kept.size} of {len(result.labels)} components kept, "
                 f"silhouette {result.stability:.3f}", fontsize=10)
    ax.set_xlabel("replicate components (by cluster)")
    ax.set_ylabel("replicate components")
    return fig
