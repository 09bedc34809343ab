"""nmf_numba: non-negative matrix factorisation with Numba-compiled kernels.

>>> import numpy as np, nmf_numba as nn
>>> X = np.random.default_rng(0).random((30, 20))
>>> res = nn.nmf(X, n_components=4, random_state=0)
>>> res.W.shape, res.H.shape
((30, 4), (4, 20))
"""

from . import metrics
from .clustering import ConsensusResult, consensus
from .components import ComponentConsensus, ComponentConsensusSweep, consensus_components
from .neighbors import knn_graph
from .init import initialize
from .many import NMFManyResult, nmf_many
from .nmf import IterationInfo, NMFResult, nmf, transform
from .selection import RankSelection, select_rank

__version__ = "0.1.0"

__all__ = [
    "nmf",
    "transform",
    "nmf_many",
    "NMFManyResult",
    "NMFResult",
    "IterationInfo",
    "initialize",
    "consensus",
    "ConsensusResult",
    "consensus_components",
    "ComponentConsensus",
    "ComponentConsensusSweep",
    "select_rank",
    "RankSelection",
    "knn_graph",
    "metrics",
    "NMF",
    "MiniBatchNMF",
    "non_negative_factorization",
    "__version__",
]


# The scikit-learn drop-ins are built on scikit-learn's classes, and importing scikit-learn takes
# about a second: they are loaded on first access (PEP 562), so that ``import nmf_numba`` does
# not pay for it.  (The core imports scikit-learn's helpers on first use too: ``_sklearn.py``.)
_ESTIMATORS = ("NMF", "MiniBatchNMF", "non_negative_factorization")


def __getattr__(name):
    if name in _ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
