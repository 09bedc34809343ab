"""nmf_numba.plot: each function returns a Figure with what it says, and shows/saves nothing."""

import numpy as np
import pytest

import nmf_numba as nn

pytest.importorskip("matplotlib", reason="plots need the plot extra (matplotlib)")
from matplotlib.figure import Figure  # noqa: E402

from nmf_numba import plot  # noqa: E402


@pytest.fixture(scope="module")
def fits():
    X = np.random.default_rng(0).random((40, 16))
    return X, [nn.nmf(X, 3, solver=s, max_iter=30, random_state=0) for s in ("cd", "mu")]


def test_objective_several_runs_on_one_axis(fits):
    _, results = fits
    for x in ("iteration", "time"):
        fig = plot.objective(results, labels=["cd", "mu"], x=x)
        assert isinstance(fig, Figure)
        (ax,) = fig.axes
        assert len(ax.lines) == 2 and ax.get_yscale() == "log"
        np.testing.assert_array_equal(ax.lines[0].get_xdata(), results[0].history[x])
    fig = plot.objective(results[0], relative=False)
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(),
                                  results[0].history["objective"])
    with pytest.raises(ValueError, match="labels"):
        plot.objective(results, labels=["one"])


def test_components_grid_and_top_features(fits):
    _, results = fits
    H = results[0].H
    fig = plot.components(H, (4, 4))
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    np.testing.assert_array_equal(images[1].get_array(), H[1].reshape(4, 4))
    with pytest.raises(ValueError, match="image_shape"):
        plot.components(H, (3, 5))
    names = [f"w{j}" for j in range(16)]
    fig = plot.top_features(H, names, n_top=4)
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert shown == [names[j] for j in np.argsort(H[0])[::-1][:4]]


def test_consensus_and_rank_selection_figures():
    X = np.random.default_rng(1).random((20, 10))
    cons = nn.consensus(X, 2, n_runs=3, random_state=0, max_iter=30)
    fig = plot.consensus_matrix(cons)
    assert fig.axes[0].images[0].get_array().shape == (20, 20)
    assert "cophenetic" in fig.axes[0].get_title()
    sel = nn.select_rank(X, [1, 2, 3], n_folds=3, random_state=0, max_iter=30)
    fig = plot.rank_selection(sel)
    assert len(fig.axes) == 2 and "suggested rank" in fig.get_suptitle()


def test_nothing_is_shown_or_saved(fits, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("plt.show called"))
    before = plt.get_fignums()
    plot.objective(fits[1])
    assert plt.get_fignums() == before  # not registered with pyplot
    assert list(tmp_path.iterdir()) == []
