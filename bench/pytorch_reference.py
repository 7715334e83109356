#!/usr/bin/python3
"""The same training and inference as `cnn train` / `cnn eval`, in PyTorch, for benchmarks.

Same architectures (presets seed and lenet5), the same He-normal initialisation with zero biases,
the same SGD with momentum and time-based decay, the same batch sizes, validation split and thread
count. Prints one JSON object with the timings, measured inside the process around the training
loop and around inference only (start-up and data loading excluded, as in cnn's own figures).

Run with Debian's python3-torch: /usr/bin/python3 bench/pytorch_reference.py --help
"""
import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn


def read_idx(path: Path, header: int) -> np.ndarray:
    return np.frombuffer(path.read_bytes(), dtype=np.uint8)[header:]


def load(data: Path, val: int):
    images = read_idx(data / "train-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    labels = read_idx(data / "train-labels-idx1-ubyte", 8).astype(np.int64)
    test_images = read_idx(data / "t10k-images-idx3-ubyte", 16).reshape(-1, 1, 28, 28)
    test_labels = read_idx(data / "t10k-labels-idx1-ubyte", 8).astype(np.int64)
    keep = len(images) - val
    to_float = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)
    return (to_float(images[:keep]), torch.from_numpy(labels[:keep]), to_float(test_images),
            torch.from_numpy(test_labels))


def build(preset: str) -> nn.Sequential:
    if preset == "seed":
        model = nn.Sequential(nn.Conv2d(1, 3, 5), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
                              nn.Linear(363, 84), nn.ReLU(), nn.Linear(84, 10))
    elif preset == "lenet5":
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                              nn.Linear(84, 10))
    else:
        raise SystemExit(f"unknown preset {preset}")
    for layer in model:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")  # std sqrt(2 / fan_in)
            nn.init.zeros_(layer.bias)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/mnist"))
    parser.add_argument("--preset", default="seed", choices=["seed", "lenet5"])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=0, help="passes (instead of --iterations)")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--decay", type=float, default=1e-5)
    parser.add_argument("--val", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--eval-batch", type=int, default=100)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, y, test_x, test_y = load(args.data, args.val)
    model = build(args.preset)
    # cnn's step is v = γv + lr_t·g, w −= v; PyTorch's is v = γv + g, w −= lr_t·v: the same
    # updates while lr_t is constant, and within 2% of each other for decay·t ≤ 0.02.
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + t * args.decay))
    loss_fn = nn.CrossEntropyLoss()
    per_epoch = (len(x) + args.batch - 1) // args.batch
    iterations = args.epochs * per_epoch if args.epochs > 0 else args.iterations

    model.train()
    start = time.perf_counter()
    done = images = 0
    while done < iterations:
        order = torch.randperm(len(x))
        for first in range(0, len(x), args.batch):
            if done == iterations:
                break
            batch = order[first:first + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            done += 1
            images += len(batch)
    train_seconds = time.perf_counter() - start

    model.eval()
    correct = 0
    start = time.perf_counter()
    with torch.no_grad():
        for first in range(0, len(test_x), args.eval_batch):
            logits = model(test_x[first:first + args.eval_batch])
            correct += int((logits.argmax(1) == test_y[first:first + args.eval_batch]).sum())
    inference_seconds = time.perf_counter() - start
    print(json.dumps({
        "train_seconds": train_seconds,
        "train_images_per_second": images / train_seconds,
        "inference_seconds": inference_seconds,
        "inference_images_per_second": len(test_x) / inference_seconds,
        "test_accuracy": correct / len(test_x),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
