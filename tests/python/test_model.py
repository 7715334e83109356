"""Model from Python: inputs (uint8 and float32, shapes), outputs, files, properties and the
errors for bad input."""
import importlib.util
import pathlib
import tempfile
import threading
import unittest

import numpy as np

import cnn
from cnn_testing import DIGITS, synthetic_digits


def read_pgm_p5(path):
    """A binary PGM (P5) of maximum value 255 as an (H, W) uint8 array."""
    data = pathlib.Path(path).read_bytes()
    fields, position = [], 0
    while len(fields) < 4:
        while data[position:position + 1].isspace():
            position += 1
        if data[position:position + 1] == b"#":
            position = data.index(b"\n", position)
            continue
        end = position
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[position:end])
        position = end
    assert fields[0] == b"P5" and fields[3] == b"255"
    width, height = int(fields[1]), int(fields[2])
    return np.frombuffer(data[position + 1:position + 1 + width * height],
                         np.uint8).reshape(height, width)


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.images, cls.labels = synthetic_digits(50, seed=4)
        cls.model = cnn.Model.create("seed", (1, 28, 28), 10, seed=7)
        cls.model.train(cls.images, cls.labels, iterations=30, batch_size=8)
        cls._tmp = tempfile.TemporaryDirectory(prefix="cnn-python-model-")
        cls.work = pathlib.Path(cls._tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_uint8_equals_float32_normalised_by_hand(self):
        pixels = self.model.predict(self.images)
        floats = self.model.predict((self.images / np.float32(255)).astype(np.float32))
        np.testing.assert_array_equal(pixels.labels, floats.labels)
        np.testing.assert_array_equal(pixels.logits, floats.logits)
        # (N, H, W) and (N, 1, H, W) are the same batch.
        np.testing.assert_array_equal(self.model.predict(self.images[:, None]).logits,
                                      pixels.logits)

    def test_predictions(self):
        result = self.model.predict(self.images[:7])
        self.assertEqual(len(result), 7)
        self.assertEqual(result.labels.dtype, np.int32)
        self.assertEqual(result.labels.shape, (7,))
        self.assertEqual(result.probabilities.shape, (7, 10))
        self.assertEqual(result.probabilities.dtype, np.float32)
        self.assertEqual(result.logits.shape, (7, 10))
        np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(result.labels, np.argmax(result.logits, axis=1))
        self.assertEqual(result.names, [str(label) for label in result.labels])
        np.testing.assert_array_equal(result.confidence, result.probabilities.max(axis=1))

    def test_evaluate_with_test_time_augmentation(self):
        images, labels = self.images[:20], self.labels[:20]
        plain = self.model.evaluate(images, labels)
        self.assertEqual(plain.accuracy, self.model.evaluate(images, labels, tta_shift=0).accuracy)
        for views in (5, 9):
            # By hand: each image moved one whole pixel (zeros coming in), the softmax of every
            # view averaged, its arg-max the prediction.
            shifts = [(0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)]
            if views == 9:
                shifts += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
            mean = np.zeros((len(images), 10), np.float64)
            for dy, dx in shifts:
                moved = np.zeros_like(images)
                h, w = images.shape[1:]
                moved[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
                    images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
                mean += self.model.predict(moved).probabilities
            mean /= len(shifts)
            tta = self.model.evaluate(images, labels, tta_shift=1, tta_views=views)
            np.testing.assert_array_equal(tta.predicted, mean.argmax(axis=1))
            np.testing.assert_allclose(tta.confidence, mean.max(axis=1), rtol=1e-5)
            self.assertEqual(tta.correct, int((mean.argmax(axis=1) == labels).sum()))
        with self.assertRaisesRegex(ValueError, "tta_views.*5.*9"):
            self.model.evaluate(images, labels, tta_shift=1, tta_views=7)
        with self.assertRaisesRegex(ValueError, "tta_views needs tta_shift"):
            self.model.evaluate(images, labels, tta_views=9)
        with self.assertRaisesRegex(ValueError, "tta_shift.*1 to 1000"):
            self.model.evaluate(images, labels, tta_shift=5000)

    def test_save_and_load_keep_everything(self):
        model = cnn.Model.create("fc(16) relu fc(classes)", (1, 28, 28), 3, seed=2,
                                 class_names=["cat", "dog", "bird"])
        model.preparation = "resize"
        path = self.work / "three.safetensors"
        model.save(path)
        loaded = cnn.Model.load(path)
        self.assertEqual(loaded.class_names, ["cat", "dog", "bird"])
        self.assertEqual(loaded.input_shape, (1, 28, 28))
        self.assertEqual(loaded.classes, 3)
        self.assertEqual(loaded.preparation, "resize")
        self.assertEqual(loaded.normalization["kind"], "unit")
        self.assertEqual(loaded.parameter_count, model.parameter_count)
        self.assertEqual(loaded.parameter_count, 28 * 28 * 16 + 16 + 16 * 3 + 3)
        np.testing.assert_array_equal(loaded.predict(self.images).logits,
                                      model.predict(self.images).logits)
        self.assertLessEqual(set(loaded.predict(self.images).names), {"cat", "dog", "bird"})
        self.assertIn("relu", model.summary().lower())
        self.assertEqual(repr(loaded),
                         "<cnn.Model custom [1, 28, 28] -> 3 classes, 12611 parameters>")

    def test_standard_normalization(self):
        stats = cnn.measure_normalization(self.images)
        self.assertEqual(stats["kind"], "standard")
        self.assertAlmostEqual(stats["mean"][0], float(np.mean(self.images / 255.0)), places=5)
        model = cnn.Model.create("seed", (1, 28, 28), 10, normalization=stats)
        by_hand = ((self.images / np.float32(255) - np.float32(stats["mean"][0])) /
                   np.float32(stats["std"][0])).astype(np.float32)
        np.testing.assert_allclose(model.predict(by_hand).logits,
                                   model.predict(self.images).logits, rtol=1e-5, atol=1e-5)

    def test_activations(self):
        names = self.model.layer_names()
        outputs = self.model.activations(self.images[:4])
        self.assertEqual(len(outputs), len(names))
        self.assertTrue(all(o.shape[0] == 4 and o.dtype == np.float32 for o in outputs))
        np.testing.assert_array_equal(outputs[-1], self.model.predict(self.images[:4]).logits)

    def test_predict_image_equals_predict_file(self):
        path = DIGITS / "3-small-64x64.pgm"
        picture = read_pgm_p5(path)
        from_file = self.model.predict_file(path)
        for image in (picture, picture[:, :, None], np.repeat(picture[:, :, None], 3, axis=2)):
            np.testing.assert_array_equal(self.model.predict_image(image).logits,
                                          from_file.logits)
        np.testing.assert_array_equal(self.model.prepare_image(picture),
                                      self.model.prepare_file(path))

    @unittest.skipUnless(importlib.util.find_spec("PIL"), "needs PIL (python3-pil)")
    def test_pictures_as_pil_gives_them_equal_predict_file(self):
        from PIL import Image
        # resize preparation reads files with their colour, alpha composited onto white: the
        # same as predict_image does with numpy's (H, W, C) of the picture.
        model = cnn.Model.create("seed", (3, 28, 28), 10, seed=3)
        self.assertEqual(model.preparation, "resize")
        for name in ("7-transparent-background-500x500.png", "4-red-off-centre-400x400.png"):
            picture = np.asarray(Image.open(DIGITS / name))
            np.testing.assert_array_equal(model.prepare_image(picture),
                                          model.prepare_file(DIGITS / name), err_msg=name)
            np.testing.assert_array_equal(model.predict_image(picture).logits,
                                          model.predict_file(DIGITS / name).logits)

    def test_threads(self):
        self.assertEqual(cnn.num_threads(), 1)
        self.assertIsInstance(cnn.instruction_set(), str)
        self.assertRegex(cnn.__version__, r"^\d+\.\d+\.\d+")
        # Python threads predicting at once (the GIL is released) agree with one thread.
        expected = self.model.predict(self.images).logits
        copies = [self.model.copy() for _ in range(3)]
        results = [None] * 3

        def work(i):
            results[i] = copies[i].predict(self.images).logits

        threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in results:
            np.testing.assert_array_equal(r, expected)


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = cnn.Model.create("seed", (1, 28, 28), 10)

    def test_missing_model_file_is_named(self):
        with self.assertRaisesRegex(cnn.ModelFileError, "no-such-model.safetensors"):
            cnn.Model.load("/nonexistent/no-such-model.safetensors")
        self.assertTrue(issubclass(cnn.ModelFileError, ValueError))

    def test_not_a_model_file_is_named(self):
        with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
            f.write(b"this is no model")
            f.flush()
            with self.assertRaisesRegex(cnn.ModelFileError, pathlib.Path(f.name).name):
                cnn.Model.load(f.name)

    def test_missing_image_file_is_named(self):
        with self.assertRaisesRegex(cnn.ImageError, "no-such-image.png"):
            self.model.predict_file("/nonexistent/no-such-image.png")

    def test_missing_data_folder_is_named(self):
        with self.assertRaisesRegex(cnn.DataError, "no-such-data"):
            self.model.evaluate_folder("/nonexistent/no-such-data")

    def test_wrong_shapes_name_the_expected_one(self):
        for bad in (np.zeros((2, 3, 28, 28), np.uint8), np.zeros((2, 28, 27), np.uint8),
                    np.zeros((28, 28), np.uint8), np.zeros((0, 28, 28), np.uint8)):
            with self.assertRaisesRegex(ValueError, r"\(N, 28, 28\) or \(N, 1, 28, 28\)|no images"):
                self.model.predict(bad)

    def test_wrong_dtypes_name_the_expected_ones(self):
        for bad in (np.zeros((2, 28, 28), np.float64), np.zeros((2, 28, 28), np.int32)):
            with self.assertRaisesRegex(ValueError, "uint8.*float32"):
                self.model.predict(bad)
        with self.assertRaisesRegex(ValueError, "numpy array"):
            self.model.predict([[0] * 28] * 28)
        with self.assertRaisesRegex(ValueError, "uint8"):
            self.model.train(np.zeros((4, 28, 28), np.float32), np.zeros(4, int), iterations=1)

    def test_bad_labels(self):
        images = np.zeros((4, 28, 28), np.uint8)
        with self.assertRaisesRegex(ValueError, "label 10 of image 2"):
            self.model.evaluate(images, [0, 1, 10, 2])
        with self.assertRaisesRegex(ValueError, "4 labels"):
            self.model.evaluate(images, [0, 1])
        with self.assertRaisesRegex(ValueError, "integer"):
            self.model.evaluate(images, np.zeros(4, np.float32))

    def test_bad_images_for_predict_image(self):
        with self.assertRaisesRegex(ValueError, r"\(H, W\)"):
            self.model.predict_image(np.zeros((2, 3, 5, 5), np.uint8))
        with self.assertRaisesRegex(ValueError, "uint8"):
            self.model.predict_image(np.zeros((5, 5), np.float32))

    def test_bad_settings(self):
        with self.assertRaisesRegex(ValueError, "conv|architecture|unknown|line"):
            cnn.Model.create("conv(4, 3) nonsense", (1, 28, 28), 10)
        with self.assertRaisesRegex(ValueError, "class"):
            cnn.Model.create("seed", (1, 28, 28), 10, class_names=["a", "b"])
        with self.assertRaisesRegex(ValueError, "normalization"):
            cnn.Model.create("seed", (1, 28, 28), 10, normalization="bogus")
        with self.assertRaisesRegex(ValueError, "sgd"):
            self.model.train(np.zeros((4, 28, 28), np.uint8), [0, 1, 2, 3], iterations=1,
                             optimizer="rmsprop")
        with self.assertRaisesRegex(ValueError, "preparation"):
            self.model.preparation = "stretch"


if __name__ == "__main__":
    unittest.main()
