/**
 * The statement form of the generated kernels: a few kinds of straight-line statements over named
 * locals and array elements, as plain data. The generators (statements.ts, compiled.ts,
 * blocked.ts) build it; printJavaScript below prints it for `new Function`, and simd.ts translates
 * the register kernel's statements into WebAssembly SIMD. Both read the same expression trees, so
 * both evaluate every sum in the same order and round alike.
 */
import { localScore } from './weights';

/** An operator of a binary expression. */
export type BinaryOp = '+' | '-' | '*';

/** An expression: a local, a number, an array element, |·|, or a binary operation. */
export type Expr =
  | { readonly kind: 'local'; readonly name: string }
  | { readonly kind: 'number'; readonly value: number }
  /** array[base + offset], or array[offset] when base is null. */
  | {
      readonly kind: 'element';
      readonly array: string;
      readonly base: string | null;
      readonly offset: number;
    }
  | { readonly kind: 'abs'; readonly of: Expr }
  | {
      readonly kind: 'binary';
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
    };

/** A statement of a kernel's straight-line body. */
export type Statement =
  /** Declares a local: `let name = value`. */
  | { readonly kind: 'let'; readonly name: string; readonly value: Expr }
  /** `name += value` or, with op '-', `name -= value`. */
  | {
      readonly kind: 'add';
      readonly name: string;
      readonly op: '+' | '-';
      readonly value: Expr;
    }
  /** array[base + offset] = value (array[offset] when base is null). */
  | {
      readonly kind: 'store';
      readonly array: string;
      readonly base: string | null;
      readonly offset: number;
      readonly value: Expr;
    }
  /**
   * Returns the sample index `a` unless `name` is finite: name − name is 0 exactly when it is
   * neither NaN nor ±Infinity, and m(full), ± every v(S) summed, is finite exactly when the whole
   * table is (barring overflow).
   */
  | { readonly kind: 'finiteCheck'; readonly name: string }
  /** Declares `name` = the local score of the locals `offDiagonal` and `total` (weights.ts). */
  | {
      readonly kind: 'localScore';
      readonly name: string;
      readonly offDiagonal: string;
      readonly total: string;
    }
  /** Adds `value` into `sum` and 1 into `count`, unless `value` is NaN (an undefined score). */
  | {
      readonly kind: 'addDefined';
      readonly sum: string;
      readonly count: string;
      readonly value: string;
    };

// --- building -----------------------------------------------------------------------------------

export function local(name: string): Expr {
  return { kind: 'local', name };
}

export function number(value: number): Expr {
  return { kind: 'number', value };
}

export function element(array: string, base: string | null, offset: number): Expr {
  return { kind: 'element', array, base, offset };
}

export function abs(of: Expr): Expr {
  return { kind: 'abs', of };
}

export function binary(op: BinaryOp, left: Expr, right: Expr): Expr {
  return { kind: 'binary', op, left, right };
}

/** The terms added left to right, as a chain: ((t0 + t1) + t2) + … */
export function chain(terms: readonly Expr[]): Expr {
  return terms.reduce((sum, term) => binary('+', sum, term));
}

/**
 * The terms added as a balanced tree: a chain makes each addition wait for the previous one, a
 * tree lets the CPU overlap them (blocked.ts sums up to 16 terms at once). 0 when there are none.
 */
export function tree(terms: readonly Expr[]): Expr {
  if (terms.length === 0) {
    return number(0);
  }
  if (terms.length === 1) {
    return terms[0];
  }
  const half = terms.length >> 1;
  return binary('+', tree(terms.slice(0, half)), tree(terms.slice(half)));
}

export function declare(name: string, value: Expr): Statement {
  return { kind: 'let', name, value };
}

/** `name = source × weight`: a Möbius coefficient scaled into its share of some output. */
export function scaled(name: string, source: string, weight: Expr): Statement {
  return declare(name, binary('*', local(source), weight));
}

export function addTo(name: string, value: Expr, op: '+' | '-' = '+'): Statement {
  return { kind: 'add', name, op, value };
}

export function store(array: string, base: string | null, offset: number, value: Expr): Statement {
  return { kind: 'store', array, base, offset, value };
}

// --- JavaScript ---------------------------------------------------------------------------------

/** An expression as JavaScript, every binary operation parenthesised. */
export function expressionSource(expr: Expr): string {
  switch (expr.kind) {
    case 'local':
      return expr.name;
    case 'number':
      // String() prints the shortest text that reads back as the same double.
      return expr.value < 0 || Object.is(expr.value, -0) ? `(${expr.value})` : String(expr.value);
    case 'element':
      return `${expr.array}[${indexSource(expr.base, expr.offset)}]`;
    case 'abs':
      return `Math.abs(${expressionSource(expr.of)})`;
    case 'binary':
      return `(${expressionSource(expr.left)} ${expr.op} ${expressionSource(expr.right)})`;
  }
}

function indexSource(base: string | null, offset: number): string {
  return base === null ? String(offset) : offset === 0 ? base : `${base} + ${offset}`;
}

/** One statement as a line of JavaScript. */
export function statementSource(statement: Statement): string {
  switch (statement.kind) {
    case 'let':
      return `let ${statement.name} = ${expressionSource(statement.value)};`;
    case 'add':
      return `${statement.name} ${statement.op}= ${expressionSource(statement.value)};`;
    case 'store': {
      const index = indexSource(statement.base, statement.offset);
      return `${statement.array}[${index}] = ${expressionSource(statement.value)};`;
    }
    case 'finiteCheck':
      return `if (${statement.name} - ${statement.name} !== 0) return a;`;
    case 'localScore':
      return `let ${statement.name} = localScoreOf(${statement.offDiagonal}, ${statement.total});`;
    case 'addDefined': {
      const { sum, count, value } = statement;
      return `if (${value} === ${value}) { ${sum} += ${value}; ${count}++; }`;
    }
  }
}

/** The statements as lines of JavaScript. */
export function printJavaScript(statements: readonly Statement[]): string[] {
  return statements.map(statementSource);
}

/**
 * Compiles a function from source lines, with weights.ts' localScore in scope as localScoreOf
 * (what a localScore statement calls: V8 inlines it). The sourceURL names the function in
 * profiles and stack traces. Throws where a Content-Security-Policy forbids `new Function`
 * (compiledKernel catches that).
 */
export function compileFunction<F>(params: string[], lines: string[], name: string): F {
  const body = [
    `return function (${params.join(', ')}) {`,
    "'use strict';",
    ...lines,
    '};',
    `//# sourceURL=intershap-${name}.js`
  ].join('\n');
  return new Function('localScoreOf', body)(localScore) as F;
}
