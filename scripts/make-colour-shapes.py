#!/usr/bin/python3
"""Makes "colour shapes", a small RGB data set that a grey-only pipeline cannot fully learn.

    scripts/make-colour-shapes.py OUT_DIR [--seed 17] [--train 600] [--test 150] [--size 32]
                                          [--no-check]

Six classes, {red, green} x {circle, square, triangle}, named green-circle, green-square,
green-triangle, red-circle, red-square, red-triangle (the folder loader's class numbers 0 to 5 in
this order). Writes --train images per class to OUT_DIR/train/<class>/<k>.png and --test per class
to OUT_DIR/test/<class>/<k>.png (k = 00000, 00001, ...), RGB PNG of --size x --size pixels.

Each image: a textured background (a colour of random hue and a saturation of at most 0.3, either
dark, luminance below 60, or light, above 130; a brightness gradient in a random direction;
smooth low-frequency colour blotches), one shape at a random position, size and rotation, drawn
anti-aliased in red (210, 40, 40) or green (38, 128, 38) times a random shade in [0.85, 1.1],
then a slight Gaussian blur (sigma up to 0.8 pixel) and Gaussian pixel noise (sd 2 to 5 per
channel). The shape's luminance (around 91) keeps it visible on either kind of background.

Red and green have the SAME luminance under the BT.601 weights (Y = 0.299 R + 0.587 G + 0.114 B =
90.83 for both, exactly), and every random choice is drawn independently of the class, the colour
entering only as the shape's colour. Every step is linear in the colour, so an image's grey
version (Y, then rounded) is the same for red and green up to the rounding of the channels (at
most one grey level). A grey-only model therefore sees each colour pair (red-circle/green-circle,
and so on) as one distribution: at best chance, 50 %, within each pair, and so at best 50 %
overall on these six classes even with a perfect shape classifier, while colour makes all six
separable (about 100 %). The check at the end (skipped with --no-check) shows it on the files
written: it renders twin images (the same random draws in red and in green) and prints how far
their grey versions differ, then trains a logistic regression on the pixels for each colour pair
(train split) and prints its test accuracy on the grey versions (about 50 %) and on the colour
images (about 100 %).

Deterministic for a given --seed, --size and count (numpy's PCG64): the training and the test
images come from separate streams, so --train does not change the test set. OUT_DIR is written
as OUT_DIR.tmp and renamed when complete; a complete OUT_DIR made with the same settings is left
as it is (OUT_DIR/.make-colour-shapes.json records them), any other existing OUT_DIR is an error.
Needs numpy and PIL (Debian: python3-numpy, python3-pil). Exit status: 0 done, 1 an existing
different OUT_DIR or a failed check, 2 usage.
"""

import argparse
import colorsys
import json
import math
import os
import shutil
import sys

import numpy as np
from PIL import Image, ImageDraw

VERSION = 1  # of the images this script draws; recorded in the stamp
STAMP = ".make-colour-shapes.json"
RED = np.array([210.0, 40.0, 40.0])
GREEN = np.array([38.0, 128.0, 38.0])
LUMA = np.array([0.299, 0.587, 0.114])  # BT.601
COLOURS = {"red": RED, "green": GREEN}
SHAPES = ("circle", "square", "triangle")
CLASSES = sorted(f"{colour}-{shape}" for colour in COLOURS for shape in SHAPES)
SUPERSAMPLE = 4

assert int(RED @ [299, 587, 114]) == int(GREEN @ [299, 587, 114])  # equal luminance, exactly


def draw_parameters(rng, size):
    """Every random choice of one image, drawn the same way whatever its class."""
    p = {}
    hue, saturation = rng.random(), rng.uniform(0.0, 0.3)
    light = rng.random() < 0.5
    value = rng.uniform(0.72, 0.95) if light else rng.uniform(0.05, 0.22)
    p["background"] = np.array(colorsys.hsv_to_rgb(hue, saturation, value)) * 255.0
    angle = rng.uniform(0.0, 2.0 * math.pi)
    p["gradient"] = (math.cos(angle), math.sin(angle), rng.uniform(-0.25, 0.25))
    p["blotches"] = rng.normal(0.0, 8.0, size=(4, 4, 3))
    radius = rng.uniform(0.22, 0.36) * size
    p["radius"] = radius
    p["centre"] = rng.uniform(radius + 1.0, size - radius - 1.0, size=2)
    p["rotation"] = rng.uniform(0.0, 2.0 * math.pi)
    p["shade"] = rng.uniform(0.85, 1.1)
    p["blur"] = rng.uniform(0.0, 0.8)
    p["noise"] = rng.normal(0.0, 1.0, size=(size, size, 3)) * rng.uniform(2.0, 5.0)
    return p


