"""Drop-in scikit-learn estimators: :class:`NMF`, :class:`MiniBatchNMF` and
:func:`non_negative_factorization`.

``from nmf_numba import NMF, MiniBatchNMF, non_negative_factorization`` replaces scikit-learn's
import line.  The classes subclass scikit-learn's and replace only the numerical work, so the
parameters, validation, checks, messages, stopping rules, MiniBatchNMF's online loop and
``partial_fit`` are scikit-learn's own (its ``test_nmf.py`` runs against these classes in
``tests/test_estimators.py``; ``tests/test_sklearn_contract.py`` fails if a scikit-learn release
changes the methods this relies on):

* ``NMF`` fits by one call of :func:`nmf_numba.nmf` with ``stop="sklearn"`` (scikit-learn's
  stopping rules, so its iteration counts are reproduced);
* ``transform`` is :func:`nmf_numba.transform` in the fit's solver family: exact non-negative
  least squares after "cd", "hals", "anls" or "pgd", "newton-cd" after it, multiplicative
  updates after "mu" and in MiniBatchNMF;
* MiniBatchNMF's step (Lefèvre, Bach & Févotte 2011) is ``solvers.mu.update`` on the batch's W
  and ``solvers.mu.online_update`` on H.

Differences from scikit-learn, on purpose:

* ``fit_transform`` returns ``transform(X)``'s W for the final components, not the last iterate
  of W, so ``fit(X).transform(X)`` equals ``fit_transform(X)`` (scikit-learn's issue #18663,
  which fails two of its own estimator checks).
* Arrays passed as ``W`` and ``H`` are never modified (scikit-learn's ``cd`` updates ``W`` in
  place, MiniBatchNMF a custom ``H``), and generated starts come from :mod:`nmf_numba.init`.
* ``NMF`` also takes what :func:`nmf_numba.nmf` takes: the solvers "hals", "anls", "pgd",
  "newton-cd" and "auto"; ``graph_reg``, ``smoothness``, ``missing``, ``n_init``,
  ``time_limit``, ``callback``, fixed components (``fix_H``, ``fix_W``) and ``normalize``; NaN
  entries of X as missing values; ``mask=``, ``graph=`` and ``sample_weight=`` (row i's data
  term times ``sample_weight[i]``, as :func:`nmf_numba.nmf`'s) as arguments of
  ``fit``/``fit_transform``.
* With ``smoothness=θ`` (nsNMF, model ``W S H``) ``components_`` is ``S H``, so that
  ``inverse_transform(W) = W @ components_`` is the model and ``transform`` needs no θ.
* ``normalize`` ("H", "W", "both"; default None, scikit-learn's behaviour) normalises and
  orders the components as :func:`nmf_numba.nmf` does.  ``components_`` is the normalised H;
  for "both" its rows sum to 1 and ``scale_`` holds the scale d, which ``transform`` and
  ``fit_transform`` fold into their output (``W diag(d)``, the sample factor on the model's
  scale: what W solves for when ``components_`` is fixed), so ``inverse_transform(W) =
  W @ components_`` is the model and ``fit(X).transform(X)`` equals ``fit_transform(X)``; the
  unit-sum W is ``result_.W`` (``fit_transform(X) / scale_`` to the fit's accuracy).
* ``NMF(n_components="search", max_components=None)`` chooses the rank as
  ``nmf(X, "auto")`` does (cross-validation, :func:`nmf_numba.select_rank`) and keeps the table
  in ``rank_selection_``.  It is not called "auto" here because scikit-learn's
  ``n_components="auto"`` (its default) already means "n_features, or the rank of a custom W
  and H", which the drop-in keeps.
"""

import collections.abc
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.decomposition import MiniBatchNMF as _SkMiniBatchNMF
from sklearn.decomposition import NMF as _SkNMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, check_non_negative, validate_data

from . import _validation
from ._data import Data
from .init import initialize
from .losses import divergence
from .metrics import reconstruction_error
from .nmf import _transform_w, nmf
from .solvers import mu
from .solvers import names as solver_names
from .solvers._common import Penalty

