"""Python vs the program on MNIST's 10,000 test images, for each preset (a short training each):
every label of Model.predict equals `cnn eval --predictions-out`'s and the logits are bitwise
equal. Prints the agreement table of issue 16 (preset, images agreeing, near-ties, max |logit
difference|). Skipped without the MNIST files (CNN_MNIST_DIR) or the program; CTest labels python
and mnist.
"""
import csv
import os
import pathlib
import struct
import tempfile
import unittest

import numpy as np

import cnn
from cnn_testing import CLI, needs_cli, run_cli

MNIST = pathlib.Path(os.environ.get("CNN_MNIST_DIR", "data/mnist"))


def read_idx_images(folder):
    import gzip
    for name in ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"):
        path = folder / name
        if path.exists():
            raw = gzip.open(path).read() if name.endswith(".gz") else path.read_bytes()
            _, n, rows, cols = struct.unpack(">IIII", raw[:16])
            return np.frombuffer(raw[16:], np.uint8).reshape(n, rows, cols)
    return None


@needs_cli
@unittest.skipUnless(read_idx_images(MNIST) is not None, f"no MNIST test files in {MNIST}")
class MnistAgreement(unittest.TestCase):
    def test_every_preset_agrees_with_cnn_eval(self):
        images = read_idx_images(MNIST)
        rows = []
        with tempfile.TemporaryDirectory(prefix="cnn-python-mnist-") as tmp:
            work = pathlib.Path(tmp)
            for preset, iterations in (("seed", 300), ("lenet5", 300), ("fast", 100),
                                       ("best", 30)):
                model_path = work / f"{preset}.safetensors"
                run_cli("train", "--data", MNIST, "--preset", preset, "--iterations", iterations,
                        "--batch", 32, "--quiet", "--out", work / f"run-{preset}", "--save",
                        model_path, "--threads", 0)
                predictions = work / f"{preset}.csv"
                run_cli("eval", "--model", model_path, "--data", MNIST, "--predictions-out",
                        predictions)
                with open(predictions, newline="") as f:
                    table = list(csv.DictReader(f))
                predicted = np.array([int(r["predicted"]) for r in table])
                logits = np.array([[float(r[f"logit_{c}"]) for c in range(10)] for r in table],
                                  np.float32)
                model = cnn.Model.load(model_path)
                result = model.predict(images)
                top2 = np.sort(result.logits, axis=1)[:, -2:]
                near_ties = int(np.sum(top2[:, 1] - top2[:, 0] < 1e-4))
                agreeing = int(np.sum(result.labels == predicted))
                difference = float(np.max(np.abs(result.logits - logits)))
                rows.append((preset, agreeing, len(predicted), near_ties, difference))
                np.testing.assert_array_equal(result.labels, predicted, err_msg=preset)
                self.assertEqual(difference, 0.0, preset)
        print("\n| preset | images agreeing | near-ties | max abs logit diff |")
        print("|---|---|---|---|")
        for preset, agreeing, total, near_ties, difference in rows:
            print(f"| {preset} | {agreeing} / {total} | {near_ties} | {difference} |")


if __name__ == "__main__":
    unittest.main()
