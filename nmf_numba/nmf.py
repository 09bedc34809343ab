"""``nmf()`` and ``transform()``: validate once into a description of the fit, initialise, run
the loop of :mod:`nmf_numba._loop`, build the result."""

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _compiled, _validation, solvers
from ._data import CsrOp, Data, DenseOp
from ._engine import engine_for
from ._loop import (STOPS, TOL_WINDOW, IterationInfo, NMFResult, Stopping, build_result,
                    normalize_factors, progress_bar, run, smoothing_matrix, warn_if_max_iter)
from ._random import as_rng, draw_seeds
from ._threads import fit_threads, init_threads, single_threaded
from .distributed import is_dask_array
from .init import _initialize, check_n_components
from .losses import divergence, frobenius_from_parts
from .solvers import StepOptions
from .solvers._common import Graph, Penalty, scaled_penalties

__all__ = ["nmf", "transform", "NMFResult", "IterationInfo"]

RANK_SEARCH = []
"""``n_components="auto"``'s search, registered by :mod:`nmf_numba.selection` (which builds on
this module, so this module does not import it)."""


@dataclass
class _Fit:
    """A validated fit: what it minimises (data, β, penalties, nsNMF's S), with which solver,
    from which start, and when it stops.

    The objective is ``D_β(X | W S H)`` plus a penalty on each factor (``S`` None: the
    identity).  With ``S`` the W-step sees ``B = (S H)ᵀ = Hᵀ S`` and the H-step ``B = W S``:
    every solver's half-step is unchanged, only the fixed factor it is given."""

    data: Data
    init_data: object  # what the initialisation sees: X, or its observed entries
    beta: float
    solver: solvers.Solver
    k: int
    init: object
    penalty_W: Penalty
    penalty_H: Penalty
    S: object
    smoothness: float
    stop: str
    tol: float
    max_iter: int
    time_limit: object
    callback: object
    n_init: int
    random_state: object
    shuffle: bool
    verbose: bool
    accelerate: bool = False
    fixed_H: object = None  # boolean arrays over the k components (None: none fixed)
    fixed_W: object = None
    given: object = None    # the custom (W0, H0), checked, when components are fixed
    normalize: object = None  # None, "H", "W" or "both": the result's factors, after the fit

    def smoothed(self, A):
        return A if self.S is None else np.dot(A, self.S)

    def terms(self, W, Ht, parts=None):
        """``(data term, objective)``; the data term from a least-squares H-step's products
        when given (O(n·k²))."""
        if parts is not None:
            XtB, BtB = parts
            data_term = 0.5 * frobenius_from_parts(self.data.sq_norm, Ht, XtB, BtB)
        else:
            data_term = divergence(self.data.X_op, W, self.smoothed(Ht), self.beta)
        return self.with_penalties(data_term, W, Ht)

    def with_penalties(self, data_term, W, Ht):
        """``(data term, objective)`` of the pair ``(W, Ht)`` whose data term is known."""
        return data_term, data_term + self.penalty_W.value(W) + self.penalty_H.value(Ht)

    def restarts(self):
        """``(init, random_state)`` of each of the ``n_init`` runs.

        The first run uses ``init`` and ``random_state`` as given (so ``n_init=1`` is one
        plain run).  Later runs draw their seeds from ``random_state``; they use ``init`` again
        when it is randomised ("random", "nndsvdar"), and "random" when it is deterministic
        ("nndsvd", "nndsvda", a custom ``(W0, H0)``; "auto" resolves to one of these), which
        would only repeat the first run.  Every run starts from the fixed components' given
        values (:meth:`start`)."""
        plan = [(self.init, self.random_state)]
        if self.n_init > 1:
            randomised = isinstance(self.init, str) and self.init in ("random", "nndsvdar")
            later = self.init if randomised else "random"
            plan += [(later, int(seed)) for seed in draw_seeds(self.random_state,
                                                                 self.n_init - 1)]
        return plan

    def start(self, init, seed):
        """``(W0, H0)`` of a run from ``init`` and ``seed`` (see :meth:`restarts`), with the
        fixed components (rows of H, columns of W) set to their given values: a restart draws
        only the components it learns."""
        W0, H0 = _initialize(self.init_data, self.k, init, seed)
        if self.fixed_H is not None:
            H0[self.fixed_H] = self.given[1][self.fixed_H]
        if self.fixed_W is not None:
            W0[:, self.fixed_W] = self.given[0][:, self.fixed_W]
        return W0, H0


