/**
 * The register kernels (compiled.ts) translated into WebAssembly SIMD: two samples per
 * instruction, one in each 64-bit lane of a v128. The translation reads the same statements the
 * JavaScript kernel is compiled from (registerSource), so both compute the same numbers in the
 * same order; only the running sums differ in rounding (each lane sums half the samples).
 *
 * Up to MAX_SIMD_M = 10, three more than the JavaScript register kernel: V8 stops optimising
 * JavaScript functions past 60 KiB of bytecode, but compiles WebAssembly functions of any size.
 * At M = 8–10 the SIMD register kernel is about 1.4× the JavaScript blocked kernels (1.09 M vs
 * 0.72 M, 0.50 M vs 0.37 M and 0.24 M vs 0.16 M samples/s); compiling takes 0.1–0.2 s there,
 * once per model, in the worker. Past M = 10 the module grows by 2× per modality.
 *
 * Why hand-emitted bytes: the kernels are generated per M at run time, as the JavaScript ones are.
 * The maintained assemblers would have to ship in the extension to do that: binaryen.js is a
 * 14.8 MB script and wabt.js 0.7 MB (their npm packages' index.js), where the emitter below,
 * covering only what the statements need (f64x2 arithmetic, loads, lane stores), is a few KB.
 *
 * Why WebAssembly: a JavaScript typed-array access carries a bounds check and cannot use SIMD.
 * Measured on the project's 2-core VM, samples/s of the kernel with running sums, JavaScript →
 * SIMD: M = 2 69 M → 201 M, M = 4 21 M → 40 M, M = 6 4.3 M → 9.0 M (10,000 samples), M = 7
 * 1.5 M → 2.1 M.
 *
 * The kernel works on tables in one WebAssembly.Memory (allocateTables in tables.ts); for any
 * other arrays decomposeInto runs the JavaScript kernel. Where WebAssembly or SIMD is missing or
 * forbidden (a Content-Security-Policy without 'wasm-unsafe-eval', or a browser that will not
 * compile synchronously; Chromium here compiles these modules on the main thread too) compiling
 * fails and the JavaScript kernel runs.
 */
import { ADD_DEFINED_LOCAL, finiteCheck, registerSource } from './compiled';
import { LOCAL_SCORE } from './statements';

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

// Opcodes (WebAssembly core and SIMD specifications).
const OP = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  localGet: 0x20,
  localSet: 0x21,
  f64Load: 0x2b,
  f64Store: 0x39,
  i32Const: 0x41,
  i32GeS: 0x4e,
  i32Add: 0x6a,
  f64Add: 0xa0,
  f64ConvertI32S: 0xb7,
  void: 0x40,
  simd: 0xfd
};
const SIMD = {
  load: 0x00,
  const: 0x0c,
  shuffle: 0x0d,
  extractLane: 0x21,
  eq: 0x47,
  ne: 0x48,
  and: 0x4e,
  bitselect: 0x52,
  anyTrue: 0x53,
  store64Lane: 0x5b,
  abs: 0xec,
  add: 0xf0,
  sub: 0xf1,
  mul: 0xf2,
  div: 0xf3
};
const F64 = 3; // alignment exponent of an 8-byte access
const V128 = 0x7b;
const I32 = 0x7f;

function unsigned(n: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) {
      byte |= 0x80;
    }
    bytes.push(byte);
  } while (n !== 0);
  return bytes;
}

function signed(n: number): number[] {
  const bytes: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      bytes.push(byte);
      return bytes;
    }
    bytes.push(byte | 0x80);
  }
}

