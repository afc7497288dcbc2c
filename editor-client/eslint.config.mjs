import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', '*.vsix', 'src/protocol.generated.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-restricted-syntax': [
        'error',
        {
          selector: "AssignmentExpression[left.property.name='innerHTML']",
          message: 'Build DOM nodes; never assign innerHTML (keyed updates, no injection).',
        },
      ],
    },
  },
  {
    // page.evaluate() callbacks run in the browser
    files: ['test/e2e/**/*.mjs'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
  },
  {
    files: ['src/webview/**/*.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['src/views/**/*.ts', 'src/common/{alerts,backoff,exportRange,historyQuery,python,settings,state}.ts', 'src/webview/**/*.ts', 'src/protocol.ts'],
    rules: {
      // View models and the webview stay free of the vscode API so they run in unit tests.
      'no-restricted-imports': ['error', { paths: ['vscode'], patterns: ['**/vscodeapi'] }],
    },
  },
);