def _validate(X, n_components, *, beta_loss, solver, init, max_iter, tol, stop, alpha_W,
              alpha_H, l1_ratio, graph, graph_reg, smoothness, n_init, mask, missing,
              time_limit, callback, random_state, shuffle, verbose, accelerate, fix_H=None,
              fix_W=None, normalize=None, weights=None, sample_weight=None):
    """Every argument of :func:`nmf` checked once, into a :class:`_Fit`."""
    X, nan_observed = _validation.check_data_with_nan(X)
    observed = _validation.check_observed(X, nan_observed, mask, missing)
    X_fit, entry_weights, observed_only = _validation.counted_entries(
        X, observed, weights, sample_weight, mask)
    beta = _validation.check_beta_loss(beta_loss)
    if not isinstance(stop, str) or stop not in STOPS:
        raise ValueError(f"Invalid stop {stop!r}: use one of {list(STOPS)}.")
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
    graph_reg = _validation.check_finite_real(graph_reg, "graph_reg", 0.0)
    asked = _check_accelerate(accelerate, stop)  # True, False or "auto"
    context = dict(sparse=sp.issparse(X), observed=observed_only,
                   graph=graph is not None and graph_reg != 0)
    record = solvers.check(solver, beta, shuffle=shuffle, accelerate=asked, **context)
    accelerate = (solvers.auto_accelerate(record, beta, stop=stop, **context)
                  if asked == "auto" else asked)
    if observed_only:  # only the observed (weighted) entries count from here on
        _validation.check_zeros_for_beta(X_fit.data.reshape(1, -1), beta)
    else:
        _validation.check_zeros_for_beta(X, beta)
    max_iter, tol, time_limit, callback = _validation.check_loop(max_iter, tol, time_limit,
                                                                 callback)
    alpha_W, alpha_H, l1_ratio = _validation.check_regularization(alpha_W, alpha_H, l1_ratio)
    affinity = _validation.check_graph(graph, graph_reg, X.shape[0])
    if affinity is not None and stop == "pgrad" and beta != 2:
        raise ValueError("stop='pgrad' with a graph supports only beta_loss='frobenius'.")
    smoothness = _validation.check_finite_real(smoothness, "smoothness", 0.0, 1.0,
                                               include_maximum=False)
    n_init = _validation.check_int(n_init, "n_init", 1)
    normalize = _validation.check_normalize(normalize, smoothness)
    as_rng(random_state)  # the one random_state rule: its error now, not after the data work
    k = check_n_components(n_components, X, init)
    fixed_H, fixed_W = _check_fixed(fix_H, fix_W, k, init)
    if normalize is not None and (fixed_H is not None or fixed_W is not None):
        raise ValueError("normalize rescales and reorders the components, but fixed components "
                         "(fix_H/fix_W) keep their values and places: pass normalize=None (the "
                         "result can be normalised afterwards).")

    data = Data(X_fit, observed_only=observed_only, weights=entry_weights)
    _validation.check_magnitude(data.max_abs, data.sq_norm)
    graph_term = None
    if affinity is not None:
        graph_term = Graph(affinity, np.asarray(affinity.sum(axis=1)).ravel(), graph_reg, beta)
    penalty_W, penalty_H = scaled_penalties(X.shape, alpha_W, alpha_H, l1_ratio, graph_term)
    given = None
    if fixed_H is not None or fixed_W is not None:  # the W-step's A is W, the H-step's Hᵀ
        penalty_W = penalty_W._replace(free=None if fixed_W is None else ~fixed_W)
        penalty_H = penalty_H._replace(free=None if fixed_H is None else ~fixed_H)
        given = _initialize(X_fit, k, init, None)  # checked copies: the values that stay
    return _Fit(
        data=data, init_data=X_fit, beta=beta, solver=record, k=k, init=init,
        penalty_W=penalty_W, penalty_H=penalty_H,
        S=smoothing_matrix(k, smoothness, X.dtype) if smoothness else None,
        smoothness=smoothness, stop=stop, tol=tol, max_iter=max_iter, time_limit=time_limit,
        callback=callback, n_init=n_init, random_state=random_state, shuffle=bool(shuffle),
        verbose=verbose, accelerate=accelerate, fixed_H=fixed_H, fixed_W=fixed_W, given=given,
        normalize=normalize,
    )


def _check_fixed(fix_H, fix_W, k, init):
    """``fix_H`` and ``fix_W`` as boolean arrays over the k components (None: none fixed),
    after checking that a custom init gives their values and that something is left to
    learn."""
    fixed_H = _validation.check_fixed_components(fix_H, k, "fix_H")
    fixed_W = _validation.check_fixed_components(fix_W, k, "fix_W")
    for name, fixed in (("fix_H", fixed_H), ("fix_W", fixed_W)):
        if fixed is not None and not isinstance(init, tuple):
            factor = "H0's rows" if name == "fix_H" else "W0's columns"
            raise ValueError(f"{name} needs init=(W0, H0): the fixed components keep "
                             f"{factor}; got init={init!r}.")
    if fixed_H is not None and fixed_W is not None and fixed_H.all() and fixed_W.all():
        raise ValueError("fix_H and fix_W fix every component of both factors: there is "
                         "nothing to learn. Evaluate (W0, H0) with nmf_numba.metrics, or fix "
                         "fewer components.")
    return fixed_H, fixed_W


def _check_accelerate(accelerate, stop):
    """``accelerate`` as a bool, or "auto" (resolved with the solver by
    :func:`nmf_numba.solvers.auto_accelerate`)."""
    accelerate = _validation.check_accelerate(accelerate)
    if accelerate is True and stop == "pgrad":
        raise ValueError("accelerate=True with stop='pgrad' is not supported: the half-steps "
                         "start from extrapolated points, so their gradients are not the "
                         "state's. Use stop='objective'.")
    return accelerate


