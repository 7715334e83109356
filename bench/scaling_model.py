#!/usr/bin/python3
"""A data-parallel training step on paper, for 1-64 machines.

One step at global batch B on N machines, each with its share B/N of the batch:

    t_step(N) = t_compute(B) / N + t_allreduce(N)
    t_compute(B) = B / images_per_second            (measured on this project, one thread)
    t_allreduce(N) = 2 (N-1)/N * bytes / bandwidth + 2 (N-1) * latency     (ring all-reduce)

bytes = 4 x the parameter block's floats (the gradient block is all-reduced whole; the block is
padded: each parameter to whole 64-byte lines, the block to a multiple of 256 floats; the
padding travels too). A ring all-reduce sends 2 (N-1) messages one after another per machine
(N-1 to reduce, N-1 to share), each 1/N of the bytes: hence the two terms.
speed-up = t_step(1) / t_step(N), efficiency = speed-up / N.

Efficiency is t_compute / (t_compute + N t_allreduce), so it stays >= E up to N machines when
B >= E/(1-E) * N * t_allreduce(N) * images_per_second: the smallest such batch is printed.

Overlap (gradients of the last layers all-reduced while the backward pass of the earlier ones
runs): the gradient block in BUCKETS equal buckets, bucket i ready i/BUCKETS of the way through
the backward pass (its share of the compute assumed 2/3: backward costs about twice the forward),
the buckets' all-reduces one after another. Each bucket pays the 2 (N-1) latency terms again, and
the last one cannot start before the backward pass ends, so what stays exposed is
max_i(i/k t_backward + (k-i+1) t_bucket) - t_backward, at least one bucket's all-reduce.

The numbers at the top are measured on this project (docs/scale-out.md says how); the latencies
are assumed, not measured. Plain Python 3, no packages:
    /usr/bin/python3 bench/scaling_model.py [--compute-scale S] [--target 0.8]
"""

import argparse
import math

# Measured on the 2-core development machine (docs/scale-out.md, "On paper: many machines"):
# training images per second with --threads 1 at batch 64 (`cnn train --data data/mnist --preset P
# --batch 64 --iterations 300 --threads 1 --quiet --out DIR --val 0`), and the parameter block's
# size in floats: the summary's parameters, each rounded up to 16 floats, the sum to 256.
PRESETS = {
    # name: (images per second, one thread; parameter block floats)
    # measured 2026-11-29 (load average about 10 on 2 cores: other work shared the machine)
    "seed": (32847.0, 31744),  # 31,504 parameters
    "lenet5": (7749.0, 61952),  # 61,706 parameters
    "best": (1433.0, 432640),  # 432,458 parameters
}

# Links: name -> (bandwidth in bytes/s, latency per message in seconds). Latencies are
# assumptions: a few microseconds for RDMA (InfiniBand / RoCE) on 100 Gbit/s, tens for TCP on
# 10 Gbit/s Ethernet. Bandwidth is the line rate: what a tuned all-reduce nearly reaches.
LINKS = {
    "10G-TCP": (10e9 / 8, 30e-6),
    "100G-RDMA": (100e9 / 8, 5e-6),
}

MACHINES = [1, 2, 4, 8, 16, 32, 64]
BATCHES = [64, 256, 1024]
BACKWARD_SHARE = 2.0 / 3.0  # of the compute: assumed
BUCKETS = 4  # gradient buckets when overlapping: assumed (the presets have 3 to 7 weighted layers)


def allreduce_seconds(machines, gradient_bytes, bandwidth, latency):
    if machines == 1:
        return 0.0
    steps = 2 * (machines - 1)
    return steps / machines * gradient_bytes / bandwidth + steps * latency