__all__ = ["NMF", "MiniBatchNMF", "non_negative_factorization"]

_LEAST_SQUARES = ("cd", "hals", "anls", "pgd")
# scikit-learn's wording for an error that its _fit_transform raises inline (NMF replaces that
# method, so it raises the error itself)
_BETA_LE_0 = (
    "When beta_loss <= 0 and X contains zeros, the solver may diverge. Please add small values "
    "to X, or use a positive beta_loss."
)


# the package's one random_state rule (nmf_numba._random) also takes a Generator or SeedSequence
_RANDOM_STATE = ["random_state", np.random.Generator, np.random.SeedSequence]


class _SolverNames(collections.abc.Set):
    """The registry's solver names as they are when a parameter is checked, so that a solver
    registered at run time is a valid ``solver``."""

    def __contains__(self, name):
        return name in solver_names()

    def __iter__(self):
        return iter(solver_names())

    def __len__(self):
        return len(solver_names())

    @classmethod
    def _from_iterable(cls, iterable):  # set operations give plain sets
        return frozenset(iterable)


def _as_csr(X):
    """X as the kernels take it: canonical CSR or C-contiguous (a copy only when needed; NaN is
    left for :func:`nmf_numba.nmf`)."""
    return _validation.check_data(X) if sp.issparse(X) else np.ascontiguousarray(X)


class _OwnStartAndW:
    """What both estimators change in scikit-learn's shared machinery: the start of the fit and
    the W-subproblem."""

    @property
    def _init(self):
        """``init`` as :mod:`nmf_numba.init` names scikit-learn's default."""
        return "auto" if self.init is None else self.init

    def _check_w_h(self, X, W, H, update_H):
        """scikit-learn's checks of a custom W/H (or of transform's H), returning copies: its
        solvers update these arrays in place.  For any other start scikit-learn would call its
        ``_initialize_nmf``, which NMF cannot use (nmf() draws every restart's start, from the
        observed entries only) and whose float32 or Fortran-order results differ from
        :mod:`nmf_numba.init`'s in the last bits; :meth:`_draw_start` draws it instead, after
        the same checks."""
        if self.init == "custom" or not update_H:
            W, H = super()._check_w_h(X, W, H, update_H)
            return np.array(W, order="C"), np.array(H, order="C")
        if W is not None or H is not None:
            warnings.warn(
                "When init!='custom', provided W or H are ignored. Set  init='custom' to use "
                "them as initialization.", RuntimeWarning,
            )
        if self._n_components == "auto":
            self._n_components = X.shape[1]
        if self._init not in ("auto", "random") and self._n_components > min(X.shape):
            raise ValueError(f"init = '{self.init}' can only be used when n_components <= "
                             "min(n_samples, n_features)")
        return self._draw_start(X)

    def _w_subproblem(self, X, H, solver, max_iter, mask=None, missing="zero",
                      sample_weight=None):
        """``(W, updates)``: W ≥ 0 for X with H fixed, by :func:`nmf_numba.transform`'s code; MU
        stops on MiniBatchNMF's rule (W's relative change), the other solvers on the objective."""
        return _transform_w(
            X, H, beta_loss=self._beta_loss, solver=solver, alpha_W=self.alpha_W,
            l1_ratio=self.l1_ratio, max_iter=max_iter, tol=self.tol, mask=mask, missing=missing,
            rule="w_change" if solver == "mu" else "objective", sample_weight=sample_weight,
        )


