"""The README's Python example (python/examples/quickstart.py) runs and learns."""
import os
import re
import subprocess
import sys
import unittest

from cnn_testing import SOURCE, DataCase


class Quickstart(DataCase):
    def test_quickstart_runs(self):
        result = subprocess.run(
            [sys.executable, SOURCE / "python" / "examples" / "quickstart.py", self.data],
            cwd=self.work, capture_output=True, text=True, env=os.environ.copy(), timeout=120)
        self.assertEqual(result.returncode, 0, result.stderr)
        print("\n" + result.stdout)
        accuracy = float(re.search(r"test accuracy ([0-9.]+)", result.stdout).group(1))
        self.assertGreater(accuracy, 0.8)
        self.assertTrue((self.work / "quickstart.safetensors").exists())
        self.assertRegex(result.stdout, r"labels of a batch: \[(\d), \1, \1, \1\]")


if __name__ == "__main__":
    unittest.main()
