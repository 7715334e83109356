#!/usr/bin/python3
"""Writes an IDX data set (MNIST's layout) as CSV files in the style of Kaggle's digit recognizer.

    scripts/idx-to-csv.py IDX_DIR OUT_DIR

Reads the four IDX files of IDX_DIR (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz) and writes

    OUT_DIR/train.csv             the training images: header label,pixel0,...,pixel783, then one
                                  row per image in IDX order: the label (0 to 9), then the pixels
                                  row by row (0 to 255, 0 = background)
    OUT_DIR/test.csv              the t10k (test) images, the same format
    OUT_DIR/test-unlabelled.csv   the test images without labels (header pixel0,...,pixel783), as
                                  Kaggle's test.csv, for `cnn predict`-style use

(784 = 28x28; the pixel count is the IDX files' rows x columns). Lines end in \n, numbers are
decimal without spaces or quotes. OUT_DIR is written as OUT_DIR.tmp and renamed when complete; a
complete OUT_DIR made from the same files is left as it is (OUT_DIR/.idx-to-csv.json records what
it was made from); any other existing OUT_DIR is an error (remove it to rebuild). Needs numpy
(Debian: python3-numpy). Exit status: 0 done or already complete, 1 bad input or an existing
different OUT_DIR, 2 usage.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np

from idx_files import InputError, file_digest, read_split

STAMP = ".idx-to-csv.json"
SPLITS = (("train", "train"), ("test", "t10k"))  # (output name, IDX file prefix)
OUTPUTS = ("train.csv", "test.csv", "test-unlabelled.csv")


def write_csv(path, images, labels):
    """Writes IMAGES as CSV rows, each led by its label unless LABELS is None."""
    decimal = np.array([str(v) for v in range(256)], dtype=object)
    pixels = images.shape[1] * images.shape[2]
    header = ",".join(f"pixel{i}" for i in range(pixels))
    flat = images.reshape(len(images), pixels)
    with open(path, "w", encoding="ascii", newline="\n") as f:
        f.write(("label," + header if labels is not None else header) + "\n")
        for start in range(0, len(flat), 1000):
            rows = decimal[flat[start:start + 1000]]
            lines = [",".join(row) for row in rows]
            if labels is not None:
                chunk = labels[start:start + 1000]
                lines = [f"{label},{line}" for label, line in zip(chunk, lines)]
            f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(
        description="Writes the four IDX files of IDX_DIR as OUT_DIR/train.csv, test.csv and "
        "test-unlabelled.csv.")
    parser.add_argument("idx_dir", metavar="IDX_DIR")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    args = parser.parse_args()
    out_dir = os.path.normpath(args.out_dir)

    try:
        if not os.path.isdir(args.idx_dir):
            raise InputError(f"{args.idx_dir}: not a folder (expected the four IDX files there)")
        splits, sources = {}, []
        for name, prefix in SPLITS:
            images, labels, paths = read_split(args.idx_dir, prefix)
            splits[name] = (images, labels)
            sources += paths
        train_size = "x".join(map(str, splits["train"][0].shape[1:]))
        test_size = "x".join(map(str, splits["test"][0].shape[1:]))
        if train_size != test_size:
            raise InputError(f"{sources[2]}: images of {test_size} pixels, expected {train_size} "
                             f"as in {sources[0]}")
    except InputError as e:
        print(f"idx-to-csv: {e}", file=sys.stderr)
        return 1

    stamp = {"inputs": {os.path.basename(p): file_digest(p) for p in sources}}
    if os.path.exists(out_dir):
        try:
            with open(os.path.join(out_dir, STAMP), encoding="utf-8") as f:
                same = json.load(f) == stamp
            same = same and all(os.path.isfile(os.path.join(out_dir, o)) for o in OUTPUTS)
        except (OSError, ValueError):
            same = False
        if same:
            print(f"{out_dir}: already complete (made from these IDX files); left as is")
            return 0
        print(f"idx-to-csv: {out_dir} exists but is not this conversion (other files or an "
              "unfinished run); remove it to rebuild", file=sys.stderr)
        return 1

    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name, (images, labels) in splits.items():
        write_csv(os.path.join(tmp, f"{name}.csv"), images, labels)
        print(f"{name}.csv: {len(labels)} images of {images.shape[1]}x{images.shape[2]} pixels")
    write_csv(os.path.join(tmp, "test-unlabelled.csv"), splits["test"][0], None)
    print(f"test-unlabelled.csv: {len(splits['test'][1])} images without labels")
    with open(os.path.join(tmp, STAMP), "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    os.rename(tmp, out_dir)
    print(f"{out_dir}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
