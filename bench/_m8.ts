import { simdKernel, simdModuleBytes } from '../src/core/simd';
import { allocateSums, decomposeAll, mulberry32 } from '../src/core';
function best(work: () => unknown): number {
  work(); let b = Infinity;
  for (let r = 0; r < 5; r++) { let c = 0; const s = performance.now(); let e = 0;
    do { work(); c++; e = (performance.now() - s) / 1000; } while (e < 0.3); b = Math.min(b, e / c); }
  return b;
}
for (const M of [8, 9, 10]) {
  const n = 10000, W = 2 ** M;
  let t0 = performance.now();
  const bytes = simdModuleBytes(M);
  const mem = new WebAssembly.Memory({ initial: Math.ceil(8 * n * (W + M + M * M + 1 + M + 100) / 65536) });
  const k = simdKernel(M, mem)!;
  const tc = performance.now() - t0;
  let off = 0; const take = (len: number) => { const a = new Float64Array(mem.buffer, off, len); off += len * 8; return a; };
  const values = take(n * W); const r = mulberry32(3); for (let i = 0; i < values.length; i++) values[i] = r();
  const sh = take(n * M), mt = take(n * M * M), lc = take(n), om = take(n * M), sm = take(allocateSums(M).length);
  t0 = performance.now();
  k(values.byteOffset, n, sh.byteOffset, mt.byteOffset, lc.byteOffset, om.byteOffset, sm.byteOffset);
  const first = performance.now() - t0;
  const ref = decomposeAll(values.slice(), M);
  let d = 0; for (let i = 0; i < mt.length; i++) d = Math.max(d, Math.abs(mt[i] - ref.matrices[i]));
  const t = best(() => k(values.byteOffset, n, sh.byteOffset, mt.byteOffset, lc.byteOffset, om.byteOffset, sm.byteOffset));
  const tj = best(() => decomposeAll(values, M));
  console.log(`M=${M} bytes ${bytes.length} compile+inst ${tc.toFixed(0)} ms first call ${first.toFixed(0)} ms maxdiff ${d.toExponential(1)} simd ${(n / t / 1e6).toFixed(2)} M/s js ${(n / tj / 1e6).toFixed(2)} M/s`);
}
