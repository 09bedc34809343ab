"""The orchestration: ``nmf()`` validates, initialises, owns the iteration loop and the stopping
rules, and calls one solver half-step per factor per iteration."""

import contextlib
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from . import _validation
from ._sklearn import check_random_state, convergence_warning
from ._data import CsrOp, Data, DenseOp, _frobenius_from_parts, observed_matrix, thread_limits
from .distributed import is_dask_array
from .init import _initialize, check_n_components
from .losses import divergence
from .solvers import blas_bound, make_step, pgrad_sq_at
from .solvers._common import Graph, Penalty

__all__ = ["nmf", "transform", "NMFResult", "IterationInfo"]

# The tol rule compares objectives _TOL_WINDOW iterations apart (scikit-learn's MU rule), so its
# meaning does not depend on how often the objective is evaluated.  For beta = 2 the objective is
# a by-product of the update and is evaluated (recorded, passed to the callback) every iteration;
# for beta != 2 it costs about as much as an update (the model must be formed at every stored
# entry), so it is evaluated only every _TOL_WINDOW iterations.
_TOL_WINDOW = 10


@dataclass
class NMFResult:
    """What :func:`nmf` returns.

    Attributes
    ----------
    W : ndarray (n_samples, n_components)
    H : ndarray (n_components, n_features)
    n_iter : int
        Iterations run (one iteration updates W, then H).
    converged : bool
        True when the ``tol`` rule stopped the run.
    stop_reason : str
        Which rule stopped the run: "tol", "max_iter", "time_limit" or "callback".
    S, W_smoothed, reconstruct()
        nsNMF (``smoothness=θ > 0``): the model is ``W S H``; these give ``S``, ``W S`` and the
        model.  Every function of :mod:`nmf_numba.metrics` takes the result (``metric(X, res)``)
        and uses ``W S H``.
    loss : float
        Final objective: the data term plus every penalty.
    data_loss : float
        The data term: ``½‖X − WH‖²_F`` for β = 2, else the β-divergence ``D_β(X | WH)``.
    reconstruction_err : float
        ``sqrt(2 · data_loss)``: scikit-learn's ``reconstruction_err_`` (the Frobenius norm of
        the residual for β = 2).
    history : dict of equal-length ndarrays
        "iteration", "time" (seconds since the call started) and "objective", one entry per
        objective check, starting with the initialisation (iteration 0); with
        ``stop="pgrad"`` also "pgrad", the relative projected-gradient norm.
    beta : float
    solver : str
    """

    W: np.ndarray
    H: np.ndarray
    n_iter: int
    converged: bool
    stop_reason: str
    loss: float
    data_loss: float
    reconstruction_err: float
    history: dict = field(repr=False)
    beta: float = 2.0
    solver: str = "cd"
    smoothness: float = 0.0
    """nsNMF's θ."""
    run_losses: np.ndarray = None
    """Final objective of every run (``n_init`` of them); the result is run ``best_run``."""
    best_run: int = 0

    def labels(self):
        """The cluster of each sample: the argmax of its row of W (−1 for an all-zero row)."""
        out = np.argmax(self.W, axis=1)
        out[~np.any(self.W > 0, axis=1)] = -1
        return out

    @property
    def S(self):
        """nsNMF's smoothing matrix ``(1 − θ) I + (θ/k) 𝟙𝟙ᵀ`` (the identity for θ = 0)."""
        k = self.W.shape[1]
        theta = self.smoothness
        return _smoothing_matrix(k, theta, self.W.dtype)

    @property
    def W_smoothed(self):
        """``W S``: the factor the model multiplies with H (``W`` itself for θ = 0)."""
        return self.W if self.smoothness == 0 else self.W @ self.S

    def reconstruct(self):
        """The model ``W S H`` (``W H`` for θ = 0) as a dense array."""
        return self.W_smoothed @ self.H


def _smoothing_matrix(k, theta, dtype):
    S = np.full((k, k), theta / k)
    S[np.diag_indices(k)] += 1.0 - theta
    return S.astype(dtype)


@dataclass
class IterationInfo:
    """Passed to ``callback`` after each objective check.  ``W`` and ``H`` are copies."""

    iteration: int
    elapsed: float
    objective: float
    W: np.ndarray
    H: np.ndarray


