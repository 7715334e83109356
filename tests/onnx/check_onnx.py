#!/usr/bin/python3
"""Checks an ONNX file written by `cnn export` with ONNX's own checker and shape inference, and
runs it through OpenCV's dnn as a second client, comparing its logits with those of `cnn eval
--predictions-out`.

    check_onnx.py MODEL.onnx [--images t10k-images-idx3-ubyte --predictions eval.csv]
                  [--channels C] [--name LABEL]

Prints one table line for OpenCV; exit 1 on a failed check, a disagreement that is not a near-tie
or a logit difference over the tolerance (clients_common.py says why these). OpenCV 4.6 ignores
count_include_pad of a padded AveragePool (it averages over the window's part inside the image),
so a model with one gets the checks but not the OpenCV comparison (said in the output)."""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnx.checker
import onnx.shape_inference

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clients_common  # noqa: E402

EXPECTED_METADATA = ["class_names", "input_normalization", "input_scale", "input_mean",
                     "input_std", "preparation", "cnn_version", "preset", "architecture",
                     "input_shape", "classes", "onnx_input", "onnx_output"]


def check_structure(path):
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    problems = []
    if model.ir_version != 7:
        problems.append(f"IR version {model.ir_version}, not 7")
    opsets = {o.domain: o.version for o in model.opset_import}
    if opsets.get("", None) != 13:
        problems.append(f"opset {opsets}, not 13")
    if model.producer_name != "cnn":
        problems.append(f"producer {model.producer_name!r}")
    graph = inferred.graph
    if [i.name for i in graph.input] != ["input"] or [o.name for o in graph.output] != ["logits"]:
        problems.append("inputs/outputs are not ['input'] / ['logits']")
    metadata = {p.key: p.value for p in model.metadata_props}
    missing = [k for k in EXPECTED_METADATA if k not in metadata]
    if missing:
        problems.append(f"metadata_props lack {missing}")
    classes = int(metadata.get("classes", "0"))
    names = json.loads(metadata.get("class_names", "[]"))
    if len(names) != classes:
        problems.append(f"{len(names)} class names for {classes} classes")
    out_dims = graph.output[0].type.tensor_type.shape.dim
    if len(out_dims) != 2 or out_dims[0].dim_param != "N" or out_dims[1].dim_value != classes:
        problems.append(f"output shape {out_dims}")
    # Shape inference must reach the output with [N, classes] from the node before it.
    last = graph.node[-1].output[0]
    if last != "logits":
        problems.append(f"the last node makes {last!r}, not 'logits'")
    padded_avgpool = any(
        n.op_type == "AveragePool" and any(a.name == "pads" and any(a.ints) for a in n.attribute)
        for n in model.graph.node)
    ops = sorted({n.op_type for n in model.graph.node})
    return problems, padded_avgpool, ops


def run_opencv(path, images, channels, batch=500):
    import cv2
    net = cv2.dnn.readNetFromONNX(path)
    outputs = []
    for start in range(0, len(images), batch):
        chunk = images[start:start + batch].astype(np.float32)
        blob = chunk.reshape(len(chunk), channels, *chunk.shape[-2:])
        net.setInput(blob)
        outputs.append(net.forward().reshape(len(chunk), -1))
    return np.concatenate(outputs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--images")
    parser.add_argument("--predictions")
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--name", default="")
    args = parser.parse_args()
    name = args.name or os.path.basename(args.model)

    problems, padded_avgpool, ops = check_structure(args.model)
    if problems:
        print(f"{name}: FAILED structure: {'; '.join(problems)}")
        return 1
    print(f"{name}: onnx.checker (full_check) and strict shape inference pass; ops {', '.join(ops)}")
    if not args.images:
        return 0
    if padded_avgpool:
        print(f"{name}: OpenCV comparison skipped: a padded AveragePool (OpenCV 4.6 ignores "
              "count_include_pad)")
        return 0
    images = clients_common.read_idx_images(args.images)
    _, ours = clients_common.read_predictions(args.predictions)
    theirs = run_opencv(args.model, images, args.channels)
    if theirs.shape != ours.shape:
        print(f"{name}: FAILED: OpenCV gives {theirs.shape}, the CSV {ours.shape}")
        return 1
    agree, ties, wrong, max_diff, max_rel = clients_common.compare(ours, theirs)
    ok = wrong == 0 and max_rel <= clients_common.RELATIVE_TOLERANCE
    import cv2
    print(f"| OpenCV {cv2.__version__} | {name} | {agree}/{len(ours)} | {ties} | {max_diff:.3g} "
          f"(relative {max_rel:.3g}) | {'ok' if ok else 'FAILED'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