def nmf(
    X,
    n_components=None,
    *,
    beta_loss="frobenius",
    solver="auto",
    init="auto",
    max_iter=200,
    tol=1e-4,
    stop="objective",
    alpha_W=0.0,
    alpha_H="same",
    l1_ratio=0.0,
    graph=None,
    graph_reg=0.0,
    smoothness=0.0,
    n_init=1,
    mask=None,
    missing="zero",
    weights=None,
    sample_weight=None,
    time_limit=None,
    callback=None,
    random_state=None,
    shuffle=False,
    verbose=False,
    accelerate="auto",
    max_components=None,
    fix_H=None,
    fix_W=None,
    normalize=None,
):
    """Non-negative matrix factorisation ``X ≈ W H`` with W, H ≥ 0.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix/array, shape (n_samples, n_features)
        Non-negative data; rows are samples.  Integers and booleans become float64; float32 stays
        float32 throughout.  Sparse input is used as CSR and never densified.
    n_components : int, None or "auto"
        Rank k.  None: the k of a custom init, else ``min(n_samples, n_features)``.  "auto":
        chosen by cross-validation (:func:`nmf_numba.select_rank` with its converged
        defaults and the fit's β, ``random_state`` and penalties), scoring ranks 1, 2, 3, …
        until the held-out error has not improved for two ranks in a row (at most
        ``max_components``); the result is the fit at the chosen rank with the table in
        ``res.rank_selection``.  It costs about six converged fits per rank scored (one on
        all the data, one per fold), each starting from the rank below.
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        The β of the β-divergence minimised (2, 1, 0 for the names).  A number must lie in
        [-100, 100]: beyond that, float64 cannot evaluate the powers ``x**beta_loss`` of the
        divergence for data of ordinary magnitude.  Inside the range, data far from 1 can
        still overflow; the fit then raises a FloatingPointError saying to rescale X.
    solver : {"auto", "mu", "cd", "hals", "anls", "pgd", "newton-cd"}
        "mu": multiplicative updates (every β).  "cd": coordinate descent / HALS (β = 2), one
        sweep per half-step, as scikit-learn.  "hals": accelerated HALS (Gillis & Glineur
        2012), repeated sweeps on the same products while they pay (β = 2).  "anls":
        alternating exact non-negative least squares by block principal pivoting (Kim & Park
        2011) (β = 2).  "pgd": alternating projected gradient (Lin 2007) (β = 2).
        "newton-cd": cyclic coordinate descent with one-variable Newton steps (Hsieh & Dhillon
        2011) (β = 1).  "auto": the fastest to a tight tolerance in the README's benchmarks
        for the β and the input format (see :func:`nmf_numba.solvers.auto_solver`).  Solvers
        registered with :func:`nmf_numba.solvers.register` are accepted too.
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar"} or tuple (W0, H0)
        Initialisation; see :func:`nmf_numba.init.initialize`.  W0/H0 are copied, never modified.
    max_iter : int
        Maximum number of iterations (each updates W then H).
    tol : float
        Tolerance of the ``stop`` rule; ``tol=0`` disables it.  The objective is evaluated every
        iteration for β = 2 (it comes almost free from the update's products) and every 10
        iterations otherwise; each evaluation is recorded in ``history`` and passed to
        ``callback``.
    stop : {"objective", "relative", "pgrad", "sklearn"}
        "objective": relative decrease, tested every 10 iterations: the run stops at iteration
        ``i`` (a multiple of 10) when ``(f[i−10] − f[i]) / f[0] < tol``, where ``f[i]`` is the
        objective after iteration ``i`` and ``f[0]`` the one at the initialisation
        (scikit-learn's MU solver applies the same rule to ``sqrt(2 f)``).  From a poor start
        ``f[0]`` is far above the final objective and the rule stops early.
        "relative": the same test against the current objective, ``(f[i−10] − f[i]) ≤ tol ·
        f[i]``: independent of the start, it means "converged" (:func:`nmf_numba.select_rank`
        uses it).
        "pgrad": stationarity, tested at every objective evaluation: the run stops when
        ``‖∇ᴾf(W, H)‖_F / ‖∇ᴾf(W₀, H₀)‖_F < tol``, where ``∇ᴾ`` is the projected gradient (the
        gradient where a factor is positive, its negative part where it is zero).  It comes
        from products each half-step already has: each factor's part is taken after its own
        update for the least-squares solvers (Lin 2007's convention), where the step evaluates
        its gradient for "mu" (before the step) and "newton-cd" (per coordinate).  Typical
        tolerances are smaller than for "objective" (1e-3 to 1e-5).
        "sklearn": scikit-learn's rules, so that its iteration counts are reproduced.  For
        "cd", its "violation" (the sum of ``|∇ᴾ|`` met at each coordinate during the sweeps of
        an iteration) relative to the first iteration's, ``≤ tol``, tested every iteration; for
        the other solvers its MU rule, ``(e[i−10] − e[i]) / e[0] < tol`` every 10 iterations
        with ``e = sqrt(2 · data term)`` (penalties excluded).  The scikit-learn-compatible
        estimators (:mod:`nmf_numba.estimators`) use it.
    alpha_W, alpha_H, l1_ratio : float, float or "same", float in [0, 1]
        Elastic-net penalties with scikit-learn's meaning and scaling: the objective adds
        ``alpha_W·l1_ratio·n_features·‖W‖₁ + ½·alpha_W·(1 − l1_ratio)·n_features·‖W‖²_F`` and the
        same for H with ``alpha_H`` and ``n_samples`` (``alpha_H="same"``: ``alpha_W``).  L1
        (``l1_ratio=1``) gives sparse factors.  Every solver supports them.
    graph, graph_reg : sparse or dense (n_samples, n_samples) array, float
        Graph-regularised NMF (GNMF, Cai, He, Han & Huang 2011): a symmetric non-negative
        affinity ``A`` between samples (e.g. from :func:`nmf_numba.knn_graph`) and ``λ``.  The
        objective adds ``(λ/2)·tr(Wᵀ L W)`` with ``L = D − A`` for β = 2 and the paper's
        ``λ·Σ_r w_rᵀ L log w_r`` for KL.  Solvers: "mu" (β = 2 and KL, the paper's rules),
        "cd" and "hals" (β = 2; exact coordinate descent, serial over the rows of a column).
        A sparse graph is used sparse; a dense one is converted to CSR.

        The graph term is not scale-invariant (``W → W/c, H → c·H`` keeps the model and
        divides it by c²), so left alone the solvers let W shrink and H grow and the graph's
        effect fade.  As Cai et al. do (their reference code normalises the basis, our H, to
        unit Euclidean norm and scales the representation, our W, by the norms, at the start
        and at the end), a graph fit rescales its factors this way at the start and after every
        iteration: each row of H has unit norm and W carries the scale.  The data term is
        unchanged by it, the graph term is measured at the basis' fixed scale; the recorded
        objective falls overall but may rise slightly from one iteration to the next.
        Not with ``smoothness > 0`` (rescaling would change nsNMF's model ``W S H``).
    smoothness : float in [0, 1)
        Non-smooth NMF (nsNMF, Pascual-Montano et al. 2006): the model is ``X ≈ W S H`` with
        ``S = (1 − θ) I + (θ/k) 𝟙𝟙ᵀ``; larger θ gives sparser factors.  θ = 0 is plain NMF.
        Every solver supports it (each half-step sees ``S H`` or ``W S`` as the fixed factor);
        the result exposes ``S`` and ``reconstruct()``.
    n_init : int
        Restarts: run ``n_init`` initialisations and return the one with the lowest final
        objective (``res.run_losses`` has every run's, ``res.best_run`` says which).  The first
        run uses ``init`` and ``random_state``; later runs draw their seeds from
        ``random_state`` and use ``init`` again if it is randomised ("random", "nndsvdar"),
        else "random" (a deterministic init would only repeat the first run).
    mask : bool array or sparse matrix (n_samples, n_features), optional
        True (stored, for a sparse pattern) = observed.  Only observed entries count in the
        objective (weighted NMF); the others are missing.  NaN entries of a dense X are missing
        too, mask or not.
    missing : {"zero", "unobserved"}
        For sparse X: "zero" (default) keeps the usual meaning, an absent entry is 0;
        "unobserved" makes only the stored entries count (ratings data: an absent rating is
        unknown), with every cost scaling with the stored entries.  With missing values the
        solvers are "mu" (every β), "cd"/"hals" (β = 2, per-row Gram matrices over the
        observed entries) and "newton-cd" (KL); "auto" picks "cd" for β = 2, else "mu".
    weights : array (n_samples, n_features) or scipy.sparse matrix, optional
        Non-negative per-entry weights: the objective becomes ``Σ w_ij d_β(x_ij | (WH)_ij)``
        plus the penalties.  A sparse weights matrix gives the entries it does not store
        weight 1 with ``missing="zero"`` (every entry counts; held entry by entry, refused
        above ``nmf_numba._data.DENSE_WEIGHTS_LIMIT`` entries) and weight 0 with
        ``missing="unobserved"`` (only X's stored entries count, with their weights).
        Weight-0 entries do not count (they are missing values); NaN entries of X must have
        weight 0; weights cannot be combined with ``mask`` (pass ``weights * mask``).  The
        fit runs on the entries with weight > 0 (the missing-values path: solvers "mu" for
        every β, "cd"/"hals" for β = 2, "newton-cd" for KL), so its cost scales with them, not
        with m × n; weights
        that are all 0 or 1 are a mask and give the masked fit bit for bit.  A row (column)
        whose weights are all 0 leaves its row of W (column of H) undetermined: "mu" sets it
        to 0 at the first step, "cd"/"hals" keep its start (0 with an L2 penalty).
    sample_weight : array (n_samples,), optional
        Non-negative per-row weights (scikit-learn's name): row i's data term is multiplied
        by ``sample_weight[i]`` (with ``weights``, the two multiply).  An integer weight
        gives the fit of the data with that row repeated.  Alone (no ``weights``, missing
        values, penalty or fixed columns on W, graph, restarts or callback; β ≥ 1; every
        weight > 0) it runs as the plain fit of the rows scaled by ``s_i^(1/β)``, W rescaled
        at the end: the same objective and iterates, at the plain fit's speed, a sparse X
        staying sparse; otherwise it runs as ``weights`` does.
    time_limit : float or None
        Stop after this many seconds (checked after every iteration; the limit covers every
        restart together).
    callback : callable or None
        ``callback(info: IterationInfo)`` after every objective check; returning True stops.
    random_state : None, int, numpy RandomState or Generator
        Seeds the "random" and "nndsvd*" initialisations, the restarts' seeds and
        ``shuffle``'s order (the package's one rule: :mod:`nmf_numba._random`).
    shuffle : bool
        "cd" only: visit the components in a random order in each sweep (scikit-learn's
        ``shuffle``; for an int ``random_state`` the same orders as scikit-learn).
    verbose : bool
        Show a tqdm progress bar with the current objective.
    accelerate : bool or "auto"
        True: the solver's accelerated variant (the README's solver table), whose recorded
        and returned state never increases the objective:

        * "cd", "hals": Ang & Gillis's extrapolation (2019; :class:`nmf_numba._engine.
          ExtrapolatedRun`): each half-step works against the other factor extrapolated along
          its last change, with a weight that grows while the objective falls and shrinks
          (restarting without momentum from the best state) when it rises;
        * "mu", β ∈ [1, 2]: over-relaxed multiplicative updates (exponent ω·γ with ω between
          1 and 5, a step that raises the objective undone; :class:`nmf_numba._engine.
          RelaxedRun`);
        * "newton-cd": over-relaxed MU until its progress slows (0.1 % over 10 iterations),
          then Newton from there (:class:`nmf_numba._engine.MuFirstRun`).

        "auto" (default): on where the benchmarks measured it faster
        (:func:`nmf_numba.solvers.auto_accelerate`): cd/hals on CSR data, KL with "mu" or
        "newton-cd"; off on dense β = 2 data, with missing values for β = 2, graphs,
        ``stop="pgrad"`` and other β.  ``res.accelerated`` says whether it ran.

    max_components : int or None
        With ``n_components="auto"``: the largest rank scored (None: ``min(X.shape)``).
    fix_H, fix_W : None, int indices or boolean mask over the k components
        Fixed (known) components, semi-supervised NMF: the rows ``fix_H`` of H and the columns
        ``fix_W`` of W keep the values of ``init=(W0, H0)`` (in X's dtype) bit for bit for the
        whole fit, while the other components are learned — known spectra or topics, a fixed
        background.  Needs a custom init.  Every solver and option runs them: each half-step
        minimises over the free components only, the fixed ones entering its gradients (exact
        NNLS over the free block for "anls", the fixed coordinates skipped by "cd", "hals" and
        "newton-cd", a zero step on them for "pgd", their entries left out of the
        multiplicative step for "mu"), so each solver is the same method on the smaller
        problem and the monotone ones stay monotone; ``accelerate`` too (its extrapolation
        and over-relaxation never move a fixed entry).  Restarts (``n_init``) draw the free
        components only.  ``fix_H`` = every component learns W for the given H (what
        :func:`transform` does, with the fit's stopping rule and history).  Fixing every
        component of both factors is an error (nothing to learn).  A component fixed in both
        is a constant term of the model.  Fits with fixed components run in the Python loop
        (not the compiled small-problem loop) and not on Dask arrays.  ``res.fixed_H`` and
        ``res.fixed_W`` say which components were fixed.
    normalize : {None, "H", "W", "both"}
        Normalise and order the returned factors (post-processing of the final factors; it
        does not change the fit):

        * "H": each row of H sums to 1, its scale moved into W's column (``W H`` unchanged);
        * "W": each column of W sums to 1, its scale moved into H's row (``W H`` unchanged);
        * "both": RcppML's three-factor form ``W diag(d) H`` with unit-sum columns of W and
          rows of H and ``d`` in ``res.scale``; ``res.reconstruct()``, ``res.W_scaled``
          (``W diag(d)``), ``res.labels()`` and the metrics (``metric(X, res)``) use the
          model ``W diag(d) H``; ``transform(X, res.H)`` returns ``W diag(d)``.

        In every mode the components are sorted by ``d_r = Σ_i W_ir · Σ_j H_rj``, their share
        of the model's total, descending (RcppML's order; the same in the three modes).  A
        component with ``d_r = 0`` is returned as zeros with scale 0, last.  The restarts
        (``n_init``) are compared before it, on their objectives.  ``res.loss`` is the fit's
        objective before the normalisation: with L1/L2 penalties a normalised pair has another
        penalty value (RcppML instead normalises after every update, making its L1 penalties
        scale-free; here penalised fits keep scikit-learn's objective, and ``normalize`` only
        presents the result).  Not with ``smoothness > 0``.

    Returns
    -------
    NMFResult
    """
    if isinstance(n_components, str) and n_components == "auto":
        if fix_H is not None or fix_W is not None:
            raise ValueError("n_components='auto' chooses the rank, but fixed components "
                             "(fix_H/fix_W) come with init=(W0, H0), which fixes it: pass an int.")
        return RANK_SEARCH[0](X, max_components, beta_loss=beta_loss, solver=solver, init=init,
                          max_iter=max_iter, tol=tol, stop=stop, alpha_W=alpha_W,
                          alpha_H=alpha_H, l1_ratio=l1_ratio, graph=graph,
                          graph_reg=graph_reg, smoothness=smoothness, n_init=n_init, mask=mask,
                          missing=missing, weights=weights, sample_weight=sample_weight,
                          time_limit=time_limit, callback=callback,
                          random_state=random_state, shuffle=shuffle, verbose=verbose,
                          accelerate=accelerate, normalize=normalize)
    if max_components is not None:
        raise ValueError("max_components goes with n_components='auto'.")
    options = dict(
        beta_loss=beta_loss, solver=solver, init=init, max_iter=max_iter, tol=tol, stop=stop,
        alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio, graph=graph, graph_reg=graph_reg,
        smoothness=smoothness, n_init=n_init, mask=mask, missing=missing, time_limit=time_limit,
        callback=callback, random_state=random_state, shuffle=shuffle, verbose=verbose,
        accelerate=accelerate, normalize=normalize,
    )
    if weights is not None or sample_weight is not None:  # (Dask refuses them by name)
        options.update(weights=weights, sample_weight=sample_weight)
    if is_dask_array(X):  # the same solvers and loop, with the work on X's blocks done by Dask
        if fix_H is not None or fix_W is not None:
            raise ValueError("fix_H/fix_W are not supported on a Dask array: compute X first "
                             "(X.compute()) to fit it on one machine.")
        from .distributed import nmf as dask_nmf

        return dask_nmf(X, n_components, **options)
    if sample_weight is not None and weights is None:
        res = _row_scaled(X, n_components, sample_weight, fix_H, fix_W, options)
        if res is not None:
            return res
    t_start = time.perf_counter()
    fit = _validate(X, n_components, fix_H=fix_H, fix_W=fix_W, **options)  # 1. validate
    if fit.n_init > 1 and _compiled.batchable(fit):  # restarts side by side, same fits
        runs = _restarts_together(fit, t_start)
    else:
        runs = []
        for init_r, seed_r in fit.restarts():
            if runs and fit.time_limit is not None and (time.perf_counter() - t_start
                                                        >= fit.time_limit):
                break  # the time limit covers every restart
            with init_threads(fit.data.X_op.n_stored):                  # 2. initialise
                W0, H0 = fit.start(init_r, seed_r)
            runs.append(_run_once(fit, W0, H0, seed_r, t_start))        # 3. iterate
    losses = [outcome.loss for _, outcome in runs]
    best_run = int(np.argmin(losses))  # the first of equal losses
    (W, Ht), outcome = runs[best_run]
    warn_if_max_iter(outcome.stop_reason, fit.max_iter, fit.tol, fit.stop)
    return build_result(W, Ht, outcome, fit.beta, fit.solver.name,            # 4. result
                        fit.smoothness, losses, best_run, fit.accelerate, fit.fixed_H,
                        fit.fixed_W, fit.normalize)


