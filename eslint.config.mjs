// Lint: TypeScript's recommended rules, plus the boundaries of the design as errors; for the web app also the
// rules of hooks (with React Compiler's checks), accessibility (jsx-a11y) and Next's own rules, every one an error.
import js from '@eslint/js';
import nextPlugin from '@next/eslint-plugin-next';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

const internals = {
  group: ['@aster/*/src/*', '@aster/*/src', '@aster/*/dist/*', '../../packages/*', '../../../packages/*'],
  message: "Import a package through its name and its `exports`, never its files.",
};
const database = { group: ['@aster/db', '@aster/db/*', 'pg', 'pg-boss'], message: 'Only the API reaches the database: talk to it through tRPC.' };
const apiServer = { group: ['@aster/api', '@aster/api/*', '@aster/api-server', '@aster/api-server/*'], message: 'The API is reached through its queues and endpoints, not imported.' };

/** A shared config's rules with every warning made an error: the web app's lint passes or fails, nothing between. */
const asErrors = (rules) => Object.fromEntries(Object.entries(rules).map(([name, level]) => [name, level === 'warn' ? 'error' : level]));
const web = ['apps/web/**/*.{ts,tsx}'];

const restrict = (...patterns) => ({ 'no-restricted-imports': ['error', { patterns: [internals, ...patterns] }] });

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.next/**', '**/.turbo/**', '.aster/**', '**/next-env.d.ts', 'test-results/**', 'playwright-report/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', performance: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      ...restrict(),
      // Settings are read in one env.ts per app (parsed with zod at start), nowhere else.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings in this app’s env.ts only.' }],
    },
  },
  {
    files: web,
    ...jsxA11y.flatConfigs.recommended,
    rules: {
      ...asErrors(jsxA11y.flatConfigs.recommended.rules),
      // A scrolling region of text (a console's output) is focusable, so a keyboard can scroll it.
      'jsx-a11y/no-noninteractive-tabindex': ['error', { tags: [], roles: ['tabpanel', 'region'], allowExpressionValues: true }],
    },
  },
  { files: web, plugins: { 'react-hooks': reactHooks }, rules: asErrors(reactHooks.configs.flat['recommended-latest'].rules) },
  {
    files: web,
    plugins: { '@next/next': nextPlugin },
    settings: { next: { rootDir: 'apps/web/' } },
    rules: asErrors(nextPlugin.configs['core-web-vitals'].rules),
  },
  // web never imports the database package (nor the API's server code: types come through @aster/client).
  { files: ['apps/web/**'], rules: restrict(database, { group: ['@aster/api', '@aster/api/*', '@aster/api-server'], message: 'The web console talks to the API through @aster/client (tRPC) only.' }) },
  // the command line is a client of the API like any script: @aster/client only.
  { files: ['packages/cli/src/**'], rules: restrict(database, { group: ['@aster/api', '@aster/api/*'], message: 'The aster command talks to the API through @aster/client only.' }) },
  // the agent (its package and its app) never imports the API, and reaches no tables but its queue's.
  { files: ['apps/compute-agent/**', 'packages/agent/**'], rules: restrict(apiServer, { group: ['@aster/db', '@aster/db/*'], message: 'The compute agent reaches the rest of Aster only through its queue and the image endpoint.' }) },
  // the proxy imports neither the API nor the database package.
  { files: ['apps/proxy/**', 'packages/console-proxy/src/**'], rules: restrict(apiServer, { group: ['@aster/db', '@aster/db/*'], message: 'The console proxy reads console tokens with its own query, and nothing else.' }) },
  // The one reader of the environment per app, and the places that pass it on.
  { files: ['**/src/env.ts', 'e2e/env.ts', 'scripts/**', '**/test/**', '**/*.config.{ts,mjs,js}'], rules: { 'no-restricted-properties': 'off' } },
  { files: ['scripts/**/*.mjs'], languageOptions: { globals: { process: 'readonly', NodeJS: 'readonly' } } },
);