class _NoProgress(contextlib.nullcontext):
    def __enter__(self):
        return self

    def update(self, n):
        pass

    def set_postfix(self, *args, **kwargs):
        pass


def _progress_bar(verbose, max_iter, solver):
    """A tqdm bar showing the iteration and the objective, or a stand-in that does nothing."""
    if not verbose:
        return _NoProgress()
    from tqdm.auto import tqdm

    return tqdm(total=max_iter, desc=f"nmf[{solver}]", unit="it")


def _finite(f, n_iter, data):
    """The objective, or a FloatingPointError that says what to do (never a silent NaN/inf)."""
    if np.isfinite(f):
        return f
    raise FloatingPointError(
        f"The objective became {f} at iteration {n_iter}: the magnitude of X (max "
        f"{data.max_abs:g}) overflows {data.dtype} arithmetic in the products W H. Rescale X "
        "(e.g. X / X.max()) or use float64."
    )


@dataclass
class _Problem:
    """What a fit minimises: ``D_β(X | W S H)`` plus a penalty on each factor, where ``S`` is
    nsNMF's smoothing matrix (None: the identity).

    With ``S`` the W-step sees ``B = (S H)ᵀ = Hᵀ S`` and the H-step ``B = W S``: every solver's
    half-step is unchanged, only the fixed factor it is given."""

    data: Data
    beta: float
    penalty_W: Penalty
    penalty_H: Penalty
    S: object = None

    def smoothed(self, A):
        return A if self.S is None else np.dot(A, self.S)

    def data_term(self, W, Ht, parts=None):
        """``D_β(X | W S H)``; from a least-squares H-step's products when given (O(n·k²))."""
        if parts is not None:
            XtB, BtB = parts
            return 0.5 * _frobenius_from_parts(self.data.sq_norm, Ht, XtB, BtB)
        return divergence(self.data.X_op, W, self.smoothed(Ht), self.beta)

    def objective(self, W, Ht, parts=None):
        return self.terms(W, Ht, parts)[1]

    def terms(self, W, Ht, parts=None):
        """``(data term, objective)``."""
        data_term = self.data_term(W, Ht, parts)
        return data_term, data_term + self.penalty_W.value(W) + self.penalty_H.value(Ht)

    def pgrad_sq(self, W, Ht):
        X_op, Xt_op = self.data.X_op, self.data.Xt_op
        return pgrad_sq_at(X_op, W, self.smoothed(Ht), self.beta, self.penalty_W) + pgrad_sq_at(
            Xt_op, Ht, self.smoothed(W), self.beta, self.penalty_H
        )

    def iteration(self, step, W, Ht):
        """One W half-step then one H half-step (in place); their ``HalfStep``s."""
        w_step = step(self.data.X_op, W, self.smoothed(Ht), penalty=self.penalty_W)
        h_step = step(self.data.Xt_op, Ht, self.smoothed(W), penalty=self.penalty_H)
        return w_step, h_step


def _record(history, progress, n_iter, elapsed, f):
    """Add one objective check to ``history`` and show it on the progress bar."""
    history["iteration"].append(n_iter)
    history["time"].append(elapsed)
    history["objective"].append(f)
    progress.set_postfix(objective=f"{f:.6g}", refresh=False)