def _row_scaled(X, n_components, sample_weight, fix_H, fix_W, options):
    """``nmf(X, k, sample_weight=s)`` by a change of variables, or None where it does not apply.

    ``d_β(c·x | c·v) = c^β d_β(x | v)`` for β ≠ 0, so with ``c_i = s_i^(1/β)`` the weighted
    objective ``Σ_i s_i Σ_j d_β(x_ij | (W H)_ij)`` is the plain objective of ``X̃ = diag(c) X``
    and ``W̃ = diag(c) W``: the fit runs on X̃ (dense BLAS products, or CSR that stays as
    sparse as X) and W is ``W̃ / c`` at the end, instead of every entry going through the
    per-entry weights path (for which a sparse X would become m·n stored entries).  Every
    solver's steps commute with it: a W-step solves each row on its own (the row's factor
    cancels), an H-step sees ``W̃ᵀ X̃ = Wᵀ diag(s) X`` and ``W̃ᵀ W̃ = Wᵀ diag(s) W``; so the
    iterates are the weighted fit's up to rounding.

    It applies without per-entry weights, missing values, a penalty or fixed columns on W (a
    row's penalty would need the row's factor), a graph, restarts, a callback (which would see
    W̃), with β ≥ 1 and every ``s_i > 0``; the start is the one ``init`` draws from X (or the
    given ``(W0, H0)``), scaled.  (For β < 1 the model term is clipped at ε, a convention that
    does not commute with the scaling: on data with zeros the two objectives differ by about
    ε^β per entry, so those fits keep the per-entry path; β = 0 is scale-invariant.)"""
    o = options
    if (o["mask"] is not None or o["missing"] != "zero" or o["n_init"] != 1
            or o["callback"] is not None or fix_W is not None
            or (o["graph"] is not None and o["graph_reg"] != 0)
            or not (isinstance(o["alpha_W"], (int, float)) and o["alpha_W"] == 0)):
        return None
    X, nan_observed = _validation.check_data_with_nan(X)
    beta = _validation.check_beta_loss(o["beta_loss"])
    s = _validation.check_sample_weight(sample_weight, X.shape[0])
    if nan_observed is not None or beta < 1 or s.size == 0 or s.min() <= 0:
        return None
    c = (s ** (1.0 / beta)).astype(X.dtype)
    if sp.issparse(X):
        X_scaled = X.copy()
        X_scaled.data *= np.repeat(c, np.diff(X.indptr))
    else:
        X_scaled = X * c[:, None]
    k = check_n_components(n_components, X, o["init"])
    init = o["init"]
    if isinstance(init, tuple) and len(init) == 2:
        W0, H0 = (np.asarray(f) for f in init)
        if W0.ndim != 2 or W0.shape[0] != X.shape[0]:
            return None  # the general path gives the error
    else:
        W0, H0 = _initialize(X, k, init, o["random_state"])
    W0 = np.asarray(W0, dtype=X.dtype) * c[:, None]
    res = nmf(X_scaled, n_components, **dict(o, init=(W0, H0), normalize=None, fix_H=fix_H,
                                             sample_weight=None, weights=None))
    res.W = res.W / c[:, None]
    if o["normalize"] is not None:
        res.W, res.H, res.scale = normalize_factors(res.W, res.H, o["normalize"])
        res.normalize = o["normalize"]
    return res


