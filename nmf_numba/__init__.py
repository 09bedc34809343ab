"""nmf_numba: non-negative matrix factorisation with Numba-compiled kernels.

>>> import numpy as np, nmf_numba as nn
>>> X = np.random.default_rng(0).random((30, 20))
>>> res = nn.nmf(X, n_components=4, random_state=0)
>>> res.W.shape, res.H.shape
((30, 4), (4, 20))
"""

from . import metrics
from .clustering import ConsensusResult, consensus
from .estimators import NMF, MiniBatchNMF, non_negative_factorization
from .graph import knn_graph
from .init import initialize
from .nmf import IterationInfo, NMFResult, nmf, transform
from .selection import RankSelection, select_rank

__version__ = "0.1.0"

__all__ = [
    "nmf",
    "transform",
    "NMFResult",
    "IterationInfo",
    "initialize",
    "consensus",
    "ConsensusResult",
    "select_rank",
    "RankSelection",
    "knn_graph",
    "metrics",
    "NMF",
    "MiniBatchNMF",
    "non_negative_factorization",
    "__version__",
]
