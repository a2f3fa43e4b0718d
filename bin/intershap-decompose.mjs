#!/usr/bin/env node
// Launcher of `intershap-decompose FILE.json`: reads the file, prints the decomposition as JSON.
// The logic is TypeScript in src/cli/decompose.ts; tsx (a devDependency) loads it without a build,
// so the command works in a checkout right after `npm ci`.
import { readFileSync } from 'node:fs';
import { tsImport } from 'tsx/esm/api';

const USAGE =
  'usage: intershap-decompose FILE.json   (FILE laid out as { games: [{ M, values }] })';

async function main(argv) {
  if (argv.length !== 1 || argv[0] === '-h' || argv[0] === '--help') {
    throw new Error(USAGE);
  }
  let text;
  try {
    text = readFileSync(argv[0], 'utf8');
  } catch (error) {
    throw new Error(`FILE: cannot read ${argv[0]}: ${error.message}`);
  }
  const cli = await tsImport('../src/cli/decompose.ts', import.meta.url);
  process.stdout.write(cli.decomposeGamesJson(text) + '\n');
}

main(process.argv.slice(2)).catch(error => {
  process.stderr.write(`intershap-decompose: ${error.message}\n`);
  process.exit(1);
});