def _iterate(problem, W, Ht, step, stop, max_iter, tol, time_limit, callback, progress, t_start):
    """The iteration loop: one half-step for W and one for H per iteration, objective checks,
    stopping rules.  Updates W and Ht in place; returns (n_iter, stop_reason, history)."""
    data = problem.data
    check_every = 1 if problem.beta == 2 else _TOL_WINDOW

    data_init, f_init = problem.terms(W, Ht)
    f_init = _finite(f_init, 0, data)
    history = {"iteration": [0], "time": [time.perf_counter() - t_start], "objective": [f_init]}
    if stop == "pgrad":
        pgrad_init = np.sqrt(problem.pgrad_sq(W, Ht))
        history["pgrad"] = [1.0]
    progress.set_postfix(objective=f"{f_init:.6g}", refresh=False)
    if f_init == 0.0 or (stop == "pgrad" and pgrad_init == 0.0):  # nothing to improve
        return 0, "tol", history

    f_prev = f_init
    # stop="sklearn": scikit-learn's rules (its cd's violation, or its MU rule on the error)
    error_init = error_prev = np.sqrt(2.0 * max(data_init, 0.0))
    violation_init = None
    stop_reason = "max_iter"
    n_iter = 0
    while stop_reason == "max_iter" and n_iter < max_iter:
        w_step, h_step = problem.iteration(step, W, Ht)
        n_iter += 1
        progress.update(1)
        elapsed = time.perf_counter() - t_start
        out_of_time = time_limit is not None and elapsed >= time_limit
        violation = None
        if stop == "sklearn" and w_step.violation is not None:
            violation = w_step.violation + h_step.violation
            violation_init = violation if violation_init is None else violation_init
        if (n_iter % check_every and n_iter < max_iter and not out_of_time
                and not (violation is not None and tol > 0)):
            continue

        data_term, f = problem.terms(W, Ht, h_step.products)
        f = _finite(f, n_iter, data)
        elapsed = time.perf_counter() - t_start
        _record(history, progress, n_iter, elapsed, f)
        if stop == "pgrad":
            pgrad = np.sqrt(w_step.pgrad_sq + h_step.pgrad_sq) / pgrad_init
            history["pgrad"].append(pgrad)
            converged = pgrad < tol
        elif violation is not None:
            converged = violation_init == 0 or violation <= tol * violation_init
        elif stop == "sklearn":
            error = np.sqrt(2.0 * max(data_term, 0.0))
            converged = n_iter % _TOL_WINDOW == 0 and (error_prev - error) / error_init < tol
            if n_iter % _TOL_WINDOW == 0:
                error_prev = error
        else:
            converged = n_iter % _TOL_WINDOW == 0 and (f_prev - f) / f_init < tol
        if callback is not None and callback(
            IterationInfo(n_iter, elapsed, f, W.copy(), Ht.T.copy())
        ):
            stop_reason = "callback"
        elif converged and (tol > 0 or violation_init == 0):
            stop_reason = "tol"
        elif out_of_time:
            stop_reason = "time_limit"
        if n_iter % _TOL_WINDOW == 0:
            f_prev = f
    return n_iter, stop_reason, history


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
    time_limit=None,
    callback=None,
    random_state=None,
    shuffle=False,
    verbose=False,
):
    """Non-negative matrix factorisation ``X ≈ W H`` with W, H ≥ 0.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix/array, shape (n_samples, n_features)
        Non-negative data; rows are samples.  Integers and booleans become float64; float32 stays
        float32 throughout.  Sparse input is used as CSR and never densified.
    n_components : int or None
        Rank k.  None: the k of a custom init, else ``min(n_samples, n_features)``.
    beta_loss : {"frobenius", "kullback-leibler", "itakura-saito"} or float
        The β of the β-divergence minimised (2, 1, 0 for the names).
    solver : {"auto", "mu", "cd", "hals", "anls", "pgd", "newton-cd"}
        "mu": multiplicative updates (every β).  "cd": coordinate descent / HALS (β = 2), one
        sweep per half-step, as scikit-learn.  "hals": accelerated HALS (Gillis & Glineur
        2012), repeated sweeps on the same products while they pay (β = 2).  "anls":
        alternating exact non-negative least squares by block principal pivoting (Kim & Park
        2011) (β = 2).  "pgd": alternating projected gradient (Lin 2007) (β = 2).
        "newton-cd": cyclic coordinate descent with one-variable Newton steps (Hsieh & Dhillon
        2011) (β = 1).  "auto": the fastest to a tight tolerance in the README's benchmarks
        for the β and the input format (see :func:`nmf_numba.solvers.auto_solver`).
    init : {"auto", "random", "nndsvd", "nndsvda", "nndsvdar"} or tuple (W0, H0)
        Initialisation; see :func:`nmf_numba.init.initialize`.  W0/H0 are copied, never modified.
    max_iter : int
        Maximum number of iterations (each updates W then H).
    tol : float
        Tolerance of the ``stop`` rule; ``tol=0`` disables it.  The objective is evaluated every
        iteration for β = 2 (it comes almost free from the update's products) and every 10
        iterations otherwise; each evaluation is recorded in ``history`` and passed to
        ``callback``.
    stop : {"objective", "pgrad", "sklearn"}
        "objective": relative decrease, tested every 10 iterations: the run stops at iteration
        ``i`` (a multiple of 10) when ``(f[i−10] − f[i]) / f[0] < tol``, where ``f[i]`` is the
        objective after iteration ``i`` and ``f[0]`` the one at the initialisation
        (scikit-learn's MU solver applies the same rule to ``sqrt(2 f)``).
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
        solvers are "mu" (every β) and "cd"/"hals" (β = 2, per-row Gram matrices over the
        observed entries); "auto" picks "cd" for β = 2, else "mu".
    time_limit : float or None
        Stop after this many seconds (checked after every iteration; the limit covers every
        restart together).
    callback : callable or None
        ``callback(info: IterationInfo)`` after every objective check; returning True stops.
    random_state : None, int, numpy RandomState or Generator
        Seeds the "random" and "nndsvd*" initialisations, and ``shuffle``'s order.
    shuffle : bool
        "cd" only: visit the components in a random order in each sweep (scikit-learn's
        ``shuffle``; for an int ``random_state`` the same orders as scikit-learn).
    verbose : bool
        Show a tqdm progress bar with the current objective.

    Returns
    -------
    NMFResult
    """
    if is_dask_array(X):  # the same solvers, with the work on X's blocks done by Dask
        from .distributed import nmf as dask_nmf

        return dask_nmf(
            X, n_components, beta_loss=beta_loss, solver=solver, init=init, max_iter=max_iter,
            tol=tol, alpha_W=alpha_W, alpha_H=alpha_H, l1_ratio=l1_ratio,
            time_limit=time_limit, callback=callback, random_state=random_state,
            verbose=verbose, stop=stop, graph=graph, graph_reg=graph_reg,
            smoothness=smoothness, n_init=n_init, mask=mask, missing=missing, shuffle=shuffle,
        )
    t_start = time.perf_counter()
    X, nan_observed = _validation.check_data_with_nan(X)
    observed = _validation.check_observed(X, nan_observed, mask, missing)
    beta = _validation.check_beta_loss(beta_loss)
    has_graph = graph is not None and graph_reg != 0
    if observed is not None and isinstance(solver, str) and solver == "auto":
        solver = "cd" if beta == 2 else "mu"
    solver = _validation.check_solver(solver, beta, sp.issparse(X), graph=has_graph)
    if observed is not None:
        _validation.check_solver_for_mask(solver, beta, has_graph)
    if not isinstance(stop, str) or stop not in ("objective", "pgrad", "sklearn"):
        raise ValueError(f"Invalid stop {stop!r}: use 'objective', 'pgrad' or 'sklearn'.")
    if observed is not None:  # only the observed entries count from here on
        observations = observed_matrix(X, None if observed is True else observed)
        _validation.check_zeros_for_beta(observations.data.reshape(1, -1), beta)
    else:
        _validation.check_zeros_for_beta(X, beta)
    max_iter = _validation.check_int(max_iter, "max_iter", 1)
    tol = _validation.check_real(tol, "tol", 0.0)
    time_limit = _validation.check_real(time_limit, "time_limit", 0.0, allow_none=True, strict=True)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable or None, got {callback!r}.")
    alpha_W, alpha_H, l1_ratio = _validation.check_regularization(alpha_W, alpha_H, l1_ratio)
    graph_reg = _validation.check_finite_real(graph_reg, "graph_reg", 0.0)
    affinity = _validation.check_graph(graph, graph_reg, X.shape[0])
    _validation.check_solver_for_graph(solver, beta, affinity is not None, stop)
    smoothness = _validation.check_finite_real(smoothness, "smoothness", 0.0, np.nextafter(1, 0))
    n_init = _validation.check_int(n_init, "n_init", 1)
    if not isinstance(shuffle, (bool, np.bool_)):
        raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
    if shuffle and solver != "cd":
        raise ValueError(f"shuffle=True needs solver='cd' (a random component order in each "
                         f"coordinate-descent sweep); solver={solver!r} has no such order.")
    k = check_n_components(n_components, X, init)

    data = Data(observations, observed_only=True) if observed is not None else Data(X)
    _validation.check_magnitude(data.max_abs, data.sq_norm)

    m, n = X.shape
    graph_term = None
    if affinity is not None:
        degrees = np.asarray(affinity.sum(axis=1)).ravel()
        graph_term = Graph(affinity, degrees, graph_reg, beta)
    problem = _Problem(
        data,
        beta,
        penalty_W=Penalty(alpha_W * l1_ratio * n, alpha_W * (1.0 - l1_ratio) * n, graph_term),
        penalty_H=Penalty(alpha_H * l1_ratio * m, alpha_H * (1.0 - l1_ratio) * m),
        S=_smoothing_matrix(k, smoothness, X.dtype) if smoothness else None,
    )
    best, run_losses = None, []
    for run, (run_init, run_seed) in enumerate(_restart_plan(init, random_state, n_init)):
        if run > 0 and time_limit is not None and time.perf_counter() - t_start >= time_limit:
            break  # the time limit covers every restart
        # with missing values the initialisation sees the observations only (missing = 0)
        W0, H0 = _initialize(X if observed is None else observations, k, run_init, run_seed)
        W = np.ascontiguousarray(W0, dtype=X.dtype)
        Ht = np.ascontiguousarray(H0.T, dtype=X.dtype)
        shuffle_rng = check_random_state(run_seed) if shuffle else None
        step = make_step(solver, beta, stop == "pgrad", shuffle_rng)  # fresh state per run
        with data.thread_limits(blas_bound(solver, beta)), _progress_bar(verbose, max_iter, solver) as progress:
            n_iter, stop_reason, history = _iterate(
                problem, W, Ht, step, stop, max_iter, tol, time_limit, callback, progress,
                t_start,
            )
            data_loss = _finite(problem.data_term(W, Ht), n_iter, data)
            loss = data_loss + problem.penalty_W.value(W) + problem.penalty_H.value(Ht)
        run_losses.append(loss)
        if best is None or loss < best[0]:
            best = (loss, data_loss, W, Ht, n_iter, stop_reason, history, run)
    loss, data_loss, W, Ht, n_iter, stop_reason, history, best_run = best

    _warn_if_max_iter(stop_reason, max_iter, tol, stop)
    return _result(W, Ht, n_iter, stop_reason, loss, data_loss, history, beta, solver,
                   smoothness, run_losses, best_run)


