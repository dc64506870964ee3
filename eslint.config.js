// Lint: TypeScript rules plus the architecture's import direction, which must fail loudly:
//   contract <- services <- ipc <- (main | preload | host | cli);  renderer -> contract only.
// The contract imports nothing of ours; services never import electron.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const NO_ELECTRON = { name: 'electron', message: 'Only electron/main.ts and electron/preload.ts may import electron.' };

/** Builds a no-restricted-imports rule from forbidden path patterns and a reason. */
function forbid(patterns, message, paths = []) {
  return ['error', { paths, patterns: [{ group: patterns, message }] }];
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'build/out/', 'coverage/', 'native-models/training/work/', '**/*.cjs', 'e2e/fixtures/**/planted/**', '.tmp-*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    files: ['electron/contract/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['../*', '!./*', 'electron', 'node:*'], 'The contract imports nothing of ours (only zod and its own files).', [NO_ELECTRON]) },
  },
  {
    files: ['electron/services/**/*.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/ipc', '**/ipc/**', '**/host', '**/host/**', '**/cli', '**/cli/**', '**/main', '**/preload'],
        'Services sit below ipc, host and cli: they may import the contract, other services (through their index) and Node, never upwards.',
        [NO_ELECTRON],
      ),
    },
  },
  {
    files: ['electron/ipc/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['**/host', '**/host/**', '**/cli', '**/cli/**', '**/main', '**/preload'], 'ipc may import services and the contract, not the transports above it.', [NO_ELECTRON]) },
  },
  {
    files: ['electron/host/**/*.ts', 'electron/cli/**/*.ts'],
    rules: { 'no-restricted-imports': forbid(['**/main', '**/preload'], 'Transports do not import each other’s entry points.', [NO_ELECTRON]) },
  },
  {
    files: ['renderer/**/*.ts', 'renderer/**/*.tsx'],
    ignores: ['renderer/vite.config.ts'],
    rules: {
      'no-restricted-imports': forbid(
        ['**/electron/**', '!@contract/*', 'node:*', 'fs', 'path', 'child_process', 'electron'],
        'The renderer may import only the contract (as @contract/...), never main-process code or Node.',
      ),
    },
  },
);
