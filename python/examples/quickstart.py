"""Train a network on a data folder, save it, load it, classify: the README's Python example.

    /usr/bin/python3 python/examples/quickstart.py [DATA [IMAGE]]

DATA is a data folder as `cnn train --data` takes it (default data/mnist: MNIST's IDX files, see
scripts/fetch-mnist.sh); IMAGE a picture of a digit (default tests/fixtures/digits/7-...png).
tests/python/test_quickstart.py runs it on a small generated data set.
"""
import sys
import pathlib

import numpy as np

import cnn

root = pathlib.Path(__file__).resolve().parents[2]
data = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
image = (sys.argv[2] if len(sys.argv) > 2 else
         root / "tests" / "fixtures" / "digits" / "7-transparent-background-500x500.png")

cnn.set_num_threads(0)  # every CPU this process may use

# A new LeNet-5 for grey 28x28 images of ten classes, trained for 300 batches of 32.
model = cnn.Model.create("lenet5", input=(1, 28, 28), classes=10, seed=1)


def report(progress):
    print(f"iteration {progress['iteration']}/{progress['total']}: loss {progress['loss']:.4f}")
    return True  # False would stop training here


model.train_folder(data, iterations=300, batch_size=32, lr=0.01, report_every=100,
                   callback=report)
evaluation = model.evaluate_folder(data)
print(f"test accuracy {evaluation.accuracy:.4f} ({evaluation.correct} of {evaluation.images})")
model.save("quickstart.safetensors")

# Load it again and classify a picture file, prepared as `cnn predict` prepares it.
model = cnn.Model.load("quickstart.safetensors")
result = model.predict_file(image)
print(f"{image}: {result.names[0]} (probability {result.confidence[0]:.3f})")

# A batch of numpy images: uint8 pixels 0..255 (normalised as the model was trained), shape
# (N, 28, 28) or (N, 1, 28, 28). float32 input would be taken as already normalised.
batch = np.stack([model.prepare_file(image)[0]] * 4)
print("labels of a batch:", model.predict(batch).labels.tolist())
