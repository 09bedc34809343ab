"""The one random_state rule (nmf_numba._random): None, an int, a RandomState or a Generator,
accepted the same way by every function that draws."""

import numpy as np
import pytest

import nmf_numba as nn
from nmf_numba._random import as_rng, draw_seeds

from .conftest import make_data

KW = dict(max_iter=15, tol=0.0)


def gen(seed=3):
    return np.random.default_rng(seed)


def test_rule():
    assert isinstance(as_rng(None), np.random.RandomState)
    assert isinstance(as_rng(5), np.random.RandomState)
    rs = np.random.RandomState(1)
    assert as_rng(rs) is rs
    g = gen()
    assert as_rng(g) is g
    assert isinstance(as_rng(np.random.SeedSequence(4)), np.random.Generator)
    # an int draws what scikit-learn draws from it
    np.testing.assert_array_equal(draw_seeds(7, 3),
                                  np.random.RandomState(7).randint(0, 2**31 - 1, size=3))
    # a Generator is drawn from: it advances
    g = gen()
    assert not np.array_equal(draw_seeds(g, 3), draw_seeds(g, 3))
    for bad in ("seed", 1.5, True, [1, 2]):
        with pytest.raises(ValueError, match="random_state must be None, an int"):
            as_rng(bad)


@pytest.mark.parametrize("options", [dict(), dict(n_init=2), dict(solver="cd", shuffle=True),
                                     dict(init="nndsvdar"), dict(init="nndsvd")])
def test_nmf_takes_a_generator(options):
    """Every draw of nmf() (random and NNDSVD starts, restarts' seeds, shuffle's orders) takes
    a Generator; the same Generator seed gives the same result."""
    X = make_data(20, 12, positive=True)
    init = options.pop("init", "random")
    a = nn.nmf(X, 3, init=init, random_state=gen(), **options, **KW)
    b = nn.nmf(X, 3, init=init, random_state=gen(), **options, **KW)
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.H, b.H)


def test_bad_random_state_is_rejected_before_any_work():
    X = make_data(10, 8)
    with pytest.raises(ValueError, match="random_state must be"):
        nn.nmf(X, 2, random_state="zero")


def test_initialize_consensus_select_rank_take_a_generator():
    X = make_data(18, 10, positive=True)
    W1, H1 = nn.initialize(X, 3, "random", random_state=gen())
    W2, H2 = nn.initialize(X, 3, "random", random_state=gen())
    np.testing.assert_array_equal(W1, W2)
    c1 = nn.consensus(X, 2, n_runs=3, random_state=gen(), **KW)
    c2 = nn.consensus(X, 2, n_runs=3, random_state=gen(), **KW)
    np.testing.assert_array_equal(c1.seeds, c2.seeds)
    np.testing.assert_array_equal(c1.matrix, c2.matrix)
    s1 = nn.select_rank(X, [2, 3], n_folds=2, random_state=gen(), **KW)
    s2 = nn.select_rank(X, [2, 3], n_folds=2, random_state=gen(), **KW)
    assert s1.table == s2.table
    # a RandomState works too (select_rank used to reject one)
    nn.select_rank(X, [2], n_folds=2, random_state=np.random.RandomState(0), **KW)


def test_dask_takes_a_generator():
    da = pytest.importorskip("dask.array", reason="the Dask path needs the dask extra")
    import dask

    X = make_data(30, 12, positive=True)
    with dask.config.set(scheduler="synchronous"):
        runs = [nn.nmf(da.from_array(X, chunks=(10, 12)), 3, init="random",
                       random_state=gen(), **KW) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].W.compute(), runs[1].W.compute())


def test_estimators_take_a_generator():
    X = make_data(20, 12, positive=True)
    for cls, kw in ((nn.NMF, dict(init="random", shuffle=True)),
                    (nn.MiniBatchNMF, dict(init="random", batch_size=8))):
        a = cls(3, random_state=gen(), max_iter=20, **kw).fit(X).components_
        b = cls(3, random_state=gen(), max_iter=20, **kw).fit(X).components_
        np.testing.assert_array_equal(a, b)
