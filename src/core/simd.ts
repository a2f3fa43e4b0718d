/**
 * The register kernels (compiled.ts) translated into WebAssembly SIMD: two samples per
 * instruction, one in each 64-bit lane of a v128. The translation reads the same statements the
 * JavaScript kernel is printed from (registerSource, in the statement form of program.ts), so
 * both compute the same numbers in the same order; only the running sums differ in rounding (each
 * lane sums half the samples). The bytes are emitted by wasm.ts.
 *
 * Why WebAssembly: a JavaScript typed-array access carries a bounds check and cannot use SIMD;
 * the SIMD kernel is about 1.4–3× the JavaScript kernels (docs/BENCHMARKS.md).
 *
 * Up to MAX_SIMD_M = 10, three more than the JavaScript register kernel: V8 stops optimising
 * JavaScript functions past 60 KiB of bytecode, but compiles WebAssembly functions of any size;
 * compiling takes 0.1–0.2 s at M = 8–10, once per model, in the worker. Past M = 10 the module
 * grows by 2× per modality.
 *
 * The kernel works on tables in one WebAssembly.Memory (allocateTables in tables.ts); for any
 * other arrays decomposeInto runs the JavaScript kernel. Where WebAssembly or SIMD is missing or
 * forbidden (a Content-Security-Policy without 'wasm-unsafe-eval', or a browser that will not
 * compile synchronously; Chromium here compiles these modules on the main thread too) compiling
 * fails and the JavaScript kernel runs.
 */
import { registerSource } from './compiled';
import type { Expr, Statement } from './program';
import { Emitter, F64, moduleBytes, OP, signed, SIMD, unsigned } from './wasm';

/**
 * Decomposes the sample pairs (0, 1), (2, 3), … of a table whose n samples start at byte `values`
 * into the arrays at the given byte offsets, and adds them into the running sums at byte `sums`.
 * Returns the first sample of the first pair with a non-finite table, before adding anything into
 * the sums; else the number of samples decomposed (n rounded down to even).
 */
export type SimdKernel = (
  values: number,
  n: number,
  shapley: number,
  matrices: number,
  local: number,
  orderMass: number,
  sums: number
) => number;

// Parameters of the kernel function (all i32), then the loop counter, then the v128 locals.
const PARAM = { values: 0, n: 1, shapley: 2, matrices: 3, local: 4, orderMass: 5, sums: 6 };
const SAMPLE = 7;
const FIRST_VECTOR = 8;

const BINARY = { '+': SIMD.add, '-': SIMD.sub, '*': SIMD.mul } as const;

/**
 * Pushes an expression, operands before their operation, left before right: the order in which
 * JavaScript evaluates the printed expression, so the lanes round as the JavaScript kernel does.
 */
function expression(out: Emitter, expr: Expr): void {
  switch (expr.kind) {
    case 'local':
      out.get(expr.name);
      return;
    case 'number':
      out.splat(expr.value);
      return;
    case 'abs':
      expression(out, expr.of);
      out.simd(SIMD.abs);
      return;
    case 'binary':
      expression(out, expr.left);
      expression(out, expr.right);
      out.simd(BINARY[expr.op]);
      return;
    case 'element':
      throw new Error(`simd: cannot translate a read of ${expr.array} inside an expression`);
  }
}

/** Byte strides of one sample in each array. */
function strides(M: number): Record<ArrayName, number> {
  return { values: 8 << M, shapley: 8 * M, matrices: 8 * M * M, local: 8, orderMass: 8 * M };
}

/** The arrays a kernel reads or writes per sample. */
type ArrayName = 'values' | OutputName;
type OutputName = 'shapley' | 'matrices' | 'local' | 'orderMass';

function isOutput(name: string): name is OutputName {
  return name === 'shapley' || name === 'matrices' || name === 'local' || name === 'orderMass';
}

/** Translates one per-sample statement; the loads are emitted two coalitions at a time. */
function statement(out: Emitter, line: Statement, M: number): void {
  const stride = strides(M);
  switch (line.kind) {
    case 'let': {
      const value = line.value;
      if (value.kind === 'element' && value.array === 'values' && value.base === 's') {
        // x_b and x_{b+1} come from one load pair at even b.
        if (value.offset % 2 === 0) {
          loadPair(out, value.offset, stride.values);
        }
        return;
      }
      expression(out, value);
      out.set(line.name);
      return;
    }
    case 'add':
      out.get(line.name);
      expression(out, line.value);
      out.simd(BINARY[line.op]);
      out.set(line.name);
      return;
    case 'store': {
      const { array } = line;
      if (!isOutput(array)) {
        throw new Error(`simd: cannot store into ${array}`);
      }
      storeBoth(out, array, line.offset * 8, line.value, stride[array]);
      return;
    }
    case 'finiteCheck':
      // name − name ≠ 0 in either lane: that pair's table is not finite.
      out.get(line.name);
      out.get(line.name);
      out.simd(SIMD.sub);
      compareWithZero(out, SIMD.ne);
      out.simd(SIMD.anyTrue);
      out.op(OP.if, OP.void, OP.localGet, SAMPLE, OP.return, OP.end);
      return;
    case 'localScore':
      // Per lane: NaN where total is 0, else offDiagonal / total (weights.ts's localScore).
      out.splat(NaN);
      out.get(line.offDiagonal);
      out.get(line.total);
      out.simd(SIMD.div);
      out.get(line.total);
      compareWithZero(out, SIMD.eq);
      out.simd(SIMD.bitselect);
      out.set(line.name);
      return;
    case 'addDefined':
      // A lane compares equal to itself unless it is NaN: the mask keeps the defined lanes.
      out.get(line.value);
      out.get(line.value);
      out.simd(SIMD.eq);
      out.set('defined');
      for (const [sum, push] of [
        [line.sum, () => out.get(line.value)],
        [line.count, () => out.splat(1)]
      ] as const) {
        out.get(sum);
        push();
        out.get('defined');
        out.simd(SIMD.and);
        out.simd(SIMD.add);
        out.set(sum);
      }
      return;
  }
}