class NMF(_OwnStartAndW, _SkNMF):
    """Non-negative matrix factorisation: scikit-learn's ``NMF`` on nmf_numba's solvers.

    Parameters, defaults, attributes and behaviour are ``sklearn.decomposition.NMF``'s (see its
    documentation) plus what :func:`nmf_numba.nmf` offers; the module docstring lists the
    differences.

    Parameters beyond scikit-learn's
    --------------------------------
    solver : {"cd", "mu", "hals", "anls", "pgd", "newton-cd", "auto"}, default="cd"
    graph_reg, smoothness, missing, n_init, time_limit, callback
        As in :func:`nmf_numba.nmf` (the graph itself is ``fit(X, graph=...)``).
    normalize : {None, "H", "W", "both"}, default=None
        As in :func:`nmf_numba.nmf`: ``components_`` normalised and ordered (the module
        docstring says what "both" does to ``transform``).
    accelerate : bool or "auto", default="auto"
        The solver's accelerated variant, as in :func:`nmf_numba.nmf`.  "auto" leaves
        scikit-learn's solvers ("cd", "mu") on scikit-learn's exact iterations and follows
        :func:`nmf_numba.nmf`'s rule for the others; True asks for it with any solver that has
        one.
    fix_H, fix_W : None, component indices or boolean mask, default=None
        Fixed (known) components, as in :func:`nmf_numba.nmf`: with ``init="custom"``, the
        rows ``fix_H`` of the ``H`` passed to ``fit`` (the columns ``fix_W`` of ``W``) stay
        as given while the others are learned.  ``transform`` is unchanged (it fixes every
        component of H anyway).  With ``fix_W``, ``fit_transform`` returns the fit's W (whose
        fixed columns are the given ones) rather than ``transform(X)``'s.

    Attributes beyond scikit-learn's
    --------------------------------
    n_components : int, None, "auto" or "search", default="auto"
        scikit-learn's meanings, plus "search": the rank chosen by cross-validation, as
        ``nmf_numba.nmf(X, "auto")`` chooses it (about six converged fits per rank scored,
        ranks 1, 2, ... up to two past the best held-out error; see :func:`nmf_numba.nmf`).
        Not with ``init="custom"`` (a custom W and H fix the rank), ``mask``, missing values,
        ``graph`` or ``smoothness``.
    max_components : int or None, default=None
        With ``n_components="search"``: the largest rank scored (None: ``min(X.shape)``).

    Attributes beyond scikit-learn's
    --------------------------------
    result_ : NMFResult
        The full result of the fit (objective history, every restart's loss, ...).
    rank_selection_ : RankSelection or None
        With ``n_components="search"``, the cross-validation table the rank was chosen from.
    scale_ : ndarray of shape (n_components,) or None
        With ``normalize="both"``, the components' scale d (descending); None otherwise.
    """

    _parameter_constraints: dict = {
        **_SkNMF._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left"), None,
                         StrOptions({"auto", "search"})],
        "max_components": [Interval(Integral, 1, None, closed="left"), None],
        "solver": [StrOptions(_SolverNames())],
        "random_state": _RANDOM_STATE,
        "graph_reg": [Interval(Real, 0, None, closed="left")],
        "smoothness": [Interval(Real, 0, 1, closed="left")],
        "missing": [StrOptions({"zero", "unobserved"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "time_limit": [Interval(Real, 0, None, closed="neither"), None],
        "callback": [callable, None],
        "accelerate": ["boolean", StrOptions({"auto"})],
        "fix_H": ["array-like", None],
        "fix_W": ["array-like", None],
        "normalize": [StrOptions(set(_validation.NORMALIZE)), None],
    }

    def __init__(
        self,
        n_components="auto",
        *,
        init=None,
        solver="cd",
        beta_loss="frobenius",
        tol=1e-4,
        max_iter=200,
        random_state=None,
        alpha_W=0.0,
        alpha_H="same",
        l1_ratio=0.0,
        verbose=0,
        shuffle=False,
        graph_reg=0.0,
        smoothness=0.0,
        missing="zero",
        n_init=1,
        time_limit=None,
        callback=None,
        accelerate="auto",
        max_components=None,
        fix_H=None,
        fix_W=None,
        normalize=None,
    ):
        super().__init__(
            n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
            max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
            l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle,
        )
        self.graph_reg = graph_reg
        self.smoothness = smoothness
        self.missing = missing
        self.n_init = n_init
        self.time_limit = time_limit
        self.callback = callback
        self.accelerate = accelerate
        self.max_components = max_components
        self.fix_H = fix_H
        self.fix_W = fix_W
        self.normalize = normalize

    @property
    def _accelerate(self):
        """``accelerate`` for nmf(): "auto" keeps scikit-learn's own solvers ("cd", "mu") on
        scikit-learn's iterations; the other solvers follow nmf()'s rule."""
        if isinstance(self.accelerate, str) and self.solver in ("cd", "mu"):
            return False
        return self.accelerate

    def _check_params(self, X):
        if self.solver in ("auto", "newton-cd"):
            # scikit-learn's NMF check would reject every β ≠ 2 for any solver but "mu"
            super(_SkNMF, self)._check_params(X)
            if self.solver == "newton-cd" and self._beta_loss != 1:
                raise ValueError(
                    f"Invalid beta_loss parameter: solver {self.solver!r} handles only "
                    f"beta_loss = 'kullback-leibler', got {self.beta_loss!r}"
                )
        else:  # "cd" and the other least-squares solvers take β = 2 only, like scikit-learn's
            super()._check_params(X)
        self._beta_loss = _validation.check_beta_loss(self._beta_loss)  # a finite float

    def _draw_start(self, X):
        return None, None  # nmf() draws it (and each restart's), from the observed entries

    @property
    def _w_solver(self):
        """The solver for W with H fixed (transform, and the W fit_transform returns): exact
        NNLS after a least-squares fit (``transform``'s "auto": "anls", or "cd" with missing
        values), "newton-cd" after it, MU after an MU fit (which keeps the result continuous in
        β and equal to MiniBatchNMF's, as scikit-learn's tests require)."""
        if self.solver in _LEAST_SQUARES:
            return "auto"
        if self.solver == "auto":
            return "auto" if self._beta_loss in (1, 2) else "mu"
        return self.solver

    def fit(self, X, y=None, W=None, H=None, *, sample_weight=None, **params):
        """Learn an NMF model for the data X (see :meth:`fit_transform`); returns self."""
        self.fit_transform(X, W=W, H=H, sample_weight=sample_weight, **params)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, W=None, H=None, *, mask=None, graph=None,
                      sample_weight=None):
        """Learn an NMF model for the data X and return the transformed data W.

        ``W`` and ``H`` are the start for ``init="custom"``.  NaN entries of X are missing
        values; ``mask`` (True = observed) and ``graph`` (a samples × samples affinity for
        ``graph_reg``) go to :func:`nmf_numba.nmf`; so does ``sample_weight`` (one
        non-negative weight per row: the objective ``Σ_i s_i Σ_j d(x_ij | (WH)_ij)``; the
        returned W and ``reconstruction_err_`` are those of the weighted objective).
        """
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan",
        )
        W, H, n_iter = self._fit_transform(X, W=W, H=H, mask=mask, graph=graph,
                                           sample_weight=sample_weight)
        self.n_components_ = H.shape[0]
        self.components_ = H
        self.n_iter_ = n_iter
        return W

    def _fit_transform(self, X, y=None, W=None, H=None, update_H=True, mask=None, graph=None,
                       sample_weight=None):
        """``(W, H, n_iter)``: a fit (``update_H``; sets ``result_`` and
        ``reconstruction_err_``), or W for the fixed H."""
        X = _as_csr(X)
        check_non_negative(X, "NMF (input X)")
        self._check_params(X)
        if self._beta_loss <= 0 and X.min() == 0:  # a sparse X's implicit zeros count
            raise ValueError(_BETA_LE_0)
        search = self._rank_search(H, update_H)
        fixing = update_H and (self.fix_H is not None or self.fix_W is not None)
        if fixing and self.init != "custom":
            raise ValueError(f"fix_H/fix_W need init='custom' with W and H passed to fit (the "
                             f"fixed components keep their values); got init={self.init!r}.")
        if not search:
            W, H = self._check_w_h(X, W, H, update_H)
        if not update_H:
            W, n_iter = self._w_subproblem(X, H, self._w_solver, self.max_iter, mask,
                                           self.missing, sample_weight)
            return W, H, n_iter
        with warnings.catch_warnings():  # nmf()'s wording gives way to scikit-learn's below
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            res = nmf(
                X, "auto" if search else self._n_components,
                max_components=self.max_components, init=self._init if W is None else (W, H),
                solver=self.solver, beta_loss=self._beta_loss, max_iter=self.max_iter,
                tol=self.tol, stop="sklearn", alpha_W=self.alpha_W, alpha_H=self.alpha_H,
                l1_ratio=self.l1_ratio, graph=graph, graph_reg=self.graph_reg,
                smoothness=self.smoothness, n_init=self.n_init, mask=mask,
                missing=self.missing, sample_weight=sample_weight,
                time_limit=self.time_limit, callback=self.callback,
                random_state=self.random_state, shuffle=self.shuffle and self.solver == "cd",
                verbose=bool(self.verbose), accelerate=self._accelerate, fix_H=self.fix_H,
                fix_W=self.fix_W, normalize=self.normalize,
            )
        if res.n_iter == self.max_iter and self.tol > 0:
            warnings.warn(f"Maximum number of iterations {self.max_iter} reached. Increase it "
                          "to improve convergence.", ConvergenceWarning)
        self.result_ = res
        self.rank_selection_ = res.rank_selection if search else None
        self.scale_ = res.scale
        H = res.H if res.S is None else np.ascontiguousarray(res.S @ res.H)
        W = res.W_scaled  # normalize="both": the scale folded into W, components_ unit-sum
        # #18663: transform(X)'s W for the final H, unless W has fixed columns to keep
        if (graph is None or self.graph_reg == 0) and not res.fixed_W.any():
            W, _ = self._w_subproblem(X, H, self._w_solver, self.max_iter, mask, self.missing,
                                      sample_weight)
        if self.missing == "unobserved" and mask is None:
            mask = X  # the stored entries of a sparse X are the observed ones
        self.reconstruction_err_ = reconstruction_error(X, W, H, self._beta_loss, mask=mask,
                                                        sample_weight=sample_weight)
        return W, H, res.n_iter

    def _rank_search(self, H, update_H):
        """Whether this fit searches the rank (``n_components="search"``); for W with H fixed
        the rank is H's."""
        if self._n_components != "search":
            if self.max_components is not None:
                raise ValueError("max_components goes with n_components='search'; pass "
                                 f"max_components=None with n_components={self.n_components!r}.")
            return False
        if not update_H:
            self._n_components = H.shape[0]
            return False
        if self.init == "custom":
            raise ValueError("n_components='search' chooses the rank itself, but init='custom' "
                             "fixes it with W and H: pass an int n_components, or another init.")
        return True

    def transform(self, X, *, mask=None):
        """W ≥ 0 for X with the fitted components fixed (NaN entries or ``mask``: missing)."""
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
            reset=False, ensure_non_negative=True, ensure_all_finite="allow-nan",
        )
        W, *_ = self._fit_transform(X, H=self.components_, update_H=False, mask=mask)
        return W

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # NaN entries are missing values
        return tags


