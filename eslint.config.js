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

const TESTING = ['**/testing', '**/testing/**'];
const TEST_SUPPORT_MSG = 'Test support (electron/testing/) is for tests and the bench only.';

/**
 * One layer's import rule, twice: for its product code, which may not import test support
 * either, and for its tests (and the bench, `allowTesting`), which may. In flat config the last
 * block that sets a rule wins, hence one block each instead of an override.
 */
function layer(files, patterns, message, { allowTesting = [], productOnly = [] } = {}) {
  const tests = files.map((f) => f.replace(/\*\.ts$/, '*.test.ts'));
  return [
    { files, ignores: [...tests, ...allowTesting], rules: { 'no-restricted-imports': forbid([...patterns, ...productOnly, ...TESTING], `${message} ${TEST_SUPPORT_MSG}`, [NO_ELECTRON]) } },
    { files: [...tests, ...allowTesting], rules: { 'no-restricted-imports': forbid(patterns, message, [NO_ELECTRON]) } },
  ];
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
  ...layer(['electron/services/**/*.ts'],
    ['**/ipc', '**/ipc/**', '**/host', '**/host/**', '**/cli', '**/cli/**', '**/main', '**/preload'],
    'Services sit below ipc, host and cli: they may import the contract, other services (through their index) and Node, never upwards.'),
  ...layer(['electron/ipc/**/*.ts'], ['**/host', '**/host/**', '**/cli', '**/cli/**', '**/main', '**/preload'], 'ipc may import services and the contract, not the transports above it.'),
  // The handler files and the composition root share their types through ipc/workstation-types.ts:
  // a handler never imports the composition root that imports it.
  ...layer(['electron/ipc/handlers/**/*.ts'], ['**/host', '**/host/**', '**/cli', '**/cli/**', '**/main', '**/preload'],
    'Handlers may import services and the contract, and take their types from ../workstation-types, never from the composition root (compose.ts) or the transports.',
    { productOnly: ['../compose', '**/ipc/compose'] }),
  ...layer(['electron/host/**/*.ts', 'electron/cli/**/*.ts'], ['**/main', '**/preload'], 'Transports do not import each other’s entry points.', { allowTesting: ['electron/cli/bench/**'] }),
  { files: ['electron/testing/**/*.ts'], rules: { 'no-restricted-imports': forbid(['**/main', '**/preload'], 'Test support runs in Node: no Electron entry points.', [NO_ELECTRON]) } },
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
