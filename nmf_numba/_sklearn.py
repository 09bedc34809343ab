"""The scikit-learn helpers the core uses, imported on first use.

Importing anything from scikit-learn takes about a second (its package ``__init__``), which
``import nmf_numba`` should not pay: the core imports these wrappers instead, and scikit-learn
is loaded by the first call that needs it (validation, initialisation, a warning).  The
estimators (:mod:`nmf_numba.estimators`) are built on scikit-learn's classes and are loaded
when first accessed (see ``nmf_numba.__getattr__``).
"""


def check_array(*args, **kwargs):
    """:func:`sklearn.utils.check_array`."""
    from sklearn.utils import check_array as impl

    return impl(*args, **kwargs)


def check_scalar(*args, **kwargs):
    """:func:`sklearn.utils.check_scalar`."""
    from sklearn.utils import check_scalar as impl

    return impl(*args, **kwargs)


def check_non_negative(X, whom):
    """:func:`sklearn.utils.validation.check_non_negative`."""
    from sklearn.utils.validation import check_non_negative as impl

    return impl(X, whom)


def assert_all_finite(X, **kwargs):
    """:func:`sklearn.utils.assert_all_finite`."""
    from sklearn.utils import assert_all_finite as impl

    return impl(X, **kwargs)


def check_random_state(seed):
    """:func:`sklearn.utils.check_random_state`."""
    from sklearn.utils import check_random_state as impl

    return impl(seed)


def randomized_svd(*args, **kwargs):
    """:func:`sklearn.utils.extmath.randomized_svd`."""
    from sklearn.utils.extmath import randomized_svd as impl

    return impl(*args, **kwargs)


def convergence_warning():
    """:class:`sklearn.exceptions.ConvergenceWarning` (what a fit that hit max_iter emits)."""
    from sklearn.exceptions import ConvergenceWarning

    return ConvergenceWarning
