// ESLint over src, test, sample and bench: typescript-eslint's type-aware recommended rules, with
// Prettier owning the formatting (eslint-config-prettier turns off the rules it would fight).
// Each rule changed below says why this codebase does what the rule would forbid.
import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Node's globals, for the CommonJS scripts (child-process apps, Jest setup, ts-register). */
const nodeGlobals = Object.fromEntries(
  [
    'require',
    'module',
    'exports',
    '__dirname',
    '__filename',
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'fetch',
  ].map((name) => [name, 'readonly']),
);
/** The browser globals sample/public/app.js uses (the official client arrives as `window.signalR`). */
const browserGlobals = Object.fromEntries(
  ['window', 'document', 'location', 'localStorage', 'fetch', 'console', 'setTimeout', 'clearTimeout', 'signalR', 'URL'].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  // test/consumer holds the smoke test's apps: their own package and tsconfigs, type-checked there (.ci/consumer-smoke.sh).
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'test/consumer/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Every TypeScript file belongs to one of these programs (bench and the conformance server have their own).
        project: ['./tsconfig.json', './bench/tsconfig.json', './bench/typed-proxy.tsconfig.json', './test/conformance/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // A leading underscore marks a parameter or binding kept for its position or its type (interface signatures, `[_, value]`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Optional peers (passport, ioredis) and alternate client versions load lazily with require(), so a missing package fails only where used.
      '@typescript-eslint/no-require-imports': 'off',
      // Hub methods are async generators to be streams, stores are async to stand for a database: async without await is their contract.
      '@typescript-eslint/require-await': 'off',
      // Class and method references are typed `Function`, as Nest's reflection (Reflector, ModuleRef, metadata keys) takes them.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // Rejecting with a caught error passes it on exactly as it was thrown (an encoder's error reaches the awaiting caller).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
    },
  },
  {
    files: ['src/client/typed-connection.ts', 'src/clients/*.ts', 'src/decorators/hub.decorator.ts', 'src/testing/hub-test-client.ts'],
    rules: {
      // Type-level `any` only: `(...args: any[]) => R` matches every method and handler (`unknown[]` would refuse typed parameters), and `TClient = any` is the untyped client IsUntypedClient detects.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // Tests and benchmarks read decoded wire frames, JSON bodies and client internals as `any` on purpose; assertions check them.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Tests pass methods as references to spy on or compare them (`expect(hub.method)`), never to call them unbound.
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { sourceType: 'commonjs', globals: nodeGlobals },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  { files: ['sample/public/**/*.js'], languageOptions: { sourceType: 'script', globals: browserGlobals } },
  prettier,
);
