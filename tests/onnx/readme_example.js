// Classifies the first images of an MNIST-format IDX file with ONNX Runtime.
//   node readme_example.js model.onnx data/mnist/t10k-images-idx3-ubyte
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main(modelFile, imagesFile) {
  const session = await ort.InferenceSession.create(modelFile);
  const idx = fs.readFileSync(imagesFile);  // a 16-byte header, then 28x28 bytes per image
  const count = 5, size = 28 * 28;
  // The graph takes raw pixel values 0..255 as float32 [N, 1, 28, 28]; it normalises them itself.
  const pixels = Float32Array.from(idx.subarray(16, 16 + count * size));
  const input = new ort.Tensor('float32', pixels, [count, 1, 28, 28]);
  const {logits} = await session.run({input});
  const classes = logits.dims[1];
  for (let n = 0; n < count; ++n) {
    const row = Array.from(logits.data.subarray(n * classes, (n + 1) * classes));
    const best = row.indexOf(Math.max(...row));
    const total = row.reduce((sum, value) => sum + Math.exp(value - row[best]), 0);
    console.log(`image ${n}: class ${best}, probability ${(1 / total).toFixed(3)}`);
  }
}

main(process.argv[2], process.argv[3]);
