#!/usr/bin/python3
"""Side-by-side speed of cnn and PyTorch on this machine, measured in one run.

For each case, cnn and PyTorch (bench/pytorch_reference.py: same architecture, initialisation,
hyperparameters, batch size and thread count) run alternately, --reps times each; the script prints
every figure, the medians and their ratio (how many times faster cnn is). Timings are taken inside
each process around the training loop or the inference loop, so process start-up and data loading
count for neither side.

    /usr/bin/python3 bench/compare_pytorch.py [--cnn build/cnn] [--data data/mnist] [--reps 3]
                                              [--cases design,seed,lenet5] [--threads 1,2]

Needs Debian's python3-torch (apt-get install python3-torch).
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(command):
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    return result.stdout


def figure(text, label):
    match = re.search(rf"^{label} ([0-9.]+) s \(([0-9.]+) images/s", text, re.MULTILINE)
    if not match:
        sys.exit(f"no '{label}' line in:\n{text}")
    return float(match.group(1)), float(match.group(2))


class Case:
    def __init__(self, name, preset, batch, length, lr, threads, metric):
        self.name, self.preset, self.batch, self.length = name, preset, batch, length
        self.lr, self.threads, self.metric = lr, threads, metric
        self.ours, self.theirs = [], []

    def flags(self):
        return ["--preset", self.preset, "--batch", str(self.batch), *self.length, "--lr",
                str(self.lr), "--threads", str(self.threads)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cnn", default="build/cnn")
    parser.add_argument("--data", default="data/mnist")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cases", default="design,seed,lenet5",
                        help="which of design, seed, lenet5 to run (default: all)")
    parser.add_argument("--threads", default="1,2", help="thread counts (default: 1,2)")
    args = parser.parse_args()
    cases = args.cases.split(",")
    thread_counts = [int(t) for t in args.threads.split(",")]

    design = Case("design recipe: seed, batch 4, 2000 iterations (training s)", "seed", 4,
                  ["--iterations", "2000"], 0.01, 1, "train_seconds")
    training, inference = [design] if "design" in cases else [], []
    for threads in thread_counts:
        for preset in (p for p in ("seed", "lenet5") if p in cases):
            training.append(Case(f"{preset}: one epoch, batch 64, {threads} thread(s) (images/s)",
                                 preset, 64, ["--epochs", "1"], 0.05, threads,
                                 "train_images_per_second"))
            inference.append(Case(f"{preset}: inference, batch 100, {threads} thread(s) (images/s)",
                                  preset, 100, [], 0, threads, "inference_images_per_second"))

    with tempfile.TemporaryDirectory() as scratch:
        for rep in range(args.reps):
            for case in training:
                model = Path(scratch) / f"{case.preset}.safetensors"
                ours = lambda: run([args.cnn, "train", "--data", args.data, *case.flags(),
                                    "--seed", str(rep + 1), "--save", str(model)])
                theirs = lambda: json.loads(run(
                    [sys.executable, str(HERE / "pytorch_reference.py"), "--data", args.data,
                     *case.flags(), "--seed", str(rep + 1)]))
                # Alternate who goes first, so neither side always runs on a warmer machine.
                if rep % 2 == 0:
                    mine, reference = ours(), theirs()
                else:
                    reference, mine = theirs(), ours()
                seconds, rate = figure(mine, "training time")
                case.ours.append(seconds if case.metric == "train_seconds" else rate)
                case.theirs.append(reference[case.metric])
                if case is not design:  # inference of the model just trained, at batch 100
                    match = next(c for c in inference
                                 if c.preset == case.preset and c.threads == case.threads)
                    eval_text = run([args.cnn, "eval", "--model", str(model), "--data", args.data,
                                     "--batch", "100", "--threads", str(case.threads)])
                    match.ours.append(figure(eval_text, "inference time")[1])
                    match.theirs.append(reference["inference_images_per_second"])
                print(f"rep {rep + 1}: {case.name}: cnn {case.ours[-1]:.4g}, "
                      f"pytorch {case.theirs[-1]:.4g}", flush=True)

    print(f"\nmedians of {args.reps} alternating runs each (torch {reference['torch']})")
    print(f"{'case':<64} {'cnn':>10} {'pytorch':>10} {'cnn faster':>11}")
    for case in training + inference:
        ours, theirs = statistics.median(case.ours), statistics.median(case.theirs)
        ratio = theirs / ours if case.metric == "train_seconds" else ours / theirs
        print(f"{case.name:<64} {ours:>10.4g} {theirs:>10.4g} {ratio:>10.2f}x")
    for preset in (p for p in ("seed", "lenet5") if p in cases):
        if not {1, 2} <= set(thread_counts):
            break
        one, two = (next(c for c in training if c is not design and c.preset == preset
                         and c.threads == t) for t in (1, 2))
        print(f"{preset}: two threads train at {statistics.median(two.ours) / statistics.median(one.ours):.2f}x "
              f"the one-thread speed (pytorch {statistics.median(two.theirs) / statistics.median(one.theirs):.2f}x)")


if __name__ == "__main__":
    main()
