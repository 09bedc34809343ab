"""The one ``random_state`` rule of the package.

Every function that draws (``nmf``, ``transform``, ``initialize``, ``consensus``,
``select_rank``, the estimators, the Dask path and the command line) takes ``random_state`` as
None, an int, a ``numpy.random.RandomState`` or a ``numpy.random.Generator`` (a
``SeedSequence`` too), and reads it through these functions:

* :func:`as_rng` gives the generator to draw from.  None, an int and a RandomState give
  scikit-learn's ``check_random_state`` (so an int seed draws what scikit-learn draws from it);
  a Generator is used as it is (its state advances), a SeedSequence seeds a new Generator.
* :func:`draw_seeds` gives independent int seeds for sub-runs (restarts, replicates, folds,
  Dask blocks) from the same generator.

A shared RandomState or Generator is advanced by each call, as in scikit-learn.
"""

import numpy as np

from ._sklearn import check_random_state

__all__ = ["as_rng", "draw_seeds", "svd_seed", "SEED_MAX"]

SEED_MAX = int(np.iinfo(np.int32).max)
"""Seeds drawn for sub-runs are ints in [0, SEED_MAX)."""


def as_rng(random_state):
    """A RandomState or Generator for ``random_state``; a ValueError naming the accepted types
    otherwise."""
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        return random_state
    if isinstance(random_state, np.random.SeedSequence):
        return np.random.default_rng(random_state)
    if random_state is None or (isinstance(random_state, (int, np.integer))
                                and not isinstance(random_state, (bool, np.bool_))):
        return check_random_state(random_state)
    raise ValueError(
        "random_state must be None, an int, a numpy RandomState, Generator or SeedSequence; "
        f"got {random_state!r}."
    )


def draw_seeds(random_state, n):
    """``n`` int seeds (an int64 array) drawn from ``as_rng(random_state)``."""
    rng = as_rng(random_state)
    if isinstance(rng, np.random.Generator):
        return rng.integers(0, SEED_MAX, size=n, dtype=np.int64)
    return rng.randint(0, SEED_MAX, size=n).astype(np.int64)


def svd_seed(random_state):
    """What scikit-learn's ``randomized_svd`` takes (None, an int or a RandomState): a
    Generator or SeedSequence gives it one drawn seed."""
    if isinstance(random_state, (np.random.Generator, np.random.SeedSequence)):
        return int(draw_seeds(random_state, 1)[0])
    as_rng(random_state)  # the same error as everywhere for anything else
    return random_state
