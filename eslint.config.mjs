import tseslint from 'typescript-eslint';

/**
 * The layers of docs/ARCHITECTURE.md ("Layers"), as import rules. Each layer is a folder of src/;
 * `uses` lists what its code may import at run time from outside its folder, `types` what it may
 * import types from (`import type`), and `packages` whether it may import npm packages at all (or
 * which ones).
 * widget.ts, plugin.ts and index.ts sit above every layer and are not restricted.
 */
const LAYERS = {
  core: { uses: [], types: [], packages: false },
  protocol: { uses: [], types: [], packages: false },
  // onnxruntime-web runs anywhere too (browser, worker, Node): the browser-evaluated models' runtime.
  compute: { uses: ['core', 'protocol'], types: [], packages: ['onnxruntime-web'] },
  // config.ts holds the user's settings (number formats, colours); plotly and lumino are packages.
  views: { uses: ['config'], types: ['compute'], packages: true }
};

/** Folders nest at most this deep inside a layer (src/views/charts/x.ts is at depth 1). */
const MAX_DEPTH = 5;

/**
 * A relative import leaves a file's layer folder when it climbs more `../` than the file is deep in
 * it; what follows the last `../` names where it goes. Name-independent, so any folder nesting works.
 */
const leaving = depth => `^(\\.\\./){${depth + 1}}`;
const into = names => `(${names.join('|')})(/|$)`;

function layerPatterns(layer, depth) {
  const { uses, types, packages } = LAYERS[layer];
  const allowed = [...uses, ...types];
  const where = `src/${layer}`;
  const only = [...uses, ...types.map(t => `types from ${t}`)].join(', ') || 'nothing';
  const patterns = [
    {
      regex: allowed.length ? `${leaving(depth)}(?!${into(allowed)})` : leaving(depth),
      message: `${where} imports from outside its folder only: ${only} (docs/ARCHITECTURE.md, Layers).`
    }
  ];
  if (types.length) {
    patterns.push({
      regex: `${leaving(depth)}${into(types)}`,
      allowTypeImports: true,
      message: `${where} may import only types from ${types.join(', ')} (import type; docs/ARCHITECTURE.md, Layers).`
    });
  }
  if (packages !== true) {
    const except = packages ? `(?!${into(packages)})` : '';
    patterns.push({
      regex: `^${except}[^.]`,
      message: `${where} imports no packages: it runs anywhere (browser, worker, Node).`
    });
  }
  return patterns;
}

const restrict = (files, patterns) => ({
  files,
  rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] }
});

const depths = [...Array(MAX_DEPTH + 1).keys()];
const nested = depth => '*/'.repeat(depth);

const layerRules = [
  ...Object.keys(LAYERS).flatMap(layer =>
    depths.map(d => restrict([`src/${layer}/${nested(d)}*.ts`], layerPatterns(layer, d)))
  ),
  // The thread boundary inside compute: worker-side code (worker/) never imports main-thread code
  // (main/); main/ reaches into worker/ only for the engine, its fallback when no worker starts.
  ...depths.slice(1).map(d =>
    restrict(
      [`src/compute/worker/${nested(d - 1)}*.ts`],
      [
        ...layerPatterns('compute', d),
        {
          regex: `^(\\.\\./){${d}}main(/|$)`,
          message: 'src/compute/worker runs in the web worker: it imports nothing from ../main.'
        }
      ]
    )
  ),
  ...depths.slice(1).map(d =>
    restrict(
      [`src/compute/main/${nested(d - 1)}*.ts`],
      [
        ...layerPatterns('compute', d),
        {
          regex: `^(\\.\\./){${d}}worker/(?!engine$)`,
          message:
            'src/compute/main imports from ../worker only the engine (the no-worker fallback).'
        }
      ]
    )
  ),
  // The types both threads share: nothing in it runs.
  restrict(
    ['src/compute/types.ts'],
    [
      ...layerPatterns('compute', 0),
      { regex: '.', allowTypeImports: true, message: 'src/compute/types.ts imports only types.' }
    ]
  )
];

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'node_modules/**',
      'intershap_widget/labextension/**',
      '.venv/**',
      // Deliberately wrong imports, linted by tests/ts/lint.test.ts under pretend paths.
      'tests/lint/fixtures/**'
    ]
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
      'prefer-const': 'error'
    }
  },
  ...layerRules,
  {
    // Browser tests reach into JupyterLab's application object, which has no public types.
    files: ['ui-tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  }
);
