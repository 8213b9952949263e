// ESLint flat config: typescript-eslint's recommended rules over lib/, test/, examples/,
// bench/ and compliance/, plus the layering rule of shared/design.md: the sans-I/O core
// (everything in lib/ outside lib/stream/) imports no I/O, timers or event emitters.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'net',
  'tls',
  'http',
  'https',
  'http2',
  'stream',
  'events',
  'timers',
  'dgram',
  'fs',
  'child_process',
];

export default tseslint.config(
  { ignores: ['dist/', '.benchdist/', 'docs/api/', 'node_modules/', 'coverage/', 'scripts/*.js', 'eslint.config.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  {
    files: ['lib/**/*.ts'],
    ignores: ['lib/stream/**', 'lib/index.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.flatMap((m) => [
            { name: m, message: 'the sans-I/O core does no I/O: only lib/stream/ may import this' },
            { name: `node:${m}`, message: 'the sans-I/O core does no I/O: only lib/stream/ may import this' },
          ]),
          patterns: [{ group: ['**/stream/*', 'readable-stream'], message: 'lower layers never import lib/stream/' }],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Promise'],
    },
  },
);