def _warn_if_max_iter(stop_reason, max_iter, tol, stop, stacklevel=3):
    """scikit-learn's ConvergenceWarning when a run with a tolerance ended on max_iter
    (``stacklevel`` 3: the caller of the function that calls this one)."""
    if stop_reason == "max_iter" and tol > 0:
        warnings.warn(
            f"Maximum number of iterations {max_iter} reached before the "
            + ("relative projected gradient" if stop == "pgrad" else "objective's relative decrease")
            + f" fell below tol={tol:g}. Increase max_iter or tol to silence this.",
            convergence_warning(),
            stacklevel=stacklevel,
        )


def _result(W, Ht, n_iter, stop_reason, loss, data_loss, history, beta, solver, smoothness=0.0,
            run_losses=None, best_run=0):
    """The NMFResult of a finished run (``Ht`` is Hᵀ; ``W`` NumPy or Dask)."""
    return NMFResult(
        W=W,
        H=np.ascontiguousarray(Ht.T),
        n_iter=n_iter,
        converged=stop_reason == "tol",
        stop_reason=stop_reason,
        loss=loss,
        data_loss=data_loss,
        reconstruction_err=float(np.sqrt(2.0 * max(data_loss, 0.0))),
        history={key: np.asarray(val) for key, val in history.items()},
        beta=beta,
        solver=solver,
        smoothness=smoothness,
        run_losses=np.asarray([loss] if run_losses is None else run_losses),
        best_run=best_run,
    )