def _restarts_together(fit, t_start):
    """The ``n_init`` runs of a fit in the compiled loop, side by side
    (:func:`nmf_numba._compiled.run_many`): ``[((W, Hᵀ), outcome), ...]``, each run what
    :func:`_run_once` gives it."""
    Ws, Hts, rules = [], [], []
    for init_r, seed_r in fit.restarts():
        with init_threads(fit.data.X_op.n_stored):
            W0, H0 = fit.start(init_r, seed_r)
        Ws.append(np.ascontiguousarray(W0, dtype=fit.data.dtype))
        Hts.append(np.ascontiguousarray(H0.T, dtype=fit.data.dtype))
        rules.append(Stopping(fit.stop, fit.tol, fit.beta, None, None, t_start))
    outcomes = _compiled.run_many([fit] * len(Ws), Ws, Hts, rules)
    return list(zip(zip(Ws, Hts), outcomes))


def _run_once(fit, W0, H0, seed, t_start):
    """One run from ``(W0, H0)``: the final factors ``(W, Hᵀ)`` and the loop's outcome.
    Small problems of the solvers that have one run in the compiled loop
    (:mod:`nmf_numba._compiled`), the others in the Python loop of an engine."""
    W = np.ascontiguousarray(W0, dtype=fit.data.dtype)
    Ht = np.ascontiguousarray(H0.T, dtype=fit.data.dtype)
    rule = Stopping(fit.stop, fit.tol, fit.beta, fit.time_limit, fit.callback, t_start)
    data = fit.data
    if _compiled.supports(fit):  # on the calling thread, Numba and the BLAS
        with single_threaded(), \
                progress_bar(fit.verbose, fit.max_iter, fit.solver.name) as progress:
            return (W, Ht), _compiled.run(fit, W, Ht, rule, fit.max_iter, progress)
    engine = engine_for(fit)(fit, W, Ht, as_rng(seed) if fit.shuffle else None)
    with fit_threads(data.sparse, fit.solver.blas_bound(fit.beta), data.X_op.n_stored), \
            progress_bar(fit.verbose, fit.max_iter, fit.solver.name) as progress:
        outcome = run(engine, rule, fit.max_iter, progress)
    return (engine.W, engine.Ht), outcome


