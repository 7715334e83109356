"""Reading IDX files (MNIST's format, raw or .gz) for the scripts that convert them
(idx-to-folders.py, idx-to-csv.py): the checks name the file and say what was expected."""
import gzip
import hashlib
import os

import numpy as np


class InputError(Exception):
    """Bad input; the message names the file and says what was expected."""


def find_idx(directory, name):
    """The path of NAME or NAME.gz in DIRECTORY (raw preferred)."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise InputError(f"{os.path.join(directory, name)}: not found (nor {name}.gz)")


def read_bytes(path):
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise InputError(f"{path}: cannot read: {e}") from e


def read_idx(path, dims):
    """The IDX file's array of unsigned bytes with DIMS dimensions (1 labels, 3 images)."""
    data = read_bytes(path)
    if len(data) < 4:
        raise InputError(f"{path}: {len(data)} bytes, too short for an IDX header")
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08 or data[3] != dims:
        raise InputError(f"{path}: magic {data[:4].hex()}, expected 000008{dims:02x} "
                         f"(unsigned bytes, {dims} dimension{'s' if dims > 1 else ''})")
    header = 4 + 4 * dims
    if len(data) < header:
        raise InputError(f"{path}: {len(data)} bytes, truncated inside the header "
                         f"({header} bytes expected)")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise InputError(f"{path}: {len(data)} bytes, expected {expected} for shape "
                         f"{'x'.join(map(str, shape))}")
    if dims == 3 and (shape[1] == 0 or shape[2] == 0):
        raise InputError(f"{path}: images of {shape[1]}x{shape[2]} pixels, expected at least 1x1")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_split(idx_dir, prefix):
    images_path = find_idx(idx_dir, f"{prefix}-images-idx3-ubyte")
    labels_path = find_idx(idx_dir, f"{prefix}-labels-idx1-ubyte")
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1)
    if len(images) != len(labels):
        raise InputError(f"{labels_path}: {len(labels)} labels, expected {len(images)} "
                         f"(the image count of {images_path})")
    return images, labels, (images_path, labels_path)


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
