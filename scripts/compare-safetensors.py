#!/usr/bin/env python3
"""Compares two safetensors files (model files or checkpoints) tensor by tensor and key by key.

    scripts/compare-safetensors.py [--ignore KEY ...] OLD NEW

Prints one line per difference: a tensor missing on one side, a tensor whose dtype, shape or bytes
differ, a metadata key missing or with another value. Keys given with --ignore are left out (for
example format_version, which newer files add). Exit status 0 when the files hold the same tensors
with the same bytes and the same metadata, 1 otherwise. Needs only the standard library.
"""
import argparse
import json
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = data[8 + length :]
    metadata = header.pop("__metadata__", {})
    tensors = {
        name: (entry["dtype"], entry["shape"], body[entry["data_offsets"][0] : entry["data_offsets"][1]])
        for name, entry in header.items()
    }
    return metadata, tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ignore", action="append", default=[], help="metadata key to leave out")
    parser.add_argument("old")
    parser.add_argument("new")
    args = parser.parse_args()
    old_meta, old_tensors = read(args.old)
    new_meta, new_tensors = read(args.new)
    differences = []
    for name in sorted(set(old_tensors) | set(new_tensors)):
        if name not in new_tensors:
            differences.append(f"tensor {name}: only in {args.old}")
        elif name not in old_tensors:
            differences.append(f"tensor {name}: only in {args.new}")
        elif old_tensors[name] != new_tensors[name]:
            (od, os_, _), (nd, ns, _) = old_tensors[name], new_tensors[name]
            what = "bytes" if (od, os_) == (nd, ns) else f"{od}{os_} vs {nd}{ns}"
            differences.append(f"tensor {name}: {what} differ")
    for key in sorted((set(old_meta) | set(new_meta)) - set(args.ignore)):
        if old_meta.get(key) != new_meta.get(key):
            differences.append(f"metadata {key}: {old_meta.get(key)!r} vs {new_meta.get(key)!r}")
    for line in differences:
        print(line)
    print(
        f"{len(old_tensors)} tensors, {len(old_meta)} metadata keys in {args.old}: "
        + ("identical" if not differences else f"{len(differences)} difference(s)")
    )
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main())
