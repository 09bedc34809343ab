"""Consensus clustering for NMF (Brunet, Tamayo, Golub & Mesirov, PNAS 2004).

Factorise the same data ``n_runs`` times from different random starts, assign each sample (row
of X) to the component with the largest coefficient in its row of W, and average the runs'
connectivity matrices (``C_ij = 1`` when samples i and j share a cluster).  A stable clustering
gives a consensus matrix of zeros and ones; its quality is summarised by the cophenetic
correlation coefficient (Brunet et al.) and the dispersion coefficient (Kim & Park,
Bioinformatics 2007).

>>> import numpy as np, nmf_numba.clustering as nc
>>> X = np.random.default_rng(0).random((30, 20))
>>> res = nc.consensus(X, 3, n_runs=4, random_state=0, max_iter=50, tol=0)
>>> res.matrix.shape, res.labels.shape, res.losses.shape
((30, 30), (30,), (4,))
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _validation
from ._random import draw_seeds
from ._sklearn import convergence_warning
from .many import nmf_many

__all__ = ["consensus", "ConsensusResult", "labels"]



@dataclass
class ConsensusResult:
    """What :func:`consensus` returns.

    Attributes
    ----------
    matrix : ndarray (n_samples, n_samples), float64
        The consensus matrix: entry (i, j) is the fraction of runs in which samples i and j got
        the same label.  Symmetric, entries in [0, 1], diagonal 1.
    cophenetic : float
        Cophenetic correlation coefficient: Pearson correlation between the distances
        ``1 − matrix`` and the cophenetic distances of their average-linkage tree.  1 when the
        tree reproduces the distances exactly, e.g. for any consensus of zeros and ones.  When
        all distances are equal (fewer than two sample pairs, or e.g. every run putting every
        sample in one cluster) the correlation is undefined; it is then set to 1.0, since the
        tree (every merge at the same height) reproduces the distances exactly.
    dispersion : float
        Kim & Park's dispersion ``(1/m²) Σ_ij 4 (C_ij − ½)²``, in [0, 1]: 1 for a consensus of
        zeros and ones, lower for a less stable one (off-diagonal entries of ½ contribute 0).
    labels : ndarray (n_samples,), int64
        Consensus clusters: the average-linkage tree of ``1 − matrix`` cut into at most
        ``n_components`` clusters (``fcluster(criterion="maxclust")``), relabelled 0, 1, …
        in order of first appearance.  Ties in the tree can give fewer clusters.
    n_runs : int
    n_components : int
    losses : ndarray (n_runs,), float64
        Each run's final objective (``NMFResult.loss``).
    seeds : ndarray (n_runs,), int64
        Each run's ``random_state``: ``nmf(X, n_components, init="random",
        random_state=int(seeds[r]), **nmf_kwargs)`` repeats run r.
    run_labels : ndarray (n_runs, n_samples), int64
        Each run's sample labels, :func:`labels` of its W (−1 for an all-zero row of W).
    """

    matrix: np.ndarray = field(repr=False)
    cophenetic: float
    dispersion: float
    labels: np.ndarray = field(repr=False)
    n_runs: int
    n_components: int
    losses: np.ndarray = field(repr=False)
    seeds: np.ndarray = field(repr=False)
    run_labels: np.ndarray = field(repr=False)


def labels(W):
    """The cluster of each sample: the index of the largest entry of each row of W.

    ``W`` is a non-negative (n_samples, n_components) array, or an ``NMFResult`` (its ``W`` is
    used, ``W diag(scale)`` with ``normalize="both"``; for nsNMF the labels of ``W S`` are the
    same, since S adds the same amount to every entry of a row and scales it by 1 − θ > 0).  Ties go to the first component.  A row that is
    all zero has no cluster and gets −1 ("unassigned").

    Returns an int64 array of length n_samples.
    """
    if hasattr(W, "W") and not isinstance(W, np.ndarray):
        W = W.W_scaled if hasattr(W, "W_scaled") else W.W
    W = np.asarray(W)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D array (n_samples, n_components), got shape {W.shape}.")
    if W.shape[1] == 0:
        raise ValueError("W must have at least one column (component).")
    if not np.issubdtype(W.dtype, np.number) or np.issubdtype(W.dtype, np.complexfloating):
        raise TypeError(f"W must be a real numeric array, got dtype {W.dtype}.")
    if W.size and not np.all(np.isfinite(W)):
        raise ValueError("W contains NaN or infinity.")
    if W.size and W.min() < 0:
        raise ValueError(f"W must be non-negative, its minimum is {W.min():g}.")
    out = np.argmax(W, axis=1).astype(np.int64)
    out[~np.any(W, axis=1)] = -1
    return out


def _consensus_matrix(run_labels):
    """The consensus matrix of ``run_labels`` (n_runs × m ints, −1 = unassigned).

    ``C = (1/R) Σ_r E_r E_rᵀ`` with ``E_r`` the m × k_r one-hot matrix of run r (an unassigned
    sample has a zero row, so it is connected to nothing), computed as ONE product ``E Eᵀ`` of
    the stacked ``E = [E_1 … E_R]`` (m × Σ k_r): BLAS (syrk) writes the counts straight into the
    m×m result, with no per-run m×m temporary.  Counts are exact integers in float64; the
    diagonal is set to 1 (a sample is always in its own cluster, unassigned ones included).
    """
    run_labels = np.asarray(run_labels)
    if run_labels.ndim != 2 or run_labels.shape[0] < 1:
        raise ValueError("run_labels must be a 2-D (n_runs >= 1, n_samples) integer array.")
    n_runs, m = run_labels.shape
    widths = np.maximum(run_labels.max(axis=1, initial=-1) + 1, 0)
    offsets = np.concatenate(([0], np.cumsum(widths)[:-1]))
    E = np.zeros((m, max(int(widths.sum()), 1)))
    rows, runs = np.nonzero(run_labels.T >= 0)
    E[rows, offsets[runs] + run_labels[runs, rows]] = 1.0
    C = np.dot(E, E.T)  # same buffer, transposed: NumPy calls syrk and mirrors the triangle
    C /= n_runs  # correctly rounded count / R (a multiply by 1/R would not be)
    np.fill_diagonal(C, 1.0)
    return C


def _dispersion(C):
    """``(1/m²) Σ 4 (C_ij − ½)² = 1 + 4 (Σ C² − Σ C)/m²`` without an m×m temporary."""
    m = C.shape[0]
    flat = C.reshape(-1)
    return float(1.0 + 4.0 * (np.dot(flat, flat) - flat.sum()) / (m * m))


def _summarise(C, n_components):
    """``(cophenetic, dispersion, labels)`` of a consensus matrix C."""
    m = C.shape[0]
    if m == 1:
        return 1.0, _dispersion(C), np.zeros(1, dtype=np.int64)
    Z, d = _tree(C)
    cophenetic = _cophenetic(Z, d)
    del d
    return cophenetic, _dispersion(C), _consensus_labels(Z, n_components)


def _tree(C):
    """Average-linkage tree of the distances ``1 − C`` (condensed) and the distances."""
    from scipy.cluster.hierarchy import linkage  # imported here: scipy.cluster is slow to import
    from scipy.spatial.distance import squareform

    d = squareform(C, checks=False, force="tovector")  # a condensed copy of the upper triangle
    np.subtract(1.0, d, out=d)
    return linkage(d, method="average"), d


def _cophenetic(Z, d):
    """Pearson correlation of ``d`` and the tree's cophenetic distances (``cophenet(Z, d)[0]``),
    computed in place: scipy's version makes several condensed-size temporaries.  ``d`` is
    overwritten."""
    if d.size < 2 or np.ptp(d) == 0.0:
        return 1.0  # every distance equal: the tree (one merge height) reproduces them exactly
    from scipy.cluster.hierarchy import cophenet

    c = cophenet(Z)
    d -= d.mean()
    c -= c.mean()
    denom = np.sqrt(np.dot(d, d) * np.dot(c, c))
    return float(np.dot(d, c) / denom) if denom > 0 else float("nan")  # unreachable for UPGMA


def _consensus_labels(Z, n_components):
    from scipy.cluster.hierarchy import fcluster

    raw = fcluster(Z, t=n_components, criterion="maxclust")
    _, first, inverse = np.unique(raw, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def consensus(X, n_components, n_runs=30, *, random_state=None, max_samples=20000, **nmf_kwargs):
    """Consensus clustering of the samples (rows) of X by repeated NMF (Brunet et al., 2004).

    Runs ``nmf(X, n_components, init="random", random_state=seed_r, **nmf_kwargs)`` for
    r = 1 … n_runs, labels each sample by the largest entry of its row of W (:func:`labels`),
    and averages the runs' connectivity matrices.  The runs go through :func:`nmf_numba.
    nmf_many`: small fits run side by side on the cores, each the single call's bit for bit.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix (n_samples, n_features), non-negative
        Validated once (as :func:`nmf_numba.nmf` does) and shared by all runs.
    n_components : int >= 1
        The rank k of every factorisation, and the number of consensus clusters asked of the
        tree.
    n_runs : int >= 1
        Number of factorisations (Brunet et al. use 20-100).
    random_state : None, int, numpy RandomState, Generator or SeedSequence
        The runs' seeds are ``n_runs`` ints in [0, 2**31 − 1) drawn, in one call, by the
        package's rule (:func:`nmf_numba._random.draw_seeds`: an int seeds a RandomState, as in
        scikit-learn; a RandomState or Generator is drawn from).  The same int gives the same
        seeds, hence (nmf being deterministic for a seed)
        the same result; they are returned as ``result.seeds``.
    max_samples : int >= 1
        Largest n_samples accepted.  The m×m float64 consensus matrix takes 8·m² bytes (3.2 GB
        for m = 20000) and the hierarchical clustering about as much again; a larger m raises
        ``ValueError`` unless ``max_samples`` is raised.
    **nmf_kwargs
        Passed to every :func:`nmf_numba.nmf` call (``beta_loss``, ``solver``, ``max_iter``,
        ``tol``, penalties, …).  ``init`` may only be ``"random"``: consensus measures how
        stable the clustering is across random starts, and the other initialisations are
        deterministic (nndsvd, nndsvda) or nearly so (nndsvdar only perturbs NNDSVD's zeros).

    Returns
    -------
    ConsensusResult

    Warnings
    --------
    A run that reaches ``max_iter`` before ``tol`` emits scikit-learn's ``ConvergenceWarning``
    in :func:`nmf`; here those are collected and ONE ``ConvergenceWarning`` is emitted at the
    end, saying how many runs did not converge.  Other warnings from the runs pass through.
    """
    n_components = _validation.check_int(n_components, "n_components", 1)
    n_runs = _validation.check_int(n_runs, "n_runs", 1)
    max_samples = _validation.check_int(max_samples, "max_samples", 1)
    if "init" in nmf_kwargs and not (
        isinstance(nmf_kwargs["init"], str) and nmf_kwargs["init"] == "random"
    ):
        raise ValueError(
            f"consensus() runs every factorisation from a different random start (init='random'); "
            f"got init={nmf_kwargs['init']!r}. Leave init out."
        )
    nmf_kwargs.pop("init", None)

    X = _validation.check_data(X)
    m = X.shape[0]
    if m > max_samples:
        need = 8 * m * m
        raise ValueError(
            f"consensus() would build a {m}×{m} float64 consensus matrix ({_bytes(need)}, and "
            f"about as much again for the hierarchical clustering), but max_samples={max_samples}. "
            f"Pass max_samples={m} (or larger) if the memory is available, or cluster a subsample "
            "of the rows."
        )

    seeds = draw_seeds(random_state, n_runs)
    with warnings.catch_warnings(record=True) as caught:  # the runs side by side (nmf_many)
        warnings.simplefilter("always")
        runs = nmf_many([X] * n_runs, n_components, init="random",
                        random_state=[int(seed) for seed in seeds], **nmf_kwargs)
    summary = None
    for w in caught:
        if issubclass(w.category, convergence_warning()):
            summary = str(w.message)
        else:  # pass through, under the caller's filters
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    run_labels = np.array([labels(res.W) for res in runs.results], dtype=np.int64)
    losses = np.asarray(runs.loss, dtype=np.float64)
    if summary is not None:
        not_converged = int(np.sum([res.stop_reason == "max_iter" for res in runs.results]))
        warnings.warn(f"{not_converged} of {n_runs} NMF runs did not converge: {summary}",
                      convergence_warning(), stacklevel=2)

    C = _consensus_matrix(run_labels)
    cophenetic, dispersion, consensus_labels = _summarise(C, n_components)
    return ConsensusResult(
        matrix=C,
        cophenetic=cophenetic,
        dispersion=dispersion,
        labels=consensus_labels,
        n_runs=n_runs,
        n_components=n_components,
        losses=losses,
        seeds=seeds,
        run_labels=run_labels,
    )


def _bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "bytes" else f"{n} bytes"
        n /= 1024
