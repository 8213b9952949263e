// ESLint flat config: typescript-eslint's recommended rules over lib/, test/, examples/,
// bench/ and compliance/, plus the layering rule of shared/design.md: the sans-I/O core
// (everything in lib/ outside lib/stream/ and lib/web/) imports no I/O, timers or event emitters;
// lib/web/ builds on lib/stream/.
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
    ignores: ['lib/stream/**', 'lib/web/**', 'lib/index.ts'],
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
  {
    // lib/web/ (the WHATWG WebSocket APIs) sits above the Duplex: it builds on lib/stream/
    // and speaks promises, but reaches sockets only through lib/stream/.
    files: ['lib/web/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.flatMap((m) => [
            { name: m, message: 'lib/web/ reaches the network through lib/stream/ only' },
            { name: `node:${m}`, message: 'lib/web/ reaches the network through lib/stream/ only' },
          ]),
        },
      ],
    },
  },
  {
    // Page scripts written for browsers (examples/browser-code/client.js): a classic script,
    // whose top-level functions are what it gives the page.
    files: ['examples/**/*.js'],
    languageOptions: { sourceType: 'script' },
    rules: { '@typescript-eslint/no-unused-vars': ['error', { vars: 'local', argsIgnorePattern: '^_' }] },
  },
);
