#!/usr/bin/python3
"""The ONNX export against real clients (CTest: OnnxClients, label onnx).

    onnx_clients_test.py --cnn build/cnn --data data/mnist [--work DIR] [--iterations N]

Trains each preset (seed, lenet5, fast, best) briefly on MNIST, and two networks that hold every
layer type of the architecture language (ALL_LAYERS: one with a padded average pool and standard
normalisation; one without, normalisation none, which OpenCV can run too), exports each with `cnn
export`, has `cnn eval --predictions-out` write our logits of the 10,000 test images, then runs
  * check_onnx.py: onnx.checker (full_check), strict shape inference, the graph's names, opset,
    IR version and metadata; OpenCV's dnn on the test images against our logits;
  * run_onnxruntime.js: ONNX Runtime (onnxruntime-node) on the test images against our logits.
and the README's example (readme_example.js, which the README must show verbatim) on the seed
preset, whose printed classes and probabilities must be the CSV's. Prints the agreement table. Exit 0 when all pass, 1 on any failure, 77 (skipped) when the MNIST
files are absent or onnxruntime-node is not installed (then after the other checks, saying how to
install it)."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIPPED = 77

# Every layer type: conv with padding and stride, batch norm after a conv and after an fc, every
# activation, max pool padded and overlapping (stride < kernel), average pool padded, the global
# average pool, flatten, fc, dropout.
ALL_LAYERS = ("conv(8,3,stride=2,pad=1) bn leakyrelu(0.1) maxpool(3,stride=2,pad=1) "
              "avgpool(2,stride=1,pad=1) conv(16,3,pad=1) tanh gap flatten fc(32) bn sigmoid "
              "dropout(0.2) relu fc(classes)")
ALL_LAYERS_UNPADDED_AVGPOOL = ALL_LAYERS.replace("avgpool(2,stride=1,pad=1)",
                                                 "avgpool(2,stride=1)")


def run(command, what):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {' '.join(command)}\n"
                           f"{result.stdout}{result.stderr}")
    return result.stdout


def check_readme_example(node, work, images):
    """Problems of the README's example: not shown verbatim, or printing other results."""
    example = os.path.join(HERE, "readme_example.js")
    with open(example) as f:
        code = f.read()
    with open(os.path.join(HERE, "..", "..", "README.md")) as f:
        if code not in f.read():
            return ["README.md does not show tests/onnx/readme_example.js verbatim"]
    if node is None or not os.path.exists(os.path.join(work, "seed.onnx")):
        return []
    result = subprocess.run([node, example, os.path.join(work, "seed.onnx"), images],
                            capture_output=True, text=True)
    print("README example:\n" + result.stdout + result.stderr, end="")
    with open(os.path.join(work, "seed.csv")) as f:
        rows = [line.split(",") for line in f.read().splitlines()[1:6]]
    printed = [line.replace(",", "").split() for line in result.stdout.splitlines()]
    good = result.returncode == 0 and len(printed) == len(rows) and all(
        p[3] == row[2] and abs(float(p[5]) - float(row[3])) <= 0.0006
        for p, row in zip(printed, rows))
    if not good:
        return ["the README example printed other classes or probabilities than cnn eval's: " +
                "; ".join(f"class {row[2]} probability {row[3]}" for row in rows)]
    return []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cnn", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--work", help="folder for the models (default: a temporary one)")
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()

    images = os.path.join(args.data, "t10k-images-idx3-ubyte")
    if not os.path.exists(images) and os.path.exists(images + ".gz"):
        images += ".gz"
    if not os.path.exists(images):
        print(f"skipped: no MNIST test images in {args.data} (scripts/fetch-mnist.sh)")
        return SKIPPED
    have_ort = os.path.isdir(os.path.join(HERE, "node_modules", "onnxruntime-node"))
    node = shutil.which("node")

    work = args.work or tempfile.mkdtemp(prefix="cnn-onnx-")
    os.makedirs(work, exist_ok=True)
    models = [(p, ["--preset", p], "unit") for p in ("seed", "lenet5", "fast", "best")]
    models.append(("all-layers", ["--arch", ALL_LAYERS], "standard"))
    models.append(("all-layers-unpadded", ["--arch", ALL_LAYERS_UNPADDED_AVGPOOL], "none"))
    rows, failures = [], []
    started = time.monotonic()
    for name, network, normalization in models:
        model = os.path.join(work, name + ".safetensors")
        onnx_file = os.path.join(work, name + ".onnx")
        csv = os.path.join(work, name + ".csv")
        try:
            run([args.cnn, "train", "--data", args.data, *network, "--normalize", normalization,
                 "--iterations", str(args.iterations), "--batch", "32", "--val", "1000",
                 "--seed", "1", "--save", model, "--out", os.path.join(work, "run-" + name),
                 "--quiet"], f"{name}: cnn train")
            run([args.cnn, "export", model, onnx_file], f"{name}: cnn export")
            run([args.cnn, "eval", "--model", model, "--data", args.data,
                 "--predictions-out", csv], f"{name}: cnn eval")
        except RuntimeError as e:
            failures.append(str(e))
            continue
        checker = subprocess.run(
            ["/usr/bin/python3", os.path.join(HERE, "check_onnx.py"), onnx_file, "--images",
             images, "--predictions", csv, "--name", name], capture_output=True, text=True)
        print(checker.stdout + checker.stderr, end="")
        if checker.returncode != 0:
            failures.append(f"{name}: check_onnx.py failed")
        else:
            rows += [line for line in checker.stdout.splitlines() if line.startswith("|")]
        if have_ort and node:
            ort = subprocess.run([node, os.path.join(HERE, "run_onnxruntime.js"), onnx_file,
                                  images, csv, name], capture_output=True, text=True)
            print(ort.stdout + ort.stderr, end="")
            if ort.returncode != 0:
                failures.append(f"{name}: run_onnxruntime.js failed")
            rows += [line for line in ort.stdout.splitlines() if line.startswith("|")]
    elapsed = time.monotonic() - started
    failures += check_readme_example(node if have_ort else None, work, images)

    print(f"\nagreement with `cnn eval --predictions-out` on {len(models)} models, 10,000 MNIST "
          f"test images each ({args.iterations} training iterations each; {elapsed:.0f} s in all):")
    print("| client | model | images agreeing | near-ties that differ | max abs logit diff | |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(row)
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\nFAILED:\n" + "\n".join(failures))
        return 1
    if not (have_ort and node):
        print(f"\nskipped the ONNX Runtime part: onnxruntime-node is not installed (run "
              f"'npm ci --ignore-scripts' in {HERE}; scripts/install-deps.sh does) or node is "
              "missing")
        return SKIPPED
    return 0


if __name__ == "__main__":
    sys.exit(main())