class MiniBatchNMF(_OwnStartAndW, _SkMiniBatchNMF):
    """Mini-batch NMF: scikit-learn's ``MiniBatchNMF`` with nmf_numba's kernels for its steps.

    Parameters, defaults, attributes, the online loop, its stopping rules and ``partial_fit``
    are ``sklearn.decomposition.MiniBatchNMF``'s (see its documentation); the module docstring
    lists the differences.
    """

    _parameter_constraints: dict = {
        **_SkMiniBatchNMF._parameter_constraints,
        "random_state": _RANDOM_STATE,
    }

    def _check_params(self, X):
        super()._check_params(X)
        self._beta_loss = _validation.check_beta_loss(self._beta_loss)  # a finite float

    def _draw_start(self, X):
        return initialize(X, self._n_components, self._init, self.random_state)

    def _solve_W(self, X, H, max_iter):
        """W ≥ 0 for X with H fixed: MU steps until W's relative change is at most ``tol``."""
        return self._w_subproblem(X, H, "mu", max_iter)[0]

    def _minibatch_step(self, X, W, H, update_H):
        """One online step on the batch X: its W (rows of the fit's W, updated in place) by one
        MU step, or solved afresh (``fresh_restarts``, ``partial_fit``); then H.  Returns the
        batch cost scikit-learn's stopping rule takes (per sample, before the H step)."""
        X = _as_csr(X)
        l1_W, l1_H, l2_W, l2_H = self._compute_regularization(X)
        data = Data(X)
        Ht = np.ascontiguousarray(H.T)  # the solvers' half-steps update the tall factor
        if self.fresh_restarts or W is None:
            W = self._solve_W(X, H, self.fresh_restarts_max_iter)
        else:
            mu.update(data.X_op, W, Ht, self._beta_loss, Penalty(l1_W, l2_W))
        batch_cost = (
            divergence(data.X_op, W, Ht, self._beta_loss)
            + l1_W * W.sum() + l1_H * H.sum() + l2_W * (W**2).sum() + l2_H * (H**2).sum()
        ) / X.shape[0]
        if update_H:
            # the running sums scikit-learn keeps in H's orientation, seen as Hᵀ's
            mu.online_update(
                data.Xt_op, Ht, W, self._beta_loss, self._components_numerator.T,
                self._components_denominator.T, self._rho, Penalty(l1_H, l2_H),
            )
            H[:] = Ht.T
        return batch_cost

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_transform(self, X, y=None, W=None, H=None):
        """Learn an NMF model for the data X and return the transformed data W.

        scikit-learn's, on canonical X, with ``reconstruction_err_`` by
        :func:`nmf_numba.metrics.reconstruction_error` (blockwise, summed in float64), where
        scikit-learn's forms the dense ``W H``.
        """
        X = _as_csr(validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32]))
        W, H, self.n_iter_, self.n_steps_ = self._fit_transform(X, W=W, H=H)
        self.reconstruction_err_ = reconstruction_error(X, W, H, self._beta_loss)
        self.n_components_ = H.shape[0]
        self.components_ = H
        return W

    def _fit_transform(self, X, W=None, H=None, update_H=True):
        """scikit-learn's online loop; then #18663's W for the final H (scikit-learn solves for
        it only with ``fresh_restarts``)."""
        W, H, n_iter, n_steps = super()._fit_transform(X, W=W, H=H, update_H=update_H)
        if update_H and not self.fresh_restarts:
            W = self._solve_W(X, H, self._transform_max_iter)
        return W, H, n_iter, n_steps


