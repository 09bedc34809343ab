"""Consensus of components: consensus NMF (cNMF; Kotliar et al., eLife 2019).

A single NMF fit from a random start finds one of many nearly-as-good factorisations; the
components (rows of H, "programs") that come back in most fits from different starts are the
ones to trust.  :func:`consensus_components` runs ``n_runs`` replicates per rank, pools their
components, drops the rare ones (those far from their nearest neighbours among the pooled
components), clusters the rest into k groups with k-means, takes each group's median as a
consensus component, and refits the usage W with the consensus H fixed.  Per rank it reports
the stability of the component clusters (their silhouette) and the error of the consensus
model, so that the rank can be chosen where stability is high and error low.

Steps, with cNMF's choices (Kotliar et al., and their ``cnmf`` package) where they exist:

1. ``n_runs`` fits ``nmf(X, k, init="random", random_state=seed_r)`` through
   :func:`nmf_numba.nmf_many` (side by side on the cores when they are small).
2. Each of the ``n_runs·k`` components is scaled to unit Euclidean norm.
3. Local density: each component's mean Euclidean distance to its
   ``L = max(1, int(local_neighborhood_size · n_runs))`` nearest other components.  A component
   found in most replicates has ``L`` near-copies and a small distance; one found in a few has a
   large one.  Those with a distance ≥ ``density_threshold`` are dropped (label −1).
4. k-means (scikit-learn's ``KMeans``, ``n_init=10`` as cNMF) on the kept unit components;
   the consensus component is the element-wise median of its cluster's members, scaled to unit
   sum (cNMF's choice: a program is a distribution over features).
5. Stability: the silhouette score (Euclidean) of the kept components' clusters.
6. W refit by :func:`nmf_numba.transform` with the consensus H fixed (exact NNLS for β = 2),
   and the consensus model's error.

>>> import numpy as np, nmf_numba as nn
>>> X = np.random.default_rng(0).random((40, 30))
>>> res = nn.consensus_components(X, 3, n_runs=6, random_state=0)
>>> res.H.shape, res.W.shape, res.components.shape
((3, 30), (40, 3), (18, 30))
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _validation
from ._random import as_rng, draw_seeds
from ._sklearn import convergence_warning
from .many import nmf_many
from .metrics import beta_divergence, relative_error
from .nmf import transform

__all__ = ["consensus_components", "ComponentConsensus", "ComponentConsensusSweep"]

DENSITY_THRESHOLD = 0.5
"""cNMF's default ``density_threshold``.  Two unit vectors at distance d have cosine
``1 − d²/2``: 0.5 keeps a component whose nearest neighbours have cosine ≥ 0.875 on average."""

LOCAL_NEIGHBORHOOD_SIZE = 0.30
"""cNMF's default fraction of the replicates a component's neighbours are taken from."""

FIT_DEFAULTS = {"stop": "relative", "max_iter": 2000}
"""The replicates' defaults where they differ from :func:`nmf_numba.nmf`'s: converged fits
(the objective's decrease over 10 iterations ≤ tol × the objective itself), as
:func:`nmf_numba.select_rank` uses; ``tol`` is 1e-4 for β = 2 and 1e-3 otherwise
(:data:`FIT_TOL`).  nmf()'s own rule (decrease relative to the random start's objective) stops
random starts early, and unconverged replicates scatter their components."""
FIT_TOL = {2.0: 1e-4, "other": 1e-3}

N_INIT_KMEANS = 10
"""k-means restarts, as cNMF."""

_REFUSED = ("mask", "missing", "n_init", "graph", "graph_reg", "max_components", "time_limit",
            "callback", "verbose")


@dataclass
class ComponentConsensus:
    """What :func:`consensus_components` returns for one rank k.

    Attributes
    ----------
    k : int
    H : ndarray (k, n_features), X's float dtype
        Consensus components: each the element-wise median of a cluster of unit-norm replicate
        components, scaled to sum 1.  Ordered by cluster label (cluster ``i`` gives row ``i``).
    W : ndarray (n_samples, k), X's float dtype
        Usage refit with H fixed: ``transform(X, H, beta_loss=β)`` (exact NNLS for β = 2).
    stability : float
        Silhouette score (Euclidean) of the kept components' k clusters, in [−1, 1]; NaN when
        it is undefined (k = 1, or every cluster a single component).
    error : float
        The consensus model's error: the relative error ``‖X − W H‖_F / ‖X‖_F`` for β = 2;
        for other β the β-divergence ``D_β(X | W H)`` (scikit-learn's definition, the data term
        the replicates and the refit minimise).  ``error_name`` says which.
    error_name : str
        ``"relative_error"`` or ``"beta_divergence"``.
    components : ndarray (n_runs · k, n_features), X's float dtype
        The pooled replicate components (rows of each replicate's H, replicate after replicate),
        each scaled to unit Euclidean norm (an all-zero component stays zero).
    labels : ndarray (n_runs · k,), int64
        Each pooled component's cluster (the row of H it contributes to), −1 for those dropped
        by the density filter.  ``kept`` is ``labels >= 0``.
    local_density : ndarray (n_runs · k,), float64
        Each component's mean Euclidean distance to its ``n_neighbors`` nearest other
        components (small = found in many replicates).
    density_threshold : float
        Components with ``local_density >= density_threshold`` were dropped; an all-zero
        component is always dropped.
    n_neighbors : int
        The L of the local density.
    seeds : ndarray (n_runs,), int64
        Replicate r is ``nmf(X, k, init="random", random_state=int(seeds[r]), **fit options)``.
    kmeans_seed : int
        The ``random_state`` of the k-means.
    n_runs : int
    losses : ndarray (n_runs,), float64
        Each replicate's final objective.
    """

    k: int
    H: np.ndarray = field(repr=False)
    W: np.ndarray = field(repr=False)
    stability: float
    error: float
    error_name: str
    components: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    local_density: np.ndarray = field(repr=False)
    density_threshold: float
    n_neighbors: int
    seeds: np.ndarray = field(repr=False)
    kmeans_seed: int
    n_runs: int
    losses: np.ndarray = field(repr=False)

    @property
    def kept(self):
        """Boolean mask of the pooled components kept by the density filter."""
        return self.labels >= 0


ComponentConsensus.__module__ = "nmf_numba"


@dataclass
class ComponentConsensusSweep:
    """What :func:`consensus_components` returns for a list of ranks: one
    :class:`ComponentConsensus` per k.

    ``sweep[k]`` is the result for rank k; ``sweep.by_k`` the dict of them (in increasing k);
    ``sweep.table`` one row per k: "k", "stability", "error", "n_kept" (components kept by
    the density filter, of ``n_runs · k``); ``sweep.column("stability")`` a column as an
    array.  Choose k where stability is high and the error low
    (:func:`nmf_numba.plot.stability_error` draws both).
    """

    by_k: dict = field(repr=False)
    table: list
    error_name: str

    @property
    def ks(self):
        return list(self.by_k)

    def column(self, name):
        """One column of the table as an array (e.g. ``sweep.column("stability")``)."""
        return np.array([row[name] for row in self.table])

    def __getitem__(self, k):
        return self.by_k[k]

    def __len__(self):
        return len(self.by_k)

    def __iter__(self):
        return iter(self.by_k.values())


ComponentConsensusSweep.__module__ = "nmf_numba"


def consensus_components(X, k, n_runs=100, *, density_threshold=DENSITY_THRESHOLD,
                         local_neighborhood_size=LOCAL_NEIGHBORHOOD_SIZE, random_state=None,
                         **nmf_kwargs):
    """Consensus components of many NMF replicates, per rank (cNMF, Kotliar et al. 2019).

    Parameters
    ----------
    X : array-like or scipy.sparse (n_samples, n_features), non-negative
        Validated once and shared by all replicates; sparse X is used as CSR and never
        densified.  For single-cell counts cNMF factorises the counts of highly variable genes,
        each gene scaled to unit variance without centring.
    k : int >= 1, or a sequence of them
        The rank, or the ranks to compare.
    n_runs : int >= 2
        Replicates per rank (cNMF's default is 100; it suggests more for publication).
    density_threshold : float > 0
        A component whose mean distance to its nearest neighbours is this or more is dropped
        before clustering.  Default 0.5, cNMF's: unit components at distance 0.5 have cosine
        0.875.  cNMF advises looking at the distribution of ``local_density`` (a histogram)
        and setting the threshold below the tail of outliers; a value of 2 or more keeps every
        component (unit vectors are at most 2 apart).  A threshold that keeps fewer than k
        components is a ValueError.
    local_neighborhood_size : float in (0, 1]
        The neighbours of the local density are the ``max(1, int(local_neighborhood_size ·
        n_runs))`` nearest pooled components (cNMF's ρ, default 0.30): a component found in
        at least that fraction of the replicates has near-copies as neighbours.
    random_state : None, int, numpy RandomState, Generator or SeedSequence
        For each rank, ``n_runs`` replicate seeds and then one k-means seed are drawn from
        ``as_rng(random_state)`` (the package's rule, :mod:`nmf_numba._random`).  An int gives
        every rank the same seeds, so ``consensus_components(X, [3, 4], random_state=0)[4]``
        equals ``consensus_components(X, 4, random_state=0)``; a Generator or RandomState is
        drawn from rank after rank.
    **nmf_kwargs
        Passed to every replicate's :func:`nmf_numba.nmf` (``beta_loss``, ``solver``,
        ``max_iter``, ``tol``, ``stop``, penalties, …).  Defaults that differ from nmf()'s, so
        that the replicates converge: ``stop="relative"``, ``max_iter=2000``, ``tol=1e-4``
        for β = 2 and 1e-3 otherwise.  ``init`` may only be ``"random"`` (the method compares
        random starts).  Missing values, graphs, ``n_init``, callbacks and time limits are
        refused.  ``beta_loss`` also sets the refit's and the error's β; penalties apply to
        the replicates only (the refit is unpenalised).

    Returns
    -------
    ComponentConsensus for an int k; ComponentConsensusSweep (``[k]``, ``.table``) for a
    sequence of ranks.

    Warnings
    --------
    Replicates that reach ``max_iter`` give ONE ConvergenceWarning for the whole call, saying
    how many of them did not converge.  Other warnings pass through.

    Notes
    -----
    Cost per rank: ``n_runs`` fits, a k-nearest-neighbour search over ``n_runs·k`` components
    (scikit-learn's ``NearestNeighbors``), k-means and the silhouette on the kept components
    (the silhouette forms their pairwise distances: ``(n_runs·k)²`` floats), and one NNLS
    refit.  Differences from cNMF: the replicates stop on a converged-objective rule instead
    of scikit-learn's coordinate-descent "violation" rule; the error is relative (cNMF reports
    ``‖X − W H‖²_F``); the refit is exact NNLS (cNMF runs coordinate descent with H fixed to
    ``tol=1e-4``).
    """
    ks, single = _check_ks(k)
    n_runs = _validation.check_int(n_runs, "n_runs", 2)
    density_threshold = _validation.check_real(density_threshold, "density_threshold", 0.0,
                                               strict=True)
    local_neighborhood_size = _validation.check_finite_real(
        local_neighborhood_size, "local_neighborhood_size", 0.0, 1.0)
    if local_neighborhood_size == 0:
        raise ValueError("local_neighborhood_size must be > 0 (cNMF's default is 0.30): it is "
                         "the fraction of the replicates a component's neighbours come from.")
    _check_nmf_kwargs(nmf_kwargs)
    beta = _validation.check_beta_loss(nmf_kwargs.get("beta_loss", "frobenius"))
    options = {**FIT_DEFAULTS, "tol": FIT_TOL.get(beta, FIT_TOL["other"]), **nmf_kwargs}
    X = _validation.check_data(X)
    seeded = isinstance(random_state, (int, np.integer))  # each rank from the same seed
    shared = None if seeded else as_rng(random_state)  # else one generator, rank after rank

    results, not_converged, message = {}, 0, None
    for rank in ks:
        source = as_rng(random_state) if seeded else shared
        seeds = draw_seeds(source, n_runs)
        kmeans_seed = int(draw_seeds(source, 1)[0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs = nmf_many([X] * n_runs, rank, init="random",
                            random_state=[int(s) for s in seeds], **options)
        for w in caught:
            if issubclass(w.category, convergence_warning()):
                message = str(w.message)
            else:  # pass through, under the caller's filters
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno,
                                       source=w.source)
        not_converged += int(np.sum([r.stop_reason == "max_iter" for r in runs.results]))
        results[rank] = _consensus(X, rank, runs, seeds, kmeans_seed, n_runs, density_threshold,
                                   local_neighborhood_size, beta)
    if message is not None:
        warnings.warn(f"{not_converged} of {n_runs * len(ks)} NMF replicates did not converge "
                      f"({message})", convergence_warning(), stacklevel=2)
    if single:
        return results[ks[0]]
    first = next(iter(results.values()))
    table = [{"k": r.k, "stability": r.stability, "error": r.error,
              "n_kept": int(np.count_nonzero(r.kept))} for r in results.values()]
    return ComponentConsensusSweep(by_k=results, table=table, error_name=first.error_name)


def _check_ks(k):
    """``(sorted distinct ranks, whether k was a single int)``."""
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        return [_validation.check_int(k, "k", 1)], True
    if isinstance(k, str) or not np.iterable(k):
        raise TypeError(f"k must be an int >= 1 or a sequence of them, got {k!r}.")
    ks = sorted({_validation.check_int(value, "k", 1) for value in k})
    if not ks:
        raise ValueError("k is an empty sequence: pass at least one rank.")
    return ks, False


def _check_nmf_kwargs(nmf_kwargs):
    if "init" in nmf_kwargs:
        init = nmf_kwargs["init"]
        if not (isinstance(init, str) and init == "random"):
            raise ValueError(
                f"consensus_components() runs every replicate from a different random start "
                f"(init='random'); got init={init!r}. Leave init out.")
        del nmf_kwargs["init"]
    refused = [name for name in _REFUSED if name in nmf_kwargs]
    if refused:
        raise ValueError(
            f"consensus_components() does not take {', '.join(refused)}: the replicates are "
            "plain fits of complete data (missing values, graphs and restarts would change "
            "what their components mean). Leave them out.")


def _unit_rows(H):
    """Rows scaled to unit Euclidean norm (all-zero rows stay zero) and the nonzero mask."""
    norms = np.sqrt(np.einsum("ij,ij->i", H, H, dtype=np.float64))
    nonzero = norms > 0
    out = np.zeros_like(H)
    out[nonzero] = H[nonzero] / norms[nonzero, None].astype(H.dtype)
    return out, nonzero


def _local_density(components, n_neighbors):
    """Each row's mean Euclidean distance to its ``n_neighbors`` nearest other rows."""
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=n_neighbors + 1).fit(components)
    distances, _ = search.kneighbors(components)  # the row itself (or a copy) at distance 0
    return distances.sum(axis=1, dtype=np.float64) / n_neighbors


def _consensus(X, k, runs, seeds, kmeans_seed, n_runs, density_threshold,
               local_neighborhood_size, beta):
    """The :class:`ComponentConsensus` of one rank's replicates."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    pooled = np.concatenate([np.asarray(H) for H in runs.H], axis=0)
    components, nonzero = _unit_rows(pooled)
    n_neighbors = min(max(1, int(local_neighborhood_size * n_runs)), len(components) - 1)
    density = _local_density(components, n_neighbors)
    kept = (density < density_threshold) & nonzero
    n_kept = int(np.count_nonzero(kept))
    if n_kept < k:
        order = np.sort(density[nonzero])
        need = order[k - 1] if order.size >= k else float("nan")
        raise ValueError(
            f"density_threshold={density_threshold:g} keeps {n_kept} of the {len(components)} "
            f"replicate components at k={k}, fewer than the k clusters asked for. Raise "
            f"density_threshold above {need:.4g} (the k-th smallest local density; values of "
            "2 or more keep every component), or use more replicates (n_runs).")
    kmeans = KMeans(n_clusters=k, n_init=N_INIT_KMEANS, random_state=kmeans_seed)
    with warnings.catch_warnings():
        # fewer distinct points than clusters: checked below with a clearer message
        warnings.filterwarnings("ignore", message="Number of distinct clusters")
        cluster = kmeans.fit_predict(components[kept])
    if np.unique(cluster).size < k:
        raise ValueError(
            f"the {n_kept} kept components form fewer than k={k} distinct clusters (they "
            "repeat each other): the data hold fewer than k programs. Use a smaller k.")
    labels = np.full(len(components), -1, dtype=np.int64)
    labels[kept] = cluster
    H = np.empty((k, components.shape[1]), dtype=components.dtype)
    for c in range(k):
        members = components[labels == c]
        median = np.median(members, axis=0)
        total = median.sum(dtype=np.float64)
        if total <= 0:  # sparse members whose supports barely overlap: their mean instead
            median = members.mean(axis=0)
            total = median.sum(dtype=np.float64)
        H[c] = median / total
    if k > 1 and n_kept > k:
        stability = float(silhouette_score(components[kept], cluster, metric="euclidean"))
    else:
        stability = float("nan")
    W = transform(X, H, beta_loss=beta)
    if beta == 2.0:
        error, error_name = relative_error(X, W, H), "relative_error"
    else:
        error, error_name = beta_divergence(X, W, H, beta_loss=beta), "beta_divergence"
    return ComponentConsensus(
        k=k, H=H, W=W, stability=stability, error=float(error), error_name=error_name,
        components=components, labels=labels, local_density=density,
        density_threshold=density_threshold, n_neighbors=n_neighbors, seeds=seeds,
        kmeans_seed=kmeans_seed, n_runs=n_runs,
        losses=np.asarray(runs.loss, dtype=np.float64))