/** Lanes of all ones where the v128 on the stack compares to 0 by `comparison` (eq, ne). */
function compareWithZero(out: Emitter, comparison: number): void {
  out.splat(0);
  out.simd(comparison);
}

/**
 * x_b and x_{b+1} of both samples: one 16-byte load per sample, then two shuffles that pair the
 * samples' x_b in one vector and their x_{b+1} in the other.
 */
function loadPair(out: Emitter, b: number, sampleBytes: number): void {
  for (const [local, offset] of [
    ['first', 8 * b],
    ['second', sampleBytes + 8 * b]
  ] as const) {
    out.op(OP.localGet, PARAM.values);
    out.simd(SIMD.load, 4, ...unsigned(offset));
    out.set(local);
  }
  const low = [0, 1, 2, 3, 4, 5, 6, 7];
  for (const [target, lanes] of [
    [`x${b}`, [...low, ...low.map(k => k + 16)]],
    [`x${b + 1}`, [...low.map(k => k + 8), ...low.map(k => k + 24)]]
  ] as const) {
    out.get('first');
    out.get('second');
    out.simd(SIMD.shuffle, ...lanes);
    out.set(target);
  }
}

/** Stores lane 0 for the first sample of the pair and lane 1 for the second. */
function storeBoth(out: Emitter, array: OutputName, offset: number, value: Expr, stride: number) {
  expression(out, value);
  out.set('out');
  out.storeLane(PARAM[array], offset, 0, 'out');
  out.storeLane(PARAM[array], stride + offset, 1, 'out');
}

/** The module's bytes for M: one exported function `kernel` over an imported memory `memory`. */
export function simdModuleBytes(M: number): Uint8Array {
  const { body, accumulators, countSlot } = registerSource(M);
  const out = new Emitter(FIRST_VECTOR);
  accumulators.forEach(t => out.vector(t.local)); // zero-initialised, as WebAssembly locals are
  const loopStart = out.code.length;
  body.forEach(line => statement(out, line, M));
  for (const [array, stride] of Object.entries(strides(M))) {
    const param = PARAM[array as ArrayName];
    out.op(OP.localGet, param, OP.i32Const, ...signed(2 * stride), OP.i32Add, OP.localSet, param);
  }
  const loopBody = out.code.splice(loopStart);
  // while (a + 1 < n) { body; a += 2 }
  out.op(OP.block, OP.void, OP.loop, OP.void);
  out.op(OP.localGet, SAMPLE, OP.i32Const, 1, OP.i32Add, OP.localGet, PARAM.n, OP.i32GeS);
  out.op(OP.brIf, 1);
  out.append(loopBody);
  out.op(OP.localGet, SAMPLE, OP.i32Const, 2, OP.i32Add, OP.localSet, SAMPLE, OP.br, 0, OP.end);
  out.op(OP.end);
  for (const t of accumulators) {
    for (const slot of t.slots) {
      addIntoSum(out, slot, () => {
        out.get(t.local);
        out.simd(SIMD.extractLane, 0);
        out.get(t.local);
        out.simd(SIMD.extractLane, 1);
        out.op(OP.f64Add);
      });
    }
  }
  addIntoSum(out, countSlot, () => out.op(OP.localGet, SAMPLE, OP.f64ConvertI32S));
  out.op(OP.localGet, SAMPLE, OP.end);
  return moduleBytes(Object.keys(PARAM).length, FIRST_VECTOR - SAMPLE, out);
}

/** sums[slot] += (what `push` leaves on the stack), as f64 at byte offset slot·8 of `sums`. */
function addIntoSum(out: Emitter, slot: number, push: () => void): void {
  out.op(OP.localGet, PARAM.sums, OP.localGet, PARAM.sums, OP.f64Load, F64, ...unsigned(slot * 8));
  push();
  out.op(OP.f64Add, OP.f64Store, F64, ...unsigned(slot * 8));
}

/** The largest M with a SIMD kernel (see the module text). */
export const MAX_SIMD_M = 10;

const modules = new Map<number, WebAssembly.Module | null>();

/** The compiled module for M, or null where WebAssembly SIMD cannot be compiled here. */
export function simdModule(M: number): WebAssembly.Module | null {
  if (!modules.has(M)) {
    let module: WebAssembly.Module | null = null;
    try {
      module = new WebAssembly.Module(simdModuleBytes(M));
    } catch {
      module = null;
    }
    modules.set(M, module);
  }
  return modules.get(M) ?? null;
}

/** The kernel for M bound to `memory`, or null where it cannot be compiled or instantiated. */
export function simdKernel(M: number, memory: WebAssembly.Memory): SimdKernel | null {
  const module = simdModule(M);
  if (module === null) {
    return null;
  }
  try {
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    return instance.exports.kernel as SimdKernel;
  } catch {
    return null;
  }
}
