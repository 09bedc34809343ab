"""Topics of news articles: Kullback-Leibler NMF on the Reuters sample inside the lda package.

    python examples/topics_reuters.py [--quick] [--out DIR]

The ``lda`` package ships a sample of 395 Reuters articles from 1996-97 as a document × word
count matrix over a 4258-word vocabulary, with the vocabulary and the articles' titles; they
are read from the installed package by ``nmf_numba.datasets.load_reuters()`` (nothing is
downloaded).  The counts are weighted by tf-idf (scikit-learn's ``TfidfTransformer``: words
found in many articles count less, each article is scaled to unit length), which gives a sparse
CSR matrix that ``nmf()`` uses as it is, and factorised with the generalised Kullback-Leibler
divergence (solver "auto": Newton coordinate descent on sparse data).  Each row of H is a
topic, a non-negative weight per word; each row of W is an article's mix of topics.

It prints the 8 heaviest words of each topic with the title of the article that uses the topic
most, then the relative error ‖X − WH‖_F / ‖X‖_F and the KL divergence of the fit, and saves
the top words as bar charts to DIR/topics_reuters.png (DIR defaults to the current folder).
A relative error near 0.9 is expected: ten topics cannot rebuild the words particular to each
of 395 articles, only the groups of words that occur together.

``--quick`` (the default when NMF_NUMBA_EXAMPLE_QUICK=1) fits the first 150 articles with
k = 6 and at most 30 iterations.

Needs lda (the data) and, for the figure, matplotlib: ``pip install "nmf-numba[examples]"``.
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfTransformer

import nmf_numba as nn
from nmf_numba import datasets

N_TOP = 8


def load_reuters(n_docs=None):
    """Counts (CSR, documents × words), vocabulary and titles of lda's Reuters sample."""
    try:
        counts, vocab, titles = datasets.load_reuters()
    except ImportError:
        sys.exit('The Reuters sample is read from the lda package, which is not installed: '
                 'pip install "nmf-numba[examples]"')
    return counts[:n_docs], vocab, titles[:n_docs]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=os.environ.get("NMF_NUMBA_EXAMPLE_QUICK") == "1",
                        help="fewer articles, k = 6 and few iterations")
    parser.add_argument("--out", type=Path, default=Path("."), help="folder of the figure")
    args = parser.parse_args(argv)

    n_docs, k, max_iter = (150, 6, 30) if args.quick else (None, 10, 500)
    counts, vocab, titles = load_reuters(n_docs)
    X = TfidfTransformer().fit_transform(counts)  # CSR, rows of unit length
    print(f"Reuters: {X.shape[0]} articles × {X.shape[1]} words, {X.nnz} non-zeros "
          f"({X.nnz / (X.shape[0] * X.shape[1]):.1%}); k = {k}")

    t0 = time.perf_counter()
    with warnings.catch_warnings():  # --quick caps the iterations on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = nn.nmf(X, k, beta_loss="kullback-leibler", init="nndsvda", max_iter=max_iter,
                     tol=1e-4, random_state=0)
    seconds = time.perf_counter() - t0
    print(f"solver {res.solver}: {res.n_iter} iterations in {seconds:.1f} s "
          f"(stopped by {res.stop_reason})\n")

    for topic, (weights, doc) in enumerate(zip(res.H, res.W.argmax(axis=0))):
        top = np.argsort(weights)[::-1][:N_TOP]
        print(f"topic {topic:2d}: {' '.join(vocab[top])}")
        print(f"          e.g. {titles[doc]}")
    print(f"\nrelative error {nn.metrics.relative_error(X, res):.4f} (‖X − WH‖_F / ‖X‖_F), "
          f"KL divergence {res.data_loss:.1f}")

    from nmf_numba.plot import top_features  # imports matplotlib only when called

    try:
        fig = top_features(res.H, vocab, n_top=N_TOP)
    except ImportError:
        print("(matplotlib not installed: no figure)")
        return
    for topic, ax in enumerate(fig.axes[:k]):
        ax.set_title(f"topic {topic}", fontsize=9)
    fig.suptitle(f"KL-NMF topics of {X.shape[0]} Reuters articles (tf-idf): "
                 f"the {N_TOP} heaviest words of each", fontsize=11)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "topics_reuters.png"
    fig.savefig(path, dpi=100)
    print(f"saved {path}")


if __name__ == "__main__":
    main()
