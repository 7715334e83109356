// Runs the test images through an ONNX file written by `cnn export` in ONNX Runtime
// (onnxruntime-node, package.json here) and compares its logits with the predictions CSV of
// `cnn eval --predictions-out` (format: cli/predictions_csv.hpp).
//
//   node run_onnxruntime.js MODEL.onnx IMAGES.idx3 PREDICTIONS.csv [NAME]
//
// The images are IDX3 (raw or .gz, grey: C = 1); they go in as raw pixel values 0..255, the
// graph's input (it normalises itself). Prints one table line: NAME, images agreeing, near-ties
// that differ (our top two logits within 1e-4), max |logit difference| and the largest relative
// to the image's largest |logit|. Exit 1 on any other disagreement or a relative difference over
// 1e-3 (clients_common.py says why these bounds).
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const path = require('path');

const NEAR_TIE = 1e-4;
const RELATIVE_TOLERANCE = 1e-3;
const BATCH = 500;

function fail(message) {
  console.error(`run_onnxruntime.js: ${message}`);
  process.exit(1);
}

function readIdxImages(file) {
  let data = fs.readFileSync(file);
  if (file.endsWith('.gz')) data = zlib.gunzipSync(data);
  if (data.length < 16) fail(`${file}: too short for an IDX header`);
  const magic = data.readUInt32BE(0), count = data.readUInt32BE(4);
  const rows = data.readUInt32BE(8), cols = data.readUInt32BE(12);
  if (magic !== 0x803 || data.length !== 16 + count * rows * cols) {
    fail(`${file}: not an IDX3 image file of ${count}x${rows}x${cols}`);
  }
  return {count, rows, cols, pixels: data.subarray(16)};
}

function readPredictions(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
  const header = lines[0].split(',');
  if (header.slice(0, 4).join(',') !== 'index,label,predicted,confidence' || header.length < 5) {
    fail(`${file}: line 1: not a predictions CSV with logits`);
  }
  const classes = header.length - 4;
  const logits = new Float32Array((lines.length - 1) * classes);
  for (let i = 1; i < lines.length; ++i) {
    const fields = lines[i].split(',');
    if (fields.length !== header.length) fail(`${file}: line ${i + 1}: ${fields.length} fields`);
    for (let c = 0; c < classes; ++c) logits[(i - 1) * classes + c] = Number(fields[4 + c]);
  }
  return {count: lines.length - 1, classes, logits};
}

function argmax(values, start, length) {
  let best = 0;
  for (let c = 1; c < length; ++c) {
    if (values[start + c] > values[start + best]) best = c;
  }
  return best;
}

async function main() {
  const [modelPath, imagesPath, csvPath, nameArgument] = process.argv.slice(2);
  if (!csvPath) fail('usage: node run_onnxruntime.js MODEL.onnx IMAGES.idx3 PREDICTIONS.csv [NAME]');
  const name = nameArgument || path.basename(modelPath);
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    console.error(`onnxruntime-node is not installed: run 'npm ci --ignore-scripts' in ${__dirname}`);
    process.exit(77);
  }
  const images = readIdxImages(imagesPath);
  const ours = readPredictions(csvPath);
  if (ours.count !== images.count) fail(`${csvPath} has ${ours.count} rows for ${images.count} images`);
  const session = await ort.InferenceSession.create(modelPath);
  const plane = images.rows * images.cols;
  const classes = ours.classes;
  let agree = 0, nearTies = 0, wrong = 0, maxDiff = 0, maxRelative = 0;
  for (let start = 0; start < images.count; start += BATCH) {
    const n = Math.min(BATCH, images.count - start);
    const input = new Float32Array(n * plane);
    for (let i = 0; i < n * plane; ++i) input[i] = images.pixels[start * plane + i];
    const result = await session.run(
        {input: new ort.Tensor('float32', input, [n, 1, images.rows, images.cols])});
    const logits = result.logits;
    if (logits.dims.length !== 2 || logits.dims[0] !== n || logits.dims[1] !== classes) {
      fail(`${name}: ONNX Runtime gives logits [${logits.dims}], expected [${n}, ${classes}]`);
    }
    for (let k = 0; k < n; ++k) {
      const row = (start + k) * classes;
      let scale = 1, largest = 0;
      for (let c = 0; c < classes; ++c) {
        const ourValue = ours.logits[row + c];
        scale = Math.max(scale, Math.abs(ourValue));
        largest = Math.max(largest, Math.abs(ourValue - logits.data[k * classes + c]));
      }
      maxDiff = Math.max(maxDiff, largest);
      maxRelative = Math.max(maxRelative, largest / scale);
      const ourClass = argmax(ours.logits, row, classes);
      const theirClass = argmax(logits.data, k * classes, classes);
      if (ourClass === theirClass) {
        ++agree;
        continue;
      }
      const sorted = Array.from(ours.logits.subarray(row, row + classes)).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= NEAR_TIE) ++nearTies; else ++wrong;
    }
  }
  const ok = wrong === 0 && maxRelative <= RELATIVE_TOLERANCE;
  console.log(`| ONNX Runtime ${ort.env.versions ? ort.env.versions.common : ''} | ${name} | ` +
              `${agree}/${images.count} | ${nearTies} | ${maxDiff.toExponential(2)} (relative ` +
              `${maxRelative.toExponential(2)}) | ${ok ? 'ok' : 'FAILED'} |`);
  process.exit(ok ? 0 : 1);
}

main().catch((e) => fail(e.stack || String(e)));