def shape_alpha(shape, p, size):
    """Coverage of the shape per pixel, in [0, 1], anti-aliased by supersampling."""
    big = size * SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = p["centre"] * SUPERSAMPLE
    r = p["radius"] * SUPERSAMPLE
    if shape == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    else:
        # Square: half-diagonal 1.1 r; triangle: equilateral, circumradius 1.2 r (areas near the
        # circle's, so size alone does not tell the shapes apart).
        corners, reach = (4, 1.1 * r) if shape == "square" else (3, 1.2 * r)
        points = [(cx + reach * math.cos(p["rotation"] + 2.0 * math.pi * i / corners),
                   cy + reach * math.sin(p["rotation"] + 2.0 * math.pi * i / corners))
                  for i in range(corners)]
        draw.polygon(points, fill=255)
    small = mask.resize((size, size), Image.BOX)
    return np.asarray(small, dtype=np.float64)[:, :, None] / 255.0


def gaussian_blur(image, sigma):
    """Separable Gaussian blur of an H x W x C array (edges reflected); linear in the image."""
    if sigma < 0.05:
        return image
    reach = max(1, int(math.ceil(3.0 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-reach, reach + 1) / sigma) ** 2)
    taps /= taps.sum()
    for axis in (0, 1):
        padded = np.pad(image, [(reach, reach) if a == axis else (0, 0) for a in range(3)],
                        mode="reflect")
        length = image.shape[axis]
        image = sum(t * np.take(padded, range(i, i + length), axis=axis)
                    for i, t in enumerate(taps))
    return image


def upsample(grid, size):
    """A small float grid stretched to size x size, bilinear."""
    image = Image.fromarray(grid.astype(np.float32), mode="F")
    return np.asarray(image.resize((size, size), Image.BILINEAR), dtype=np.float64)


def render(shape, colour, p, size):
    """The H x W x 3 uint8 image of a shape in `colour` with the random choices p."""
    ys, xs = np.mgrid[0:size, 0:size] + 0.5
    dx, dy, strength = p["gradient"]
    ramp = 1.0 + strength * ((xs - size / 2) * dx + (ys - size / 2) * dy) / (size / 2)
    blotches = np.stack([upsample(p["blotches"][:, :, c], size) for c in range(3)], axis=2)
    # Clipped here, where it is the same for both colours, so that the final clipping (of the
    # noise only, rare) is all that can tell red from green in grey.
    background = np.clip(p["background"] * ramp[:, :, None] + blotches, 12.0, 243.0)
    alpha = shape_alpha(shape, p, size)
    image = alpha * (colour * p["shade"]) + (1.0 - alpha) * background
    image = gaussian_blur(image, p["blur"]) + p["noise"]
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def grey(images):
    """BT.601 luminance, rounded: (299 R + 587 G + 114 B) / 1000."""
    return np.rint(images.astype(np.float64) @ LUMA).astype(np.uint8)


def stream(seed, split):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(2)[split]))


def write_split(out_dir, name, rng, per_class, size):
    """Draws per_class images of each class (interleaved: one of each class in turn)."""
    for cls in CLASSES:
        os.makedirs(os.path.join(out_dir, name, cls))
    for k in range(per_class):
        for cls in CLASSES:
            colour, shape = cls.split("-")
            image = render(shape, COLOURS[colour], draw_parameters(rng, size), size)
            Image.fromarray(image).save(os.path.join(out_dir, name, cls, f"{k:05d}.png"))
    print(f"{name}: {per_class * len(CLASSES)} images, "
          + ", ".join(f"{cls}: {per_class}" for cls in CLASSES))


def load_split(out_dir, name):
    """(images N x H x W x 3, class numbers) of OUT_DIR/<name>, classes in CLASSES order."""
    images, labels = [], []
    for number, cls in enumerate(CLASSES):
        folder = os.path.join(out_dir, name, cls)
        for file_name in sorted(os.listdir(folder)):
            with Image.open(os.path.join(folder, file_name)) as im:
                images.append(np.asarray(im.convert("RGB")))
            labels.append(number)
    return np.stack(images), np.array(labels)


def logistic_accuracy(train_x, train_y, test_x, test_y, steps=300, rate=0.5, l2=1e-3):
    """Test accuracy of an L2-regularised logistic regression fitted by gradient descent."""
    mean, spread = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    a, b = (train_x - mean) / spread, (test_x - mean) / spread
    w, bias = np.zeros(a.shape[1]), 0.0
    for _ in range(steps):
        z = np.clip(a @ w + bias, -30.0, 30.0)
        error = 1.0 / (1.0 + np.exp(-z)) - train_y
        w -= rate * (a.T @ error / len(a) + l2 * w)
        bias -= rate * error.mean()
    return float(np.mean(((b @ w + bias) > 0) == test_y))


