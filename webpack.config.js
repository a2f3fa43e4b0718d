// Merged by @jupyterlab/builder into the lab extension's webpack configuration.
const path = require('path');

module.exports = {
  resolve: {
    alias: {
      // onnxruntime-web's WebAssembly-only build, as one module that names its .wasm file with
      // `new URL(..., import.meta.url)`: webpack then ships the file in the extension's static
      // assets. (The builder's resolver picks the package's `types` entry for this subpath.)
      'onnxruntime-web/wasm$': path.resolve(
        __dirname,
        'node_modules/onnxruntime-web/dist/ort.wasm.bundle.min.mjs'
      )
    }
  }
};