@validate_params(
    {
        "X": ["array-like", "sparse matrix"],
        "W": ["array-like", None],
        "H": ["array-like", None],
        "update_H": ["boolean"],
    },
    prefer_skip_nested_validation=False,
)
def non_negative_factorization(
    X,
    W=None,
    H=None,
    n_components="auto",
    *,
    init=None,
    update_H=True,
    solver="cd",
    beta_loss="frobenius",
    tol=1e-4,
    max_iter=200,
    alpha_W=0.0,
    alpha_H="same",
    l1_ratio=0.0,
    random_state=None,
    verbose=0,
    shuffle=False,
    **extra,
):
    """scikit-learn's ``non_negative_factorization`` on :class:`NMF`: ``(W, H, n_iter)``.

    The same arguments and behaviour (with ``update_H=False``, W for the fixed H); ``extra``
    takes :class:`NMF`'s further parameters (``graph_reg``, ``smoothness``, ``missing``,
    ``n_init``, ``time_limit``, ``callback``, ``normalize``) and
    ``mask``/``graph``/``sample_weight``.
    """
    fit_args = {key: extra.pop(key) for key in ("mask", "graph", "sample_weight")
                if key in extra}
    est = NMF(
        n_components=n_components, init=init, solver=solver, beta_loss=beta_loss, tol=tol,
        max_iter=max_iter, random_state=random_state, alpha_W=alpha_W, alpha_H=alpha_H,
        l1_ratio=l1_ratio, verbose=verbose, shuffle=shuffle, **extra,
    )
    est._validate_params()
    X = check_array(X, accept_sparse=("csr", "csc"), dtype=[np.float64, np.float32],
                    ensure_all_finite="allow-nan")
    return est._fit_transform(X, W=W, H=H, update_H=update_H, **fit_args)