function name(text: string): number[] {
  return [...unsigned(text.length), ...Array.from(text, c => c.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsigned(body.length), ...body];
}

/** The body of one function: v128 locals by name, and the instructions that use them. */
class Emitter {
  readonly code: number[] = [];
  private readonly vectors = new Map<string, number>();

  get vectorCount(): number {
    return this.vectors.size;
  }

  vector(local: string): number {
    let index = this.vectors.get(local);
    if (index === undefined) {
      index = FIRST_VECTOR + this.vectors.size;
      this.vectors.set(local, index);
    }
    return index;
  }

  op(...bytes: number[]): void {
    this.code.push(...bytes);
  }

  /** Appends a long run of bytes (a spread argument list would overflow the stack). */
  append(bytes: number[]): void {
    for (const byte of bytes) {
      this.code.push(byte);
    }
  }

  simd(code: number, ...immediates: number[]): void {
    this.code.push(OP.simd, ...unsigned(code), ...immediates);
  }

  get(local: string): void {
    this.op(OP.localGet, ...unsigned(this.vector(local)));
  }

  set(local: string): void {
    this.op(OP.localSet, ...unsigned(this.vector(local)));
  }

  /** Both lanes = x. */
  splat(x: number): void {
    const bytes = new Uint8Array(16);
    const view = new DataView(bytes.buffer);
    view.setFloat64(0, x, true);
    view.setFloat64(8, x, true);
    this.simd(SIMD.const, ...bytes);
  }

  /** Lane `lane` of the v128 on the stack, stored at byte param + offset. */
  storeLane(param: number, offset: number, lane: number, local: string): void {
    this.op(OP.localGet, param);
    this.get(local);
    this.simd(SIMD.store64Lane, F64, ...unsigned(offset), lane);
  }
}

const BINARY: Record<string, number> = {
  '+': SIMD.add,
  '-': SIMD.sub,
  '*': SIMD.mul,
  '/': SIMD.div
};

/**
 * Pushes an expression of the statements' grammar: names, numbers (negative ones too), + − × ÷,
 * parentheses and Math.abs(…), with the usual precedence and left-to-right association (as JavaScript evaluates
 * them, so the lanes round as the JavaScript kernel does).
 */
function expression(out: Emitter, text: string): void {
  const tokens = text.match(/Math\.abs|[A-Za-z_]\w*|\d+(?:\.\d+)?(?:e[-+]?\d+)?|[-+*/()]/g) ?? [];
  let at = 0;
  const primary = (): void => {
    const token = tokens[at++];
    if (token === '(') {
      sum();
      at++;
    } else if (token === 'Math.abs') {
      at++;
      sum();
      at++;
      out.simd(SIMD.abs);
    } else if (token === '-' && /^\d/.test(tokens[at] ?? '')) {
      out.splat(-Number(tokens[at++])); // a negative weight, as JavaScript reads the literal
    } else if (/^\d/.test(token)) {
      out.splat(Number(token));
    } else {
      out.get(token);
    }
  };
  // One precedence level: operands from `next`, joined left to right by `operators`.
  const level = (operators: string[], next: () => void) => (): void => {
    next();
    while (operators.includes(tokens[at])) {
      const operator = tokens[at++];
      next();
      out.simd(BINARY[operator]);
    }
  };
  const product = level(['*', '/'], primary);
  const sum: () => void = level(['+', '-'], product);
  sum();
  if (at !== tokens.length) {
    throw new Error(`simd: cannot translate the expression '${text}'`);
  }
}

/** Byte strides of one sample in each array. */
function strides(M: number): Record<string, number> {
  return { values: 8 << M, shapley: 8 * M, matrices: 8 * M * M, local: 8, orderMass: 8 * M };
}

/** Translates one per-sample statement; the loads are emitted two coalitions at a time. */
function statement(out: Emitter, line: string, M: number): void {
  const stride = strides(M);
  let m: RegExpMatchArray | null;
  if ((m = line.match(/^let x(\d+) = values\[s \+ \d+\];$/))) {
    const b = Number(m[1]);
    if (b % 2 === 0) {
      loadPair(out, b, stride.values);
    }
  } else if (
    (m = line.match(/^if \((\w+) - \1 !== 0\) return a;$/)) &&
    line === finiteCheck(m[1])
  ) {
    out.get(m[1]);
    out.get(m[1]);
    out.simd(SIMD.sub);
    out.splat(0);
    out.simd(SIMD.ne);
    out.simd(SIMD.anyTrue);
    out.op(OP.if, OP.void, OP.localGet, SAMPLE, OP.return, OP.end);
  } else if (line === LOCAL_SCORE) {
    out.splat(NaN);
    expression(out, 'offDiagonal / total');
    out.get('total');
    out.splat(0);
    out.simd(SIMD.eq);
    out.simd(SIMD.bitselect);
    out.set('localScore');
  } else if (line === ADD_DEFINED_LOCAL) {
    // A lane compares equal to itself unless it is NaN: the mask keeps the defined lanes.
    out.get('localScore');
    out.get('localScore');
    out.simd(SIMD.eq);
    out.set('defined');
    for (const [sum, value] of [
      ['sl', 'localScore'],
      ['sc', 'one']
    ]) {
      out.get(sum);
      if (value === 'one') {
        out.splat(1);
      } else {
        out.get(value);
      }
      out.get('defined');
      out.simd(SIMD.and);
      out.simd(SIMD.add);
      out.set(sum);
    }
  } else if ((m = line.match(/^(\w+) ([-+])= (.+);$/))) {
    out.get(m[1]);
    expression(out, m[3]);
    out.simd(BINARY[m[2]]);
    out.set(m[1]);
  } else if ((m = line.match(/^(?:let|const) (\w+) = (.+);$/))) {
    expression(out, m[2]);
    out.set(m[1]);
  } else if ((m = line.match(/^(shapley|matrices|orderMass)\[[or] \+ (\d+)\] = (.+);$/))) {
    storeBoth(out, m[1], Number(m[2]) * 8, m[3], stride[m[1]]);
  } else if ((m = line.match(/^local\[a\] = (.+);$/))) {
    storeBoth(out, 'local', 0, m[1], stride.local);
  } else {
    throw new Error(`simd: cannot translate the statement '${line}'`);
  }
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
function storeBoth(out: Emitter, array: string, offset: number, value: string, stride: number) {
  expression(out, value);
  out.set('out');
  const param = PARAM[array as keyof typeof PARAM];
  out.storeLane(param, offset, 0, 'out');
  out.storeLane(param, stride + offset, 1, 'out');
}

/** The module's bytes for M: one exported function `kernel` over an imported memory `memory`. */
export function simdModuleBytes(M: number): Uint8Array {
  const { body, accumulators, countSlot } = registerSource(M);
  const out = new Emitter();
  accumulators.forEach(t => out.vector(t.local)); // zero-initialised, as WebAssembly locals are
  const loopStart = out.code.length;
  body.forEach(line => statement(out, line, M));
  for (const [array, stride] of Object.entries(strides(M))) {
    const param = PARAM[array as keyof typeof PARAM];
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

  const locals = [2, 1, I32, ...unsigned(out.vectorCount), V128];
  const func = [...locals, ...out.code];
  const params = Object.keys(PARAM).length;
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, params, ...Array<number>(params).fill(I32), 1, I32]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('kernel'), 0x00, 0]),
    ...section(10, [1, ...unsigned(func.length), ...func])
  ]);
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
