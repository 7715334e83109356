#!/usr/bin/python3
"""Writes an IDX data set (MNIST's layout) as folders of PNG images, one folder per class.

    scripts/idx-to-folders.py IDX_DIR OUT_DIR [--names FILE]

Reads the four IDX files of IDX_DIR (train-images-idx3-ubyte, train-labels-idx1-ubyte,
t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or .gz) and writes

    OUT_DIR/train/<class>/<index>.png     the training images
    OUT_DIR/test/<class>/<index>.png      the t10k (test) images

as 8-bit grey PNG (lossless: every pixel is the IDX byte). <index> is the image's position in its
IDX file, zero-padded to 5 digits (more when a file holds 100,000 images or more), so that sorting a
class folder's file names gives that class's images in IDX order. <class> is the label's line of
--names FILE (one name per line; blank lines at the end are ignored), else the label's number
("0" to "9"). The folder loader numbers classes by their folder names sorted, so with names the
class numbers can differ from the IDX labels (Fashion-MNIST's "Ankle boot", label 9, is class 0):
the images of a class are the same, and accuracies are comparable. A class without images in a
split gets no folder there (the folder loader refuses empty class folders).

OUT_DIR is written as OUT_DIR.tmp and renamed when complete, so an interrupted run leaves no
half-written OUT_DIR. A complete OUT_DIR made from the same files and names is left as it is
(OUT_DIR/.idx-to-folders.json records what it was made from); any other existing OUT_DIR is an
error (remove it to rebuild). Needs numpy and PIL (Debian: python3-numpy, python3-pil).
Exit status: 0 done or already complete, 1 bad input or an existing different OUT_DIR, 2 usage.
"""

import argparse
import json
import os
import shutil
import sys

from idx_files import InputError, file_digest, read_split
from PIL import Image

STAMP = ".idx-to-folders.json"
SPLITS = (("train", "train"), ("test", "t10k"))  # (output folder, IDX file prefix)


def read_names(path):
    """Class names, one per line; each must be usable as a folder name."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the class names: {e}") from e
    while lines and lines[-1].strip() == "":
        lines.pop()
    names = [line.rstrip("\r") for line in lines]
    if not names:
        raise InputError(f"{path}: no class names (expected one per line)")
    for number, name in enumerate(names, start=1):
        if name.strip() == "" or name in (".", "..") or "/" in name or "\0" in name:
            raise InputError(f"{path}:{number}: class name '{name}' cannot be a folder name "
                             "(expected a non-empty name without '/', not '.' or '..')")
        if name != name.strip():
            raise InputError(f"{path}:{number}: class name '{name}' starts or ends with a space")
    for number, name in enumerate(names, start=1):
        if names.index(name) != number - 1:
            raise InputError(f"{path}:{number}: class name '{name}' repeats line "
                             f"{names.index(name) + 1}")
    return names


def expected_files(splits, names):
    """{output folder: {class name: [file names]}} for the labels of each split."""
    result = {}
    for folder, (images, labels) in splits.items():
        width = max(5, len(str(len(labels) - 1)))
        per_class = {name: [] for name in names}
        for index, label in enumerate(labels):
            per_class[names[label]].append(f"{index:0{width}d}.png")
        result[folder] = per_class
    return result


def matches(out_dir, stamp, files):
    """Whether OUT_DIR holds exactly FILES and was made from the inputs STAMP records."""
    try:
        with open(os.path.join(out_dir, STAMP), encoding="utf-8") as f:
            if json.load(f) != stamp:
                return False
        for folder, per_class in files.items():
            present = sorted(os.listdir(os.path.join(out_dir, folder)))
            if present != sorted(name for name, listed in per_class.items() if listed):
                return False
            for name, listed in per_class.items():
                if listed and sorted(os.listdir(os.path.join(out_dir, folder, name))) != listed:
                    return False
    except (OSError, ValueError):
        return False
    return True


def main():
    parser = argparse.ArgumentParser(
        description="Writes the four IDX files of IDX_DIR as OUT_DIR/{train,test}/<class>/*.png.")
    parser.add_argument("idx_dir", metavar="IDX_DIR")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--names", metavar="FILE",
                        help="class names, one per line in label order (default: 0, 1, ...)")
    args = parser.parse_args()
    out_dir = os.path.normpath(args.out_dir)

    try:
        if not os.path.isdir(args.idx_dir):
            raise InputError(f"{args.idx_dir}: not a folder (expected the four IDX files there)")
        splits, sources = {}, []
        for folder, prefix in SPLITS:
            images, labels, paths = read_split(args.idx_dir, prefix)
            splits[folder] = (images, labels)
            sources += paths
        largest = max(int(labels.max(initial=0)) for _, labels in splits.values())
        if args.names:
            names = read_names(args.names)
            if largest >= len(names):
                raise InputError(f"{args.names}: {len(names)} class names, but the labels go up "
                                 f"to {largest} (expected a name for each label 0 to {largest})")
        else:
            names = [str(label) for label in range(largest + 1)]
    except InputError as e:
        print(f"idx-to-folders: {e}", file=sys.stderr)
        return 1

    stamp = {
        "inputs": {os.path.basename(p): file_digest(p) for p in sources},
        "names": names,
    }
    files = expected_files(splits, names)
    if os.path.exists(out_dir):
        if matches(out_dir, stamp, files):
            print(f"{out_dir}: already complete (made from these IDX files and names); left as is")
            return 0
        print(f"idx-to-folders: {out_dir} exists but is not this conversion (other files, names "
              "or an unfinished run); remove it to rebuild", file=sys.stderr)
        return 1

    tmp = out_dir + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for folder, (images, labels) in splits.items():
        per_class = files[folder]
        for name, listed in per_class.items():
            if listed:
                os.makedirs(os.path.join(tmp, folder, name))
        next_in_class = {name: 0 for name in names}
        for image, label in zip(images, labels):
            name = names[label]
            file_name = per_class[name][next_in_class[name]]
            next_in_class[name] += 1
            Image.fromarray(image).save(os.path.join(tmp, folder, name, file_name))
        counts = ", ".join(f"{name}: {len(listed)}" for name, listed in per_class.items())
        print(f"{folder}: {len(labels)} images ({counts})")
    with open(os.path.join(tmp, STAMP), "w", encoding="utf-8") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    os.rename(tmp, out_dir)
    print(f"{out_dir}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
