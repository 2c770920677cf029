// The walls between the project's parts, enforced on every import.
//
//   common/     shared protocol and pure maths: imports only common/, no Node, no DOM, no 'vscode'
//   server/engine/  the engine: imports nothing outside server/engine/ (not even common/)
//   server/     the backend (Node): never extension/ or webview/; growth/ never training/
//   extension/  the VS Code client: the only part that imports 'vscode'; never webview/
//   webview/    the browser UI: never server/, extension/, 'vscode' or Node built-ins
//   test/, scripts/  may import any part (but not 'vscode' outside test/electron/)
//
// Plus: no import cycles anywhere, and a few correctness rules. Style is not linted here.
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const vscodeOnlyInExtension = {
  name: 'vscode',
  message: "Only extension/ may import 'vscode' (the VS Code API); share code through common/ instead.",
};

/** A zone of import-x/no-restricted-paths: files under `target` may not import from `from` (except `except`, relative to `from`). */
const zone = (target, from, message, except) => ({ target, from, message, ...(except ? { except } : {}) });

export default tseslint.config(
  {
    ignores: ['node_modules/**', '.cache/**', 'dist/**', 'out/**', '.vscode-test/**', '.growth-lab/**', 'test-results/**', '**/*.d.ts'],
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.mjs'],
    languageOptions: {
      parser: tseslint.parser,
      ecmaVersion: 2022,
      sourceType: 'module',
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: {
      'import-x': importX,
      '@typescript-eslint': tseslint.plugin,
    },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true, project: './tsconfig.json' })],
      'import-x/extensions': ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.json'],
    },
    rules: {
      // ── structure ──
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: import.meta.dirname,
          zones: [
            zone(
              './server/engine',
              './server',
              "The engine imports nothing outside server/engine/; the server maps its own types onto the engine's.",
              ['./engine'],
            ),
            zone(
              './server/engine',
              ['./common', './extension', './webview', './test', './scripts'],
              'The engine imports nothing outside server/engine/; the server maps between the protocol and the engine.',
            ),
            zone(
              './server/growth',
              './server/training',
              'Growth sits below training: server/growth/ must not import server/training/ (shared pieces live in server/trainer/).',
            ),
            zone(
              './server',
              ['./extension', './webview'],
              'The backend never imports the VS Code client or the webview; share code through common/.',
            ),
            zone(
              './extension',
              './webview',
              'The extension never imports the webview (it only loads its bundle); share code through common/.',
            ),
            zone(
              './webview',
              ['./server', './extension'],
              'The webview (browser) never imports the backend or the extension; share code through common/.',
            ),
            zone('./common', ['./server', './extension', './webview', './test', './scripts'], 'common/ imports only common/.'),
          ],
        },
      ],
      'no-restricted-imports': ['error', { paths: [vscodeOnlyInExtension] }],

      // ── a few correctness rules ──
      'no-debugger': 'error',
      'no-dupe-keys': 'error',
      'no-dupe-else-if': 'error',
      'no-duplicate-case': 'error',
      'no-self-assign': 'error',
      'no-self-compare': 'error',
      'no-unsafe-finally': 'error',
      'no-unreachable': 'error',
      'no-constant-binary-expression': 'error',
      'no-sparse-arrays': 'error',
      'use-isnan': 'error',
      'valid-typeof': 'error',
      'no-cond-assign': ['error', 'except-parens'],
      'no-async-promise-executor': 'error',
      'no-compare-neg-zero': 'error',
      '@typescript-eslint/no-unsafe-declaration-merging': 'error',
      '@typescript-eslint/no-misused-new': 'error',
    },
  },
  {
    // Node built-ins are off limits where there is no Node: the shared code and the browser.
    files: ['common/**', 'webview/**'],
    rules: {
      'import-x/no-nodejs-modules': 'error',
    },
  },
  {
    // common/ runs in every part (backend, extension host, browser): it imports common/ and nothing else, no package either.
    files: ['common/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [vscodeOnlyInExtension],
          patterns: [
            {
              regex: '^[^.]',
              message: 'common/ imports only common/ (no packages): it runs in the backend, the extension host and the browser alike.',
            },
          ],
        },
      ],
    },
  },
  {
    // The one exception for 'vscode': the extension, and the test suite that runs inside VS Code.
    files: ['extension/**', 'test/electron/**'],
    rules: {
      'no-restricted-imports': 'off',
    },
  },
);