def check(out_dir, seed, size):
    """Shows that the grey versions of each colour pair cannot be told apart; False if they can."""
    ok = True
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 2])))
    worst, differing = 0, 0
    twins = 200
    for _ in range(twins):
        p = draw_parameters(rng, size)
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        red, green = (grey(render(shape, COLOURS[c], p, size)[None])[0] for c in ("red", "green"))
        difference = np.abs(red.astype(int) - green.astype(int))
        worst = max(worst, int(difference.max()))
        differing += int(np.count_nonzero(difference))
    print(f"check: {twins} twin images (the same random draws in red and in green): their grey "
          f"versions differ by at most {worst} grey level(s), in {differing / twins:.1f} of "
          f"{size * size} pixels on average")
    ok &= worst <= 2

    train_x, train_y = load_split(out_dir, "train")
    test_x, test_y = load_split(out_dir, "test")
    print("check: logistic regression on the pixels, per colour pair (train split -> test split):")
    print("  pair                          grey     colour")
    for shape in SHAPES:
        red, green = CLASSES.index(f"red-{shape}"), CLASSES.index(f"green-{shape}")
        pick_train = (train_y == red) | (train_y == green)
        pick_test = (test_y == red) | (test_y == green)
        accuracies = []
        for convert in (grey, lambda x: x):
            tx = convert(train_x[pick_train]).reshape(int(pick_train.sum()), -1).astype(np.float64)
            vx = convert(test_x[pick_test]).reshape(int(pick_test.sum()), -1).astype(np.float64)
            accuracies.append(logistic_accuracy(tx, train_y[pick_train] == red, vx,
                                                test_y[pick_test] == red))
        print(f"  red-{shape:9} vs green-{shape:9} {accuracies[0]:6.1%}   {accuracies[1]:6.1%}")
        # Grey must stay near chance (4 standard errors of a coin on this many test images) and
        # colour must separate the pair.
        margin = 4.0 * 0.5 / math.sqrt(int(pick_test.sum()))
        ok &= abs(accuracies[0] - 0.5) <= margin and accuracies[1] >= 0.9
    print("check: " + ("as expected: grey at chance within each pair, colour separates them" if ok
                       else "FAILED: see the figures above"))
    return ok


def main():
    parser = argparse.ArgumentParser(
        description="Writes the colour-shapes data set: OUT_DIR/{train,test}/<class>/*.png.")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--seed", type=int, default=17, help="random seed (default 17)")
    parser.add_argument("--train", type=int, default=600,
                        help="training images per class (default 600)")
    parser.add_argument("--test", type=int, default=150, help="test images per class (default 150)")
    parser.add_argument("--size", type=int, default=32, help="image side in pixels (default 32)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the check that grey cannot tell the colour pairs apart")
    args = parser.parse_args()
    if args.seed < 0:
        parser.error(f"--seed: expected a number >= 0, got {args.seed}")
    if args.train < 1 or args.test < 1:
        parser.error("--train and --test: expected at least 1 image per class")
    if not 16 <= args.size <= 1024:
        parser.error(f"--size: expected 16 to 1024 pixels, got {args.size}")
    out_dir = os.path.normpath(args.out_dir)

    stamp = {"version": VERSION, "seed": args.seed, "train": args.train, "test": args.test,
             "size": args.size, "classes": CLASSES}
    if os.path.exists(out_dir):
        try:
            with open(os.path.join(out_dir, STAMP), encoding="utf-8") as f:
                same = json.load(f) == stamp
        except (OSError, ValueError):
            same = False
        if not same:
            print(f"make-colour-shapes: {out_dir} exists but was not made with these settings "
                  "(or is unfinished); remove it to rebuild", file=sys.stderr)
            return 1
        print(f"{out_dir}: already complete (seed {args.seed}, {args.train} + {args.test} images "
              f"per class, {args.size}x{args.size}); left as is")
    else:
        tmp = out_dir + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        write_split(tmp, "train", stream(args.seed, 0), args.train, args.size)
        write_split(tmp, "test", stream(args.seed, 1), args.test, args.size)
        with open(os.path.join(tmp, STAMP), "w", encoding="utf-8") as f:
            json.dump(stamp, f, indent=1)
            f.write("\n")
        os.rename(tmp, out_dir)
        print(f"{out_dir}: written")
    if not args.no_check and not check(out_dir, args.seed, args.size):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