def _restart_plan(init, random_state, n_init):
    """``(init, random_state)`` of each of the ``n_init`` runs.

    The first run uses ``init`` and ``random_state`` as given (so ``n_init=1`` is one plain
    run).  Later runs draw their seeds from ``random_state``; they use ``init`` again when it is
    randomised ("random", "nndsvdar"), and "random" when it is deterministic ("nndsvd",
    "nndsvda", a custom ``(W0, H0)``; "auto" resolves to one of these), which would only repeat
    the first run.
    """
    plan = [(init, random_state)]
    if n_init > 1:
        rng = check_random_state(random_state)
        randomised = isinstance(init, str) and init in ("random", "nndsvdar")
        later = init if randomised else "random"
        seeds = rng.randint(np.iinfo(np.int32).max, size=n_init - 1)
        plan += [(later, int(seed)) for seed in seeds]
    return plan


# What transform() runs for solver="auto": the W-subproblem with H fixed is convex for β ∈ [1, 2],
# and these solve it fastest (anls exactly, in one step).
_TRANSFORM_AUTO = {2.0: "anls", 1.0: "newton-cd"}


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
    max_iter, tol
        W-updates at most, and the relative-decrease rule of :func:`nmf` (tested every 10
        updates).  The start is W = √(mean(X)/k) everywhere (scikit-learn's MU start).

    Returns
    -------
    W : ndarray (n_samples, n_components), X's float dtype
    """
    return _transform_w(X, H, beta_loss=beta_loss, solver=solver, alpha_W=alpha_W,
                        l1_ratio=l1_ratio, smoothness=smoothness, mask=mask,
                        max_iter=max_iter, tol=tol)[0]


def _transform_w(X, H, *, beta_loss, solver, alpha_W, l1_ratio, max_iter, tol, smoothness=0.0,
                 mask=None, missing="zero", W0=None, rule="objective"):
    """:func:`transform`, returning ``(W, number of W-updates)``.

    ``W0``: a start (default: the constant ``√(mean(X)/k)``).  ``rule="w_change"``: stop when
    an update changes W by at most ``tol`` relative (``‖ΔW‖_F ≤ tol·‖W‖_F``, scikit-learn's
    MiniBatchNMF rule) instead of the objective's relative decrease."""
    X, nan_observed = _validation.check_data_with_nan(X)
    observed = _validation.check_observed(X, nan_observed, mask, missing)
    beta = _validation.check_beta_loss(beta_loss)
    if isinstance(solver, str) and solver == "auto":
        if observed is not None:
            solver = "cd" if beta == 2 else "mu"
        else:
            solver = _TRANSFORM_AUTO.get(beta, "mu")
    solver = _validation.check_solver(solver, beta, sp.issparse(X))
    if observed is not None:
        _validation.check_solver_for_mask(solver, beta, False)
        op = Data(observed_matrix(X, None if observed is True else observed),
                  observed_only=True).X_op
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
    smoothness = _validation.check_finite_real(smoothness, "smoothness", 0.0, np.nextafter(1, 0))
    max_iter = _validation.check_int(max_iter, "max_iter", 1)
    tol = _validation.check_real(tol, "tol", 0.0)

    n_samples, n_features = X.shape
    B = np.ascontiguousarray(H.T)
    if smoothness:
        B = np.ascontiguousarray(B @ _smoothing_matrix(k, smoothness, X.dtype))
    penalty = Penalty(alpha_W * l1_ratio * n_features, alpha_W * (1.0 - l1_ratio) * n_features)
    # the mean of the (observed) entries
    n_entries = op.n_stored if observed is not None else n_samples * n_features
    mean = op.X.sum(dtype=np.float64) / n_entries if n_entries else 0.0
    if W0 is None:
        W = np.full((n_samples, k), np.sqrt(max(mean, 0.0) / max(k, 1)), dtype=X.dtype)
    else:
        W = _validation.check_factor(W0, (n_samples, k), X.dtype, "W0")

    def objective():
        return divergence(op, W, B, beta) + penalty.value(W)

    if solver == "anls":
        max_iter = 1  # each step solves the subproblem exactly, from any start
    step = make_step(solver, beta)
    with thread_limits(sp.issparse(X), blas_bound(solver, beta), op.n_stored):
        if rule == "w_change":
            W_prev = W.copy()
            for n_iter in range(1, max_iter + 1):
                step(op, W, B, penalty=penalty)
                if tol > 0 and np.linalg.norm(W - W_prev) <= tol * np.linalg.norm(W):
                    break
                W_prev[:] = W
            return W, n_iter
        f_init = f_prev = objective()
        for n_iter in range(1, max_iter + 1):
            step(op, W, B, penalty=penalty)
            if n_iter % _TOL_WINDOW == 0 or n_iter == max_iter:
                f = objective()
                if not np.isfinite(f):
                    raise FloatingPointError(
                        f"transform: the objective became {f}; rescale X or use float64.")
                if f_init == 0 or (n_iter % _TOL_WINDOW == 0 and (f_prev - f) / f_init < tol):
                    break
                f_prev = f
    return W, n_iter
