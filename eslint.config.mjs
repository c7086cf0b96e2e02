// Lint rules for the TypeScript rooms. Formatting is prettier's job; these catch mistakes, not style.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { posix } from 'node:path';

// One-way imports between rooms (README, "Architecture"): each room lists the repository folders it must not
// import. Relative import strings depend on the importing file's depth, so one rule per depth is generated.
const ROOTS = ['common', 'kernel', 'extension', 'media', 'tools', 'bench', 'test'];
const ROOMS = {
  common: { forbid: ROOTS.filter((r) => r !== 'common'), packages: ['vscode', 'onnxruntime-node'] },
  'kernel/codecs': {
    forbid: [
      'kernel/engine',
      'kernel/jupyter',
      'kernel/prompt',
      'kernel/cli',
      'extension',
      'media',
      'tools',
      'bench',
      'test',
    ],
    packages: ['vscode'],
  },
  'kernel/engine': {
    forbid: ['kernel/jupyter', 'kernel/prompt', 'kernel/cli', 'extension', 'media', 'tools', 'bench', 'test'],
    packages: ['vscode'],
  },
  'kernel/prompt': {
    forbid: [
      'kernel/engine',
      'kernel/codecs',
      'kernel/jupyter',
      'kernel/cli',
      'extension',
      'media',
      'tools',
      'bench',
      'test',
    ],
    packages: ['vscode', 'onnxruntime-node'],
  },
  'kernel/jupyter': {
    forbid: ['kernel/cli', 'extension', 'media', 'tools', 'bench', 'test'],
    packages: ['vscode', 'onnxruntime-node'],
  },
  'kernel/cli': { forbid: ['extension', 'media', 'tools', 'bench', 'test'], packages: ['vscode'] },
  extension: { forbid: ['kernel', 'media', 'tools', 'bench', 'test'], packages: ['onnxruntime-node'] },
  media: { forbid: ['kernel', 'extension', 'tools', 'bench', 'test'], packages: ['vscode', 'onnxruntime-node'] },
};
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const roomRules = Object.entries(ROOMS).flatMap(([room, { forbid, packages }]) =>
  [0, 1, 2, 3].map((depth) => {
    const dir = posix.join(room, ...Array(depth).fill('x'));
    const rel = forbid.map((t) => escape(posix.relative(dir, t)));
    return {
      files: [`${room}/${'*/'.repeat(depth)}*.ts`],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            paths: packages.map((name) => ({
              name,
              message: `${room} must not import ${name} (README, "Architecture")`,
            })),
            patterns: [
              {
                regex: `^(${rel.join('|')})(/|$)`,
                message: `imports flow one way: ${room} must not import ${forbid.join(', ')} (README, "Architecture")`,
              },
            ],
          },
        ],
      },
    };
  }),
);

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'out/',
      '.cache/',
      'test-output/',
      'models/',
      'test/fixtures/',
      'tools/nano/work/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        structuredClone: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        WebAssembly: 'readonly',
        __dirname: 'readonly',
        require: 'readonly',
        module: 'writable',
        globalThis: 'readonly',
        fetch: 'readonly',
        document: 'readonly',
        window: 'readonly',
        navigator: 'readonly',
        atob: 'readonly',
        btoa: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      'no-sequences': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...roomRules,
  {
    // Tests edit arbitrary JSON (manifests, tokenizer files) to break them on purpose.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The E2E drivers are CommonJS scripts loaded by code-server's extension host and by node.
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { exports: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
