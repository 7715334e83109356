"""Training from Python: the same weights as `cnn train` on the same images and settings; the
progress callback (called, stopping, raising); Ctrl-C.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
import unittest

import numpy as np

import cnn
from cnn_testing import DataCase, needs_cli, read_safetensors, run_cli


class TrainingMatchesCli(DataCase):
    def assert_same_weights(self, cli_path, model):
        python_path = self.work / "python.safetensors"
        model.save(python_path)
        expected, _ = read_safetensors(cli_path)
        actual, metadata = read_safetensors(python_path)
        self.assertEqual(sorted(expected), sorted(actual))
        worst = max(float(np.max(np.abs(expected[k] - actual[k]))) for k in expected)
        print(f"\n{cli_path.name}: max |weight difference| numpy vs files {worst}")
        for name in expected:
            np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)
        return metadata

    @needs_cli
    def test_numpy_arrays_give_the_weights_of_cnn_train(self):
        cli_path = self.work / "cli-sgd.safetensors"
        run_cli("train", "--data", self.data, "--preset", "seed", "--iterations", 120, "--batch", 8,
                "--lr", 0.03, "--momentum", 0.8, "--seed", 5, "--val", 0, "--quiet", "--threads", 1,
                "--out", self.work / "run-sgd", "--save", cli_path)
        model = cnn.Model.create("seed", (1, 28, 28), 10, seed=5)
        result = model.train(self.train_images, self.train_labels, iterations=120, batch_size=8,
                             lr=0.03, momentum=0.8, seed=5)
        self.assertEqual(result["iterations"], 120)
        self.assertFalse(result["interrupted"])
        self.assert_same_weights(cli_path, model)

    @needs_cli
    def test_adam_for_an_epoch_gives_the_weights_of_cnn_train(self):
        cli_path = self.work / "cli-adam.safetensors"
        run_cli("train", "--data", self.data, "--preset", "lenet5", "--epochs", 1, "--batch", 32,
                "--optimizer", "adam", "--lr", 0.002, "--seed", 9, "--val", 0, "--quiet",
                "--threads", 1, "--out", self.work / "run-adam", "--save", cli_path)
        model = cnn.Model.create("lenet5", (1, 28, 28), 10, seed=9)
        result = model.train(self.train_images, self.train_labels, epochs=1, batch_size=32,
                             optimizer="adam", lr=0.002, seed=9)
        self.assertEqual(result["iterations"], 600 // 32 + 1)
        self.assert_same_weights(cli_path, model)

    @needs_cli
    def test_a_data_folder_gives_the_weights_of_cnn_train(self):
        # The default validation hold-out of both: the last tenth of the IDX training images.
        cli_path = self.work / "cli-folder.safetensors"
        run_cli("train", "--data", self.data, "--preset", "seed", "--iterations", 80, "--batch", 8,
                "--seed", 2, "--quiet", "--threads", 1, "--out", self.work / "run-folder", "--save",
                cli_path)
        model = cnn.Model.create("seed", (1, 28, 28), 10, seed=2)
        reports = []
        model.train_folder(self.data, iterations=80, batch_size=8, seed=2,
                           callback=reports.append)
        self.assert_same_weights(cli_path, model)
        # Validation ran at the end, on the 60 held-out images.
        self.assertIsNotNone(reports[-1]["validation_accuracy"])


class Callback(DataCase):
    def new_model(self):
        return cnn.Model.create("seed", (1, 28, 28), 10, seed=1)

    def test_callback_gets_every_report(self):
        reports = []
        result = self.new_model().train(
            self.train_images, self.train_labels, iterations=40, batch_size=8, report_every=10,
            validation=(self.test_images, self.test_labels), evaluate_every=20,
            callback=reports.append)
        self.assertEqual([r["iteration"] for r in reports], [10, 20, 30, 40])
        self.assertTrue(all(r["total"] == 40 for r in reports))
        self.assertTrue(all(np.isfinite(r["loss"]) and r["learning_rate"] > 0 for r in reports))
        self.assertEqual([r["validation_accuracy"] is not None for r in reports],
                         [False, True, False, True])
        self.assertEqual(result["iterations"], 40)

    def test_returning_false_stops(self):
        calls = []

        def stop_at_second(progress):
            calls.append(progress["iteration"])
            return len(calls) < 2

        result = self.new_model().train(self.train_images, self.train_labels, iterations=100,
                                        batch_size=4, report_every=5, callback=stop_at_second)
        self.assertEqual(calls, [5, 10])
        self.assertEqual(result["iterations"], 10)
        self.assertTrue(result["stopped_early"])

    def test_an_exception_in_the_callback_propagates(self):
        def fail(progress):
            if progress["iteration"] >= 6:
                raise ZeroDivisionError("from the callback")

        model = self.new_model()
        with self.assertRaisesRegex(ZeroDivisionError, "from the callback"):
            model.train(self.train_images, self.train_labels, iterations=1000, batch_size=4,
                        report_every=3, callback=fail)
        # The model is still usable afterwards.
        self.assertEqual(len(model.predict(self.test_images[:3])), 3)


class CtrlC(unittest.TestCase):
    def test_sigint_raises_keyboard_interrupt(self):
        script = textwrap.dedent("""
            import sys
            import numpy as np
            import cnn
            images = np.random.default_rng(0).integers(0, 256, (64, 28, 28), dtype=np.uint8)
            labels = np.arange(64) % 10
            model = cnn.Model.create("lenet5", (1, 28, 28), 10)
            def started(progress):
                if progress["iteration"] == 1:
                    print("started", flush=True)
            try:
                model.train(images, labels, iterations=10**8, report_every=1, callback=started)
            except KeyboardInterrupt:
                print("KeyboardInterrupt", flush=True)
                model.predict(images[:2])
                sys.exit(3)
            print("finished", flush=True)
        """)
        process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=os.environ.copy())
        try:
            self.assertEqual(process.stdout.readline().strip(), "started")
            sent = time.monotonic()
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=20)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        seconds = time.monotonic() - sent
        print(f"\nCtrl-C: stopped {seconds:.2f} s after SIGINT")
        self.assertEqual(process.returncode, 3, err)
        self.assertIn("KeyboardInterrupt", out)
        self.assertLess(seconds, 5.0)


if __name__ == "__main__":
    unittest.main()
