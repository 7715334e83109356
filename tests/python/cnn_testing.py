"""Shared helpers of the Python module's tests (tests/python/test_*.py, run by CTest).

The environment CTest sets (tests/CMakeLists.txt, block "Python module"):
    PYTHONPATH  the folder of the built module (cnn.cpython-*.so)
    CNN_CLI     the built `cnn` program, to compare the module with
    CNN_SOURCE  the repository (fixtures, examples)
Tests that need the program are skipped when CNN_CLI is not set.
"""
import gzip
import os
import pathlib
import struct
import subprocess
import tempfile
import unittest

import numpy as np

import cnn

SOURCE = pathlib.Path(os.environ.get("CNN_SOURCE", pathlib.Path(__file__).resolve().parents[2]))
CLI = os.environ.get("CNN_CLI")
DIGITS = SOURCE / "tests" / "fixtures" / "digits"

# The tests compare bits: one thread, whatever the machine (the library's default too).
cnn.set_num_threads(1)


def needs_cli(test):
    return unittest.skipUnless(CLI and pathlib.Path(CLI).exists(),
                               "CNN_CLI (the built cnn program) not set")(test)


def run_cli(*args):
    """Runs the program; returns its standard output, fails with its messages."""
    command = [CLI] + [str(a) for a in args]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result.stdout


def synthetic_digits(count, seed):
    """count grey 28x28 uint8 images of ten classes, each a bright 6x6 block at a place of its own
    on a noisy dark background (learnable in a few hundred steps), and their labels."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(count) % 10).astype(np.uint8)
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(count, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        row, col = 2 + 9 * (int(label) // 4), 1 + 7 * (int(label) % 4)
        dy, dx = rng.integers(-1, 2, size=2)
        r, c = min(max(0, row + dy), 28 - 6), min(max(0, col + dx), 28 - 6)
        images[i, r:r + 6, c:c + 6] = rng.integers(180, 256, size=(6, 6), dtype=np.uint8)
    return images, labels


def write_idx_images(path, images):
    n, rows, cols = images.shape
    data = struct.pack(">IIII", 0x00000803, n, rows, cols) + np.ascontiguousarray(images).tobytes()
    _write(path, data)


def write_idx_labels(path, labels):
    data = struct.pack(">II", 0x00000801, len(labels)) + np.asarray(labels, np.uint8).tobytes()
    _write(path, data)


def _write(path, data):
    path = pathlib.Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_idx_folder(folder, train, test):
    """MNIST's layout in folder: train = (images, labels), test = (images, labels)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_idx_images(folder / "train-images-idx3-ubyte", train[0])
    write_idx_labels(folder / "train-labels-idx1-ubyte", train[1])
    write_idx_images(folder / "t10k-images-idx3-ubyte", test[0])
    write_idx_labels(folder / "t10k-labels-idx1-ubyte", test[1])
    return folder


class DataCase(unittest.TestCase):
    """A temporary folder with a small synthetic IDX data set (600 training, 200 test images)."""

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory(prefix="cnn-python-test-")
        cls.work = pathlib.Path(cls._tmp.name)
        cls.train_images, cls.train_labels = synthetic_digits(600, seed=1)
        cls.test_images, cls.test_labels = synthetic_digits(200, seed=2)
        cls.data = write_idx_folder(cls.work / "data", (cls.train_images, cls.train_labels),
                                    (cls.test_images, cls.test_labels))

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()


def read_safetensors(path):
    """The tensors of a safetensors file as {name: float32 array} (the format's little-endian
    F32 data), and its __metadata__."""
    import json
    raw = pathlib.Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data = raw[8 + length:]
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", (name, entry["dtype"])
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(entry["shape"])
    return tensors, metadata
