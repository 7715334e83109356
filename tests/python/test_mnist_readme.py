"""The README's examples of "Use it from your code" are the code that runs.

- C++: every line of the snippet under "Use it from C++" is a line of examples/classify_digits.cpp,
  which the Package test builds against the installed package and runs.
- Python: the snippet under "Use it from Python" runs as it stands, from the repository's root (it
  reads data/mnist and a fixture digit), and prints a test accuracy and the digit 7.
(The ONNX snippet is tests/onnx/readme_example.js, which OnnxClients runs and finds verbatim.)
Needs MNIST in data/mnist (CNN_MNIST_DIR); skipped without it.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from cnn_testing import SOURCE


def readme_block(heading, language):
    """The first ```language block after the heading line of README.md."""
    text = (SOURCE / "README.md").read_text(encoding="utf-8")
    start = text.index("\n" + heading + "\n")
    match = re.compile(r"```" + language + r"\n(.*?)```", re.S).search(text, start)
    return match.group(1)


class ReadmeExamples(unittest.TestCase):
    def test_cpp_snippet_is_the_example_project(self):
        snippet = readme_block("### Use it from C++", "cpp")
        example = [line.strip() for line in
                   (SOURCE / "examples" / "classify_digits.cpp").read_text().splitlines()]
        for line in snippet.splitlines():
            if line.strip():
                self.assertIn(line.strip(), example, "README's C++ line not in the example")

    def test_python_snippet_runs(self):
        mnist = os.environ.get("CNN_MNIST_DIR", str(SOURCE / "data" / "mnist"))
        if not os.path.exists(os.path.join(mnist, "t10k-labels-idx1-ubyte")):
            self.skipTest(f"MNIST not found in {mnist} (scripts/fetch-mnist.sh)")
        snippet = readme_block("### Use it from Python", "python")
        snippet += "\nprint('accuracy', model.evaluate_folder('data/mnist').accuracy)\n"
        snippet += "print('digit', model.predict_file('tests/fixtures/digits/"
        snippet += "7-transparent-background-500x500.png').names[0])\n"
        with tempfile.TemporaryDirectory(prefix="cnn-readme-") as work:
            # The repository's layout as the snippet expects it, in a folder of its own.
            os.makedirs(os.path.join(work, "data"))
            os.symlink(mnist, os.path.join(work, "data", "mnist"))
            shutil.copytree(SOURCE / "tests" / "fixtures" / "digits",
                            os.path.join(work, "tests", "fixtures", "digits"))
            result = subprocess.run([sys.executable, "-c", snippet], cwd=work, capture_output=True,
                                    text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stderr)
        print("\n" + result.stdout)
        accuracy = float(re.search(r"accuracy ([0-9.]+)", result.stdout).group(1))
        self.assertGreater(accuracy, 0.9)
        self.assertIn("digit 7", result.stdout)


if __name__ == "__main__":
    unittest.main()