def step_seconds(batch, machines, images_per_second, gradient_bytes, link, overlap=False):
    bandwidth, latency = link
    compute = batch / images_per_second / machines
    if not overlap:
        return compute + allreduce_seconds(machines, gradient_bytes, bandwidth, latency)
    # BUCKETS equal buckets, bucket i ready i/BUCKETS of the way through the backward pass, their
    # all-reduces one after another: the last one ends at max_i(ready_i + the buckets from i on).
    backward = BACKWARD_SHARE * compute
    bucket = allreduce_seconds(machines, gradient_bytes / BUCKETS, bandwidth, latency)
    end = max(i / BUCKETS * backward + (BUCKETS - i + 1) * bucket
              for i in range(1, BUCKETS + 1))
    return compute + max(0.0, end - backward)


def smallest_batch(machines, target, images_per_second, gradient_bytes, link):
    """The least global batch (a multiple of the machine count) with efficiency >= target."""
    allreduce = allreduce_seconds(machines, gradient_bytes, *link)
    need = target / (1.0 - target) * machines * allreduce * images_per_second
    return max(machines, machines * math.ceil(need / machines - 1e-9))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compute-scale", type=float, default=1.0,
                        help="machine speed as a multiple of the one-thread speed measured "
                             "here (16 for a machine with 16 such cores, if the kernels scaled)")
    parser.add_argument("--target", type=float, default=0.8,
                        help="efficiency the batch column must keep (default 0.8)")
    args = parser.parse_args()
    if not 0 < args.target < 1:
        parser.error("--target: expected a fraction between 0 and 1")
    if args.compute_scale <= 0:
        parser.error("--compute-scale: expected a number > 0")
    missing = [name for name, (speed, floats) in PRESETS.items() if speed <= 0 or floats <= 0]
    if missing:
        parser.error("PRESETS at the top of the script: no measured numbers for " +
                     ", ".join(missing))

    print(f"compute: the one-thread speed measured here x {args.compute_scale:g}; "
          f"backward share {BACKWARD_SHARE:.2f}, {BUCKETS} buckets when overlapping (assumed)")
    for name, (speed, floats) in PRESETS.items():
        images_per_second = speed * args.compute_scale
        gradient_bytes = 4 * floats
        for link_name, link in LINKS.items():
            bandwidth, latency = link
            print()
            print(f"## {name}: {images_per_second:.0f} images/s per machine, "
                  f"{gradient_bytes / 1e6:.3f} MB of gradients; {link_name}: "
                  f"{bandwidth * 8 / 1e9:g} Gbit/s, {latency * 1e6:g} us per message")
            header = f"{'N':>3} {'all-reduce':>11}"
            for batch in BATCHES:
                header += f" | B={batch:<5} {'speed-up':>8} {'eff':>4} {'ovl':>4}"
            header += f" | B for eff>={args.target:.0%}"
            print(header)
            for machines in MACHINES:
                allreduce = allreduce_seconds(machines, gradient_bytes, bandwidth, latency)
                row = f"{machines:>3} {allreduce * 1e3:>8.3f} ms"
                for batch in BATCHES:
                    one = step_seconds(batch, 1, images_per_second, gradient_bytes, link)
                    if batch < machines:
                        row += f" | {'':7} {'-':>8} {'-':>4} {'-':>4}"
                        continue
                    plain = one / step_seconds(batch, machines, images_per_second,
                                               gradient_bytes, link)
                    overlapped = one / step_seconds(batch, machines, images_per_second,
                                                    gradient_bytes, link, overlap=True)
                    row += (f" | {batch / images_per_second * 1e3:5.1f}ms {plain:8.2f} "
                            f"{plain / machines:4.0%} {overlapped / machines:4.0%}")
                least = smallest_batch(machines, args.target, images_per_second, gradient_bytes,
                                       link)
                row += f" | {least if machines > 1 else 'any'}"
                print(row)
    print()
    print("columns: all-reduce time per step; per batch: one machine's compute time for the "
          "whole batch, speed-up and efficiency without overlap, efficiency with the all-reduce "
          "overlapping the backward pass in buckets (ovl); the least global batch keeping the "
          "target efficiency at N without overlap")


if __name__ == "__main__":
    main()
