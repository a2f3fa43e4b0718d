/**
 * The `intershap-decompose` command's logic, as a pure function so that it runs (and is tested)
 * without Node: bin/intershap-decompose.mjs only reads the file and prints.
 *
 * Input: JSON laid out like ../shared/golden/reference_games.json, i.e. { games: [{ M, values }] }
 * with values[a] the value table of sample a in bitmask order. Output: per game, every number of
 * SPEC.md §2–§4, with undefined numbers as null.
 */
import { aggregate } from '../core/aggregate';
import { decomposeAll } from '../core/decompose';
import { checkModalityCount, describe } from '../core/validate';

interface GameInput {
  kind?: unknown;
  M: number;
  values: Float64Array;
  n: number;
}

/** Decomposes every game of a JSON document and returns the results as JSON text. */
export function decomposeGamesJson(text: string): string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SyntaxError(
      `input: expected JSON text, got a parse error: ${(error as Error).message}`
    );
  }
  const games = readGames(document);
  return JSON.stringify({ games: games.map(decomposeGame) }, null, 1);
}

function decomposeGame(game: GameInput): Record<string, unknown> {
  const per = decomposeAll(game.values, game.M);
  const summary = aggregate(per);
  const { M, n } = game;
  return {
    ...(typeof game.kind === 'string' ? { kind: game.kind } : {}),
    M,
    n,
    matrices: Array.from({ length: n }, (_, a) => rows(per.matrices, a * M * M, M, M)),
    shapley: rows(per.shapley, 0, n, M),
    local: Array.from(per.local, orNull),
    local_mean: orNull(summary.localMean),
    n_undefined: summary.nUndefined,
    global_intershap: orNull(summary.globalIntershap),
    modality_contributions: Array.from(summary.contributions, orNull),
    interactions_share: orNull(summary.interactionShare),
    order_mass: rows(per.orderMass, 0, n, M)
  };
}

/** Undefined numbers (NaN) print as null, as JSON has no NaN. */
function orNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function rows(
  flat: Float64Array,
  offset: number,
  count: number,
  width: number
): (number | null)[][] {
  return Array.from({ length: count }, (_, r) =>
    Array.from(flat.subarray(offset + r * width, offset + (r + 1) * width), orNull)
  );
}

function readGames(document: unknown): GameInput[] {
  const games = (document as { games?: unknown } | null)?.games;
  if (!Array.isArray(games)) {
    throw new TypeError(
      `games: expected an array of { M, values } objects, got ${describe(games)}`
    );
  }
  return games.map((game: unknown, g) => readGame(game, `games[${g}]`));
}

function readGame(game: unknown, name: string): GameInput {
  if (typeof game !== 'object' || game === null) {
    throw new TypeError(`${name}: expected an object with M and values, got ${describe(game)}`);
  }
  const { M, values, kind } = game as { M?: unknown; values?: unknown; kind?: unknown };
  checkModalityCount(M, `${name}.M`);
  if (!Array.isArray(values)) {
    throw new TypeError(
      `${name}.values: expected an array of value tables (one per sample), got ${describe(values)}`
    );
  }
  const coalitions = 2 ** M;
  const flat = new Float64Array(values.length * coalitions);
  values.forEach((table: unknown, a) => {
    const tableName = `${name}.values[${a}]`;
    if (!Array.isArray(table) || table.length !== coalitions) {
      throw new RangeError(
        `${tableName}: expected an array of 2^M = ${coalitions} numbers, got ${describe(table)}`
      );
    }
    table.forEach((v: unknown, b) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new TypeError(`${tableName}[${b}]: expected a finite number, got ${describe(v)}`);
      }
      flat[a * coalitions + b] = v;
    });
  });
  return { kind, M, values: flat, n: values.length };
}
