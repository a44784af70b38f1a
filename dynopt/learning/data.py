"""Datasets of the source texts: d2l's synthetic linear regression, scikit-learn's bundled
8×8 digits (offline default image set), MNIST/Fashion-MNIST IDX files a user already has,
the sources' normalization, and a seeded minibatch iterator.

Nothing here downloads: MNIST is read only from a directory the user names.
"""
from __future__ import annotations
from dynopt.checks import as_generator, check_int


import gzip
import os
from pathlib import Path
from typing import NamedTuple, Optional
import numpy as np

__all__ = ["Dataset", "linear_regression_data", "normalize_images", "standardize", "load_digits", "read_idx", "write_idx", "load_mnist", "minibatches"]


class Dataset(NamedTuple):
    """Features and targets.

    Attributes
    ----------
    X : ndarray, shape (n, d)
    y : ndarray, shape (n,)  (floats for regression, ints for classes)
    name : str
    info : dict  (true parameters, normalization, source files)
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    info: dict


def linear_regression_data(n: int = 1000, w=(2.0, -3.4), b: float = 4.2, noise: float = 0.01,
                           seed=None) -> Dataset:
    """d2l-004's synthetic data: X ~ N(0, I), y = Xw + b + noise·N(0, 1).

    Parameters
    ----------
    n : int
        Number of examples (the source: 1000).
    w, b : true weights and bias (the source: [2, −3.4], 4.2).
    noise : float ≥ 0
        Standard deviation of the label noise (the source: 0.01).
    seed : int, SeedSequence or Generator
    """
    check_int(n, "n")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"`noise` must be ≥ 0; got {noise!r}")
    rng = as_generator(seed, "seed")
    w = np.asarray(w, dtype=float)
    X = rng.standard_normal((n, w.size))
    y = X @ w + b + noise * rng.standard_normal(n)
    return Dataset(X, y, "linreg", {"w": w.tolist(), "b": float(b), "noise": float(noise)})


def normalize_images(x, max_value: float = 255.0, method: str = "csdn"):
    """The sources' pixel normalization.

    ``"csdn"`` (csdn-000's data_tf): x/max, then (x − 0.5)/0.5, i.e. into [−1, 1];
    ``"unit"``: x/max into [0, 1]; ``"none"``: unchanged (as float).
    """
    x = np.asarray(x, dtype=float)
    if method == "csdn":
        return (x / max_value - 0.5) / 0.5
    if method == "unit":
        return x / max_value
    if method == "none":
        return x
    raise ValueError(f"`normalize` must be one of ['csdn', 'unit', 'none']; got {method!r}")


def standardize(X):
    """Columns to zero mean and unit variance (d2l's get_data_ch7 does this)."""
    X = np.asarray(X, dtype=float)
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def load_digits(normalize: str = "csdn") -> Dataset:
    """scikit-learn's bundled 8×8 handwritten digits (1797 images, 64 features, 10 classes).

    The offline stand-in for MNIST: ships inside scikit-learn, no download.  Pixels are
    0..16 and are normalized like the sources' MNIST pixels (``max_value=16``).
    """
    from sklearn.datasets import load_digits as _load

    d = _load()
    X = normalize_images(d.data, 16.0, normalize)
    return Dataset(X, d.target.astype(np.int64), "digits",
                   {"normalize": normalize, "shape": (8, 8), "n_classes": 10})


# -- IDX files (MNIST, Fashion-MNIST) ------------------------------------------------------
_IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
              0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as fh:
        head = fh.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"IDX file {str(path)!r} could not be read: {exc}") from None


def read_idx(path) -> np.ndarray:
    """Read one IDX file (raw or gzip-compressed) into a native-endian array.

    The header is checked in full before any data is used: two zero bytes, a known type
    code, the dimensions, and a payload of exactly prod(dims)·itemsize bytes.

    Raises
    ------
    ValueError
        Naming the file, for a wrong magic number, an unknown type, or a wrong size.
    FileNotFoundError
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"IDX file {str(path)!r} has a wrong magic number "
                         f"{raw[:4].hex() if raw else '(empty)'}: expected 0000TTNN")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_TYPES:
        raise ValueError(f"IDX file {str(path)!r} has an unknown data type code 0x{code:02x}; "
                         f"expected one of {[hex(c) for c in _IDX_TYPES]}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise ValueError(f"IDX file {str(path)!r} has a truncated header ({ndim} dimensions)")
    dims = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - 4 - 4 * ndim
    if got != expected:
        raise ValueError(f"IDX file {str(path)!r} has {got} data bytes; its header {dims} "
                         f"of {dtype.name} needs {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim).reshape(dims).astype(dtype.newbyteorder("="))


def write_idx(path, array, compress: Optional[bool] = None) -> Path:
    """Write ``array`` as an IDX file (gzip if ``compress`` or the name ends in .gz).

    Supported dtypes: uint8, int8, int16, int32, float32, float64.
    """
    path = Path(path)
    arr = np.asarray(array)
    codes = {("u", 1): 0x08, ("i", 1): 0x09, ("i", 2): 0x0B, ("i", 4): 0x0C, ("f", 4): 0x0D,
             ("f", 8): 0x0E}
    code = codes.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise ValueError(f"`array` dtype {arr.dtype} cannot be stored in IDX; use uint8, int8, "
                         "int16, int32, float32 or float64")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + arr.astype(_IDX_TYPES[code]).tobytes()
    compress = path.suffix == ".gz" if compress is None else compress
    tmp = path.with_name(path.name + ".tmp")
    with (gzip.open(tmp, "wb") if compress else open(tmp, "wb")) as fh:
        fh.write(payload)
    os.replace(tmp, path)
    return path


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        p = directory / name
        if p.is_file():
            return p
    raise FileNotFoundError(f"no {stem}[.gz] in {str(directory)!r} (MNIST/Fashion-MNIST IDX files)")


def load_mnist(directory, kind: str = "train", normalize: str = "csdn") -> Dataset:
    """MNIST or Fashion-MNIST from IDX files the user already has (no download).

    Looks for ``{train,t10k}-images-idx3-ubyte`` and ``...-labels-idx1-ubyte`` (optionally
    ``.gz``) in ``directory``; images are flattened to 784 features and normalized.

    Raises
    ------
    ValueError
        A malformed file (named), or images and labels that do not match.
    """
    if kind not in ("train", "test"):
        raise ValueError(f"`kind` must be one of ['train', 'test']; got {kind!r}")
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"`directory` {str(directory)!r} is not a directory")
    prefix = "train" if kind == "train" else "t10k"
    ipath = _find(directory, f"{prefix}-images-idx3-ubyte")
    lpath = _find(directory, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(ipath), read_idx(lpath)
    if images.ndim != 3:
        raise ValueError(f"IDX file {str(ipath)!r} holds shape {images.shape}; images need 3 dimensions")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"IDX files {str(ipath)!r} and {str(lpath)!r} disagree: "
                         f"{images.shape[0]} images, labels of shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise ValueError(f"IDX file {str(lpath)!r} has labels outside 0..9")
    X = normalize_images(images.reshape(images.shape[0], -1), 255.0, normalize)
    return Dataset(X, labels.astype(np.int64), "mnist",
                   {"normalize": normalize, "files": [str(ipath), str(lpath)],
                    "shape": images.shape[1:], "n_classes": 10})


def minibatches(n: int, batch_size: int, rng=None, shuffle: bool = True, drop_last: bool = False):
    """Index arrays of one epoch's minibatches (like DataLoader(shuffle=True)).

    Parameters
    ----------
    n : int
        Number of examples.
    batch_size : int ≥ 1
    rng : int, SeedSequence or Generator
        Required when ``shuffle``.
    drop_last : bool
        Drop a last, smaller batch.

    Yields
    ------
    ndarray of int, shape (≤ batch_size,)
    """
    check_int(batch_size, "batch_size")
    if shuffle:
        if rng is None:
            raise ValueError("`rng` must be given when `shuffle` is True (no global random state)")
        order = as_generator(rng).permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        yield order[i:i + batch_size]
