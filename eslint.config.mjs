// Lints TypeScript and enforces the three-world boundaries from the architecture:
//   src/core   imports neither 'vscode' nor the host, the webview or the protocol's consumers;
//   src/host   never imports the webview;
//   webview/   imports only the protocol and plain data types, never 'vscode', core internals or Node;
//   src/shared imports nothing (neither environment nor project), so all three may use it.
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: "src/core must stay VS Code-free." };

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', '.cache/**', 'src/core/generated/**', 'test-results/**', '**/*.js', '**/*.mjs', '**/*.cjs'],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[property.name='innerHTML']", message: 'Render model strings as text (textContent), never innerHTML.' },
        { selector: "MemberExpression[property.name='outerHTML']", message: 'Render model strings as text, never outerHTML.' },
        { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: 'Render model strings as text.' },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [noVscode],
        patterns: [
          { group: ['**/host/**', '**/host'], message: 'src/core must not import the extension host.' },
          { group: ['**/webview/**', '**/webview'], message: 'src/core must not import the webview.' },
          { group: ['**/protocol', '**/protocol.ts'], message: 'src/core must not depend on the host<->webview protocol.' },
        ],
      }],
    },
  },
  {
    files: ['src/host/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/webview/**', '**/webview'], message: 'The host talks to the webview only through src/protocol.ts.' }],
      }],
    },
  },
  {
    files: ['webview/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: "The webview has no 'vscode' module; use acquireVsCodeApi via webview/vscodeApi.ts." }],
        patterns: [
          { group: ['**/src/host/**', '**/host/**'], message: 'The webview must not import the extension host.' },
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'], message: 'The webview runs in a browser: no Node modules.' },
          // The protocol owns every data type the webview sees; core is never imported directly.
          { group: ['**/src/core/**', '**/core/**'], message: 'The webview imports data types from src/protocol.ts, never from core.' },
        ],
      }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Code every world imports (core, host, webview): plain TypeScript, no environment.
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [{ name: 'vscode', message: 'src/shared is imported by core and the webview: no vscode.' }],
        patterns: [
          { group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'], message: 'src/shared also runs in the webview: no Node modules.' },
          { group: ['**/core/**', '**/host/**', '**/webview/**', '**/protocol', '**/protocol.ts'], message: 'src/shared depends on nothing else in the project.' },
        ],
      }],
    },
  },
  {
    files: ['src/protocol.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'vscode', message: 'The protocol is shared with the webview.' }] }],
    },
  },
);
