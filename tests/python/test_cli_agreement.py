"""The module gives the program's results: the same model, the same images, the same numbers.

A model trained by `cnn train` on a small synthetic IDX set is evaluated by `cnn eval
--predictions-out` and predicted by Model.predict on the same test images (uint8 and float32);
the hand-drawn digits of tests/fixtures/digits are classified by `cnn predict --json` and by
Model.predict_file. Both go through the same library code, so they must agree exactly.
"""
import csv
import json
import unittest

import numpy as np

import cnn
from cnn_testing import DIGITS, DataCase, needs_cli, run_cli


@needs_cli
class CliAgreement(DataCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model_path = cls.work / "model.safetensors"
        run_cli("train", "--data", cls.data, "--preset", "seed", "--iterations", 300, "--batch", 16,
                "--lr", 0.05, "--seed", 3, "--quiet", "--out", cls.work / "run", "--save",
                cls.model_path)
        cls.model = cnn.Model.load(cls.model_path)

    def read_predictions(self):
        path = self.work / "predictions.csv"
        run_cli("eval", "--model", self.model_path, "--data", self.data, "--predictions-out", path)
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        classes = self.model.classes
        labels = np.array([int(r["label"]) for r in rows])
        predicted = np.array([int(r["predicted"]) for r in rows], np.int32)
        logits = np.array([[float(r[f"logit_{c}"]) for c in range(classes)] for r in rows],
                          np.float32)
        return labels, predicted, logits

    def test_predict_equals_eval_predictions(self):
        labels, predicted, logits = self.read_predictions()
        np.testing.assert_array_equal(labels, self.test_labels)
        result = self.model.predict(self.test_images)
        agreeing = int(np.sum(result.labels == predicted))
        difference = float(np.max(np.abs(result.logits - logits)))
        print(f"\nPython vs `cnn eval`: {agreeing} of {len(predicted)} labels agree, "
              f"max |logit difference| {difference}")
        np.testing.assert_array_equal(result.labels, predicted)
        self.assertEqual(difference, 0.0)
        # A useful model, not a constant one: the comparison means something.
        self.assertGreater(np.mean(result.labels == self.test_labels), 0.5)

    def test_evaluate_equals_eval(self):
        _, predicted, logits = self.read_predictions()
        for evaluation in (self.model.evaluate(self.test_images, self.test_labels),
                           self.model.evaluate_folder(self.data)):
            np.testing.assert_array_equal(evaluation.predicted, predicted)
            np.testing.assert_array_equal(evaluation.logits, logits)
            self.assertEqual(evaluation.images, 200)
            self.assertEqual(evaluation.confusion.shape, (10, 10))
            self.assertEqual(int(evaluation.confusion.sum()), 200)
            self.assertEqual(int(np.trace(evaluation.confusion)), evaluation.correct)
            self.assertAlmostEqual(evaluation.accuracy,
                                   float(np.mean(predicted == self.test_labels)))

    def test_predict_file_equals_cnn_predict(self):
        files = sorted(p for p in DIGITS.iterdir() if p.suffix in (".png", ".jpg", ".pgm"))
        self.assertEqual(len(files), 10)
        output = json.loads(run_cli("predict", "--model", self.model_path, "--json", "--top", 10,
                                    *files))
        self.assertEqual(len(output), len(files))
        for path, cli_result in zip(files, output):
            result = self.model.predict_file(path)
            self.assertEqual(int(result.labels[0]), cli_result["predicted"], path.name)
            self.assertEqual(result.names[0], cli_result["name"])
            for entry in cli_result["top"]:
                self.assertEqual(result.probabilities[0, entry["class"]],
                                 np.float32(entry["probability"]), path.name)
            # The prepared image through predict() gives the same result.
            prepared = self.model.prepare_file(path)
            self.assertEqual(prepared.shape, (1, 28, 28))
            self.assertEqual(prepared.dtype, np.uint8)
            again = self.model.predict(prepared[None])
            np.testing.assert_array_equal(again.logits, result.logits)


if __name__ == "__main__":
    unittest.main()
