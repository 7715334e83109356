"""What the ONNX client checks share: reading IDX images and the predictions CSV of `cnn eval
--predictions-out` (format: cli/predictions_csv.hpp), and comparing logits with it."""
import gzip
import struct

import numpy as np

# A near-tie: our top two logits within this of each other; another runtime may then pick the
# other class without either being wrong.
NEAR_TIE = 1e-4
# Largest |logit difference| accepted, relative to the image's largest |logit| (at least 1).
# Runtimes sum in other orders (blocked GEMM, Winograd or im2col convolution) than our kernels;
# float32 rounding then moves logits by about 1e-6 relative per layer. A wrong operator (padding,
# epsilon, a transposed weight, a missing normalisation) moves them by 1e-2 or more. 1e-3 lies far
# from both.
RELATIVE_TOLERANCE = 1e-3


def read_idx_images(path):
    """uint8 array [count, rows, cols] of an IDX3 file (raw or .gz)."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 16:
        raise ValueError(f"{path}: too short for an IDX header")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x00000803 or len(data) != 16 + count * rows * cols:
        raise ValueError(f"{path}: not an IDX3 image file of {count}x{rows}x{cols}")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)


def read_predictions(path):
    """(predicted [n], logits [n, classes]) of a predictions CSV with logit columns."""
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header[:4] != ["index", "label", "predicted", "confidence"] or len(header) < 5:
            raise ValueError(f"{path}: not a predictions CSV with logits: {header}")
        rows = np.loadtxt(f, delimiter=",", ndmin=2)
    return rows[:, 2].astype(np.int64), rows[:, 4:].astype(np.float32)


def compare(ours_logits, theirs_logits):
    """(agreeing, near-ties that differ, other disagreements, max |diff|, max relative diff)."""
    ours_top = ours_logits.argmax(axis=1)
    theirs_top = theirs_logits.argmax(axis=1)
    ordered = np.sort(ours_logits, axis=1)
    near_tie = (ordered[:, -1] - ordered[:, -2]) <= NEAR_TIE
    differ = ours_top != theirs_top
    diff = np.abs(ours_logits - theirs_logits)
    scale = np.maximum(1.0, np.abs(ours_logits).max(axis=1))
    return (int((~differ).sum()), int((differ & near_tie).sum()), int((differ & ~near_tie).sum()),
            float(diff.max()), float((diff.max(axis=1) / scale).max()))
