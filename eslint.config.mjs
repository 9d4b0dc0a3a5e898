// typescript-eslint flat config: the recommended rules, plus the one boundary that
// keeps the language core pure (no vscode, no fs, no network).
import tseslint from 'typescript-eslint';

// Classic zod's `z` namespace defeats tree shaking (~440 KB in each bundle); zod/mini's
// functions shake down to what is used. Flat config replaces a rule's options per block, so
// every block below that sets no-restricted-imports repeats these entries.
const zodImports = ['zod', 'zod/v4', 'zod/v3'].map((name) => ({
  name,
  message:
    "Import from 'zod/mini' instead: classic zod cannot be tree-shaken (~440 KB per bundle).",
}));

// Arrows point down only: client/ (the VS Code layer) may import server/, never the reverse.
const clientImports = ['**/client/**', '../client/*'];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.vscode-real/**',
      'test-results/**',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    rules: {
      'no-restricted-imports': ['error', { paths: zodImports }],
      // no-restricted-imports cannot forbid the named `z` export without also forbidding
      // `import * as z`, so that one is matched by syntax.
      'no-restricted-syntax': [
        'error',
        {
          selector:
            "ImportDeclaration[source.value='zod/mini'] > ImportSpecifier[imported.name='z']",
          message:
            "Use `import * as z from 'zod/mini'`: the `z` export keeps all of zod/mini (~430 KB per bundle).",
        },
      ],
    },
  },
  {
    files: ['server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: zodImports,
          patterns: [
            'vscode',
            'vscode-languageserver',
            'node:*',
            'fs',
            'path',
            'http',
            'https',
            'child_process',
            'net',
            ...clientImports,
          ],
        },
      ],
    },
  },
  {
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: ['vscode', ...zodImports], patterns: clientImports },
      ],
    },
  },
);