def transform(
    X,
    H,
    *,
    beta_loss="frobenius",
    solver="auto",
    alpha_W=0.0,
    l1_ratio=0.0,
    smoothness=0.0,
    mask=None,
    weights=None,
    max_iter=500,
    tol=1e-6,
):
    """The W ≥ 0 that minimises the objective of :func:`nmf` for new data with H fixed.

    ``transform(X_train, res.H, ...)`` with a fit's settings returns the fitted W (to the
    accuracy of the fit) — unlike scikit-learn's ``NMF.transform``, whose result can differ from
    ``fit_transform`` (its issue #18663).

    Parameters
    ----------
    X : array-like or scipy.sparse, shape (n_samples, n_features)
        NaN entries of a dense X are missing values (they do not count).
    H : array-like, shape (n_components, n_features)
        Fixed components, e.g. ``res.H`` of a fit.
    beta_loss, alpha_W, l1_ratio, smoothness
        As in :func:`nmf` (the W part of the penalty, scaled by ``n_features``; nsNMF's θ).
    solver : {"auto", "mu", "cd", "hals", "anls", "pgd", "newton-cd"}
        "auto": "anls" for β = 2 (exact non-negative least squares, one step), "newton-cd" for
        KL, "mu" otherwise; with missing values "cd" for β = 2 and "mu" otherwise.
    mask : boolean array or sparse pattern, shape of X, or None
        True (or stored) = observed, as in :func:`nmf`.
    weights : array or sparse matrix, shape of X, or None
        Per-entry weights, as in :func:`nmf`.
    max_iter, tol
        W-updates at most, and the relative-decrease rule of :func:`nmf` (tested every 10
        updates).  The start is W = √(mean(X)/k) everywhere (scikit-learn's MU start).

    Returns
    -------
    W : ndarray (n_samples, n_components), X's float dtype
    """
    return _transform_w(X, H, beta_loss=beta_loss, solver=solver, alpha_W=alpha_W,
                        l1_ratio=l1_ratio, smoothness=smoothness, mask=mask,
                        weights=weights, max_iter=max_iter, tol=tol)[0]


