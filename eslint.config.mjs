import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['lib/**', 'node_modules/**', 'intershap_widget/labextension/**', '.venv/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: 'error',
      'prefer-const': 'error'
    }
  },
  {
    // Browser tests reach into JupyterLab's application object, which has no public types.
    files: ['ui-tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  }
);
