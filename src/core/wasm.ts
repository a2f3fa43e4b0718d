/**
 * A small WebAssembly byte emitter: LEB128 numbers, the opcodes simd.ts uses, a function body
 * with named v128 locals, and a module of one exported function over an imported memory.
 *
 * Why hand-emitted bytes: the kernels are generated per M at run time, as the JavaScript ones
 * are. The maintained assemblers would have to ship in the extension to do that: binaryen.js is a
 * 14.8 MB script and wabt.js 0.7 MB (their npm packages' index.js), where this emitter, covering
 * only what the kernels need (f64x2 arithmetic, loads, lane stores), is a few KB.
 */

/** Opcodes (WebAssembly core specification). */
export const OP = {
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

/** SIMD opcodes, after the 0xfd prefix (WebAssembly SIMD specification). */
export const SIMD = {
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

/** Alignment exponent of an 8-byte access. */
export const F64 = 3;
const V128 = 0x7b;
const I32 = 0x7f;

/** n as unsigned LEB128. */
export function unsigned(n: number): number[] {
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

/** n as signed LEB128. */
export function signed(n: number): number[] {
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

/**
 * The body of one function whose i32 parameters and i32 locals come first (`firstVector` of
 * them): v128 locals by name, numbered in order of first use, and the instructions that use them.
 */
export class Emitter {
  readonly code: number[] = [];
  private readonly vectors = new Map<string, number>();

  constructor(private readonly firstVector: number) {}

  get vectorCount(): number {
    return this.vectors.size;
  }

  /** The index of the v128 local `local`, declared on first use. */
  vector(local: string): number {
    let index = this.vectors.get(local);
    if (index === undefined) {
      index = this.firstVector + this.vectors.size;
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

  /** Lane `lane` of the v128 local `local`, stored at byte (i32 local `param`) + offset. */
  storeLane(param: number, offset: number, lane: number, local: string): void {
    this.op(OP.localGet, param);
    this.get(local);
    this.simd(SIMD.store64Lane, F64, ...unsigned(offset), lane);
  }
}

/**
 * A module of one function `kernel` over the memory it imports as env.memory: `params` i32
 * parameters, an i32 result, then `i32Locals` i32 locals and the emitter's v128 locals.
 */
export function moduleBytes(params: number, i32Locals: number, body: Emitter): Uint8Array {
  const locals = [2, i32Locals, I32, ...unsigned(body.vectorCount), V128];
  const func = [...locals, ...body.code];
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  return new Uint8Array([
    ...header,
    ...section(1, [1, 0x60, params, ...Array<number>(params).fill(I32), 1, I32]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, 0x00, 0x00]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('kernel'), 0x00, 0]),
    ...section(10, [1, ...unsigned(func.length), ...func])
  ]);
}
