// typescript-eslint flat config: the recommended rules, plus the one boundary that
// keeps the language core pure (no vscode, no fs, no network).
import tseslint from 'typescript-eslint';

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
    files: ['server/src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
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
          ],
        },
      ],
    },
  },
  {
    files: ['client/src/providers/**/*.ts', 'client/src/engine/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: ['vscode'] }] },
  },
);