def _transform_w(X, H, *, beta_loss, solver, alpha_W, l1_ratio, max_iter, tol, smoothness=0.0,
                 mask=None, missing="zero", W0=None, rule="objective", weights=None,
                 sample_weight=None):
    """:func:`transform`, returning ``(W, number of W-updates)``.

    ``W0``: a start (default: the constant ``√(mean(X)/k)``).  ``rule="w_change"``: stop when
    an update changes W by at most ``tol`` relative (``‖ΔW‖_F ≤ tol·‖W‖_F``, scikit-learn's
    MiniBatchNMF rule) instead of the objective's relative decrease."""
    X, nan_observed = _validation.check_data_with_nan(X)
    observed = _validation.check_observed(X, nan_observed, mask, missing)
    X_fit, entry_weights, observed_only = _validation.counted_entries(
        X, observed, weights, sample_weight, mask)
    beta = _validation.check_beta_loss(beta_loss)
    record = solvers.check(solver, beta, sparse=sp.issparse(X), observed=observed_only,
                           transform=True)
    if observed_only:
        op = Data(X_fit, observed_only=True, weights=entry_weights).X_op
        _validation.check_zeros_for_beta(op.X.data.reshape(1, -1), beta)
    else:
        _validation.check_zeros_for_beta(X, beta)
        op = CsrOp(X) if sp.issparse(X) else DenseOp(X)
    _validation.check_op_magnitude(op)
    if np.ndim(H) != 2:
        raise ValueError(f"H must be 2-D (n_components, n_features), got shape {np.shape(H)}.")
    k = np.shape(H)[0]
    H = _validation.check_factor(H, (k, X.shape[1]), X.dtype, "H")
    alpha_W, _, l1_ratio = _validation.check_regularization(alpha_W, 0.0, l1_ratio)
    smoothness = _validation.check_finite_real(smoothness, "smoothness", 0.0, 1.0,
                                               include_maximum=False)
    max_iter = _validation.check_int(max_iter, "max_iter", 1)
    tol = _validation.check_real(tol, "tol", 0.0)

    n_samples, n_features = X.shape
    B = np.ascontiguousarray(H.T)
    if smoothness:
        B = np.ascontiguousarray(B @ smoothing_matrix(k, smoothness, X.dtype))
    penalty, _ = scaled_penalties(X.shape, alpha_W, 0.0, l1_ratio)
    # the (weighted) mean of the (observed) entries
    if entry_weights is not None:
        mean = op.wargs[0].sum(dtype=np.float64) / op.n_entries
    else:
        n_entries = op.n_stored if observed_only else n_samples * n_features
        mean = op.X.sum(dtype=np.float64) / n_entries if n_entries else 0.0
    if W0 is None:
        W = np.full((n_samples, k), np.sqrt(max(mean, 0.0) / max(k, 1)), dtype=X.dtype)
    else:
        W = _validation.check_factor(W0, (n_samples, k), X.dtype, "W0")

    def objective():
        return divergence(op, W, B, beta) + penalty.value(W)

    if record.exact:
        max_iter = 1  # each step solves the subproblem exactly, from any start
    step = record.new_step(StepOptions(beta))
    with fit_threads(sp.issparse(op.X), record.blas_bound(beta), op.n_stored):
        if rule == "w_change":
            W_prev = W.copy()
            for n_iter in range(1, max_iter + 1):
                step(op, W, B, penalty)
                if tol > 0 and np.linalg.norm(W - W_prev) <= tol * np.linalg.norm(W):
                    break
                W_prev[:] = W
            return W, n_iter
        f_init = f_prev = objective()
        for n_iter in range(1, max_iter + 1):
            step(op, W, B, penalty)
            if n_iter % TOL_WINDOW == 0 or n_iter == max_iter:
                f = objective()
                if not np.isfinite(f):
                    raise FloatingPointError(
                        f"transform: the objective became {f}; rescale X or use float64.")
                if f_init == 0 or (n_iter % TOL_WINDOW == 0 and (f_prev - f) / f_init < tol):
                    break
                f_prev = f
    return W, n_iter
