import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'cdk.out/', '.touchloop/', 'coverage/', 'console/dist/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', fetch: 'readonly' },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      // A named `z` is zod's whole namespace object: esbuild then keeps all 64 locale files in every bundle.
      'no-restricted-syntax': ['error', { selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > ImportSpecifier[imported.name='z']", message: "Use `import * as z from 'zod'` (a named z bundles all of zod's locales)." }],
    },
  },
  {
    // The console runs in the browser and reaches the API's code only through console/src/contracts.ts.
    files: ['console/src/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'The console runs in a browser: no Node built-ins.' },
            { group: ['@aws-sdk/*', '@middy/*', '@aws-lambda-powertools/*', 'handlebars', 'jose'], message: 'Server-only library: not in the console bundle.' },
          ],
        },
      ],
    },
  },
);
