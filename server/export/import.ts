/**
 * Import of an exported model as the starting point of a new run (`model.init: {from: <file>}`):
 *   - a TF.js Layers `model.json` written by Growth Lab (its userDefinedMetadata holds our spec; the
 *     weights are read from its weight files and mapped back to our layouts exactly), or
 *   - a Growth Lab `architecture.json`: with `weights` (the PyTorch export) the weights come from that
 *     `.npz` (e.g. after training further in PyTorch); without, the architecture starts from a fresh
 *     seeded initialisation.
 * Every file a model.json or architecture.json names is resolved inside its folder.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ACTIVATIONS } from '../../common/protocol';
import { GrowableModel } from '../model/growable';
import { LayerSpec, ModelSpec, allParamShapes, flatSize, layerShapes } from '../model/spec';
import { ARCHITECTURE_FORMAT } from './architecture';
import { ExportError, resolveInside } from './files';
import { decodeNpz } from './npz';
import { torchPlan } from './pytorch';
import { TFJS_METADATA_KEY, kerasPlan } from './tfjs';

export interface ImportedModel {
  spec: ModelSpec;
  /** Weights and batch-norm statistics by our names; undefined: architecture only (initialise fresh). */
  tensors: Map<string, Float32Array> | undefined;
  /** The file imported (absolute). */
  file: string;
  kind: 'tfjs' | 'architecture';
  /** The run the model was exported from, when recorded. */
  runId?: string;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1 << 24;

function bad(file: string, msg: string): ExportError {
  return new ExportError(`cannot import ${file}: ${msg}`, 'unsupported');
}

/** NaN or ±Infinity in imported weights would only surface later as a diverging loss: refuse them here, naming the tensor. */
function refuseNonFinite(file: string, name: string, t: Float32Array): void {
  for (let i = 0; i < t.length; i++) {
    if (!Number.isFinite(t[i]))
      throw bad(file, `weight ${name} has a non-finite value (${t[i]}) at index ${i}; NaN and Infinity weights cannot be imported`);
  }
}

/** Checks a spec read from a file (untrusted) and returns it in our form. */
export function checkImportedSpec(raw: unknown, file: string): ModelSpec {
  if (!isObj(raw)) throw bad(file, 'the model spec is missing');
  const inputShape = raw.inputShape;
  if (!Array.isArray(inputShape) || (inputShape.length !== 1 && inputShape.length !== 3) || !inputShape.every(posInt)) {
    throw bad(file, `spec.inputShape must be [F] or [C, H, W] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const task = raw.task;
  if (task !== 'classification' && task !== 'regression')
    throw bad(file, `spec.task must be classification or regression, got ${JSON.stringify(task)}`);
  const output = raw.output;
  if (!isObj(output) || !posInt(output.units)) throw bad(file, 'spec.output.units must be a positive integer');
  if (!Array.isArray(raw.layers)) throw bad(file, 'spec.layers must be an array');
  const ids = new Set<string>();
  const act = (v: unknown, where: string) => {
    if (!(ACTIVATIONS as readonly unknown[]).includes(v))
      throw bad(file, `${where}.activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(v)}`);
  };
  const int = (v: unknown, where: string) => {
    if (!posInt(v)) throw bad(file, `${where} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  const block = (v: unknown, where: string): { block?: string } => {
    if (v === undefined) return {};
    if (typeof v !== 'string' || v.length > 64) throw bad(file, `${where}.block must be a string of at most 64 characters`);
    return { block: v };
  };
  const layers = raw.layers.map((l, i): LayerSpec => {
    const where = `spec.layers[${i}]`;
    if (!isObj(l)) throw bad(file, `${where} must be an object`);
    if (typeof l.id !== 'string' || !/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(l.id) || l.id === 'output')
      throw bad(file, `${where}.id ${JSON.stringify(l.id)} is not a usable layer id`);
    if (ids.has(l.id)) throw bad(file, `layer id ${l.id} is used twice`);
    ids.add(l.id);
    switch (l.type) {
      case 'dense':
        int(l.units, `${where}.units`);
        act(l.activation, where);
        return { id: l.id, type: 'dense', units: l.units as number, activation: l.activation as never };
      case 'conv2d':
        int(l.filters, `${where}.filters`);
        int(l.kernelSize, `${where}.kernelSize`);
        int(l.stride, `${where}.stride`);
        act(l.activation, where);
        if (l.padding !== 'same' && l.padding !== 'valid') throw bad(file, `${where}.padding must be same or valid`);
        if (l.groups !== undefined) int(l.groups, `${where}.groups`);
        if (l.batchNorm !== undefined && typeof l.batchNorm !== 'boolean') throw bad(file, `${where}.batchNorm must be true or false`);
        return {
          id: l.id,
          type: 'conv2d',
          filters: l.filters as number,
          kernelSize: l.kernelSize as number,
          stride: l.stride as number,
          padding: l.padding,
          activation: l.activation as never,
          ...(l.groups !== undefined ? { groups: l.groups as number } : {}),
          ...(l.batchNorm ? { batchNorm: true } : {}),
          ...block(l.block, where),
        };
      case 'maxpool':
      case 'avgpool':
        int(l.size, `${where}.size`);
        return { id: l.id, type: l.type, size: l.size as number };
      case 'globalavgpool':
      case 'flatten':
        return { id: l.id, type: l.type };
      case 'batchnorm':
        if (typeof l.momentum !== 'number' || !(l.momentum >= 0 && l.momentum < 1)) throw bad(file, `${where}.momentum must be in [0, 1)`);
        if (typeof l.epsilon !== 'number' || !(l.epsilon > 0)) throw bad(file, `${where}.epsilon must be > 0`);
        return { id: l.id, type: 'batchnorm', momentum: l.momentum, epsilon: l.epsilon };
      case 'residual':
        int(l.units, `${where}.units`);
        act(l.activation, where);
        return { id: l.id, type: 'residual', units: l.units as number, activation: l.activation as never };
      case 'resblock':
        int(l.filters, `${where}.filters`);
        int(l.stride, `${where}.stride`);
        if (l.units !== undefined) int(l.units, `${where}.units`);
        return {
          id: l.id,
          type: 'resblock',
          filters: l.filters as number,
          stride: l.stride as number,
          ...(l.units !== undefined ? { units: l.units as number } : {}),
          ...block(l.block, where),
        };
      default:
        throw bad(file, `${where}.type ${JSON.stringify(l.type)} is not a layer type Growth Lab knows`);
    }
  });
  const spec: ModelSpec = {
    inputShape: [...(inputShape as number[])],
    task,
    layers,
    output: { id: 'output', units: output.units as number },
    init: raw.init === 'glorot' ? 'glorot' : 'he',
  };
  try {
    layerShapes(spec);
  } catch (e) {
    throw bad(file, (e as Error).message);
  }
  return spec;
}

/** The largest model.json / architecture.json read (bytes); the weights live in their own files. */
export const MAX_IMPORT_JSON_BYTES = 64 * 1024 * 1024;

/**
 * The bytes of `target`, which must be a regular file (not a device, FIFO or socket; with `noFollow`,
 * not a symbolic link either) of at most `maxBytes`: checked on the open descriptor before anything is
 * read, so /dev/zero or a FIFO is refused instead of read forever or blocking the backend.
 */
function readRegular(target: string, maxBytes: number, what: string, file: string, noFollow: boolean): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(target, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (noFollow ? (fs.constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw bad(file, `${what} ${target} is a symbolic link; only regular files are read`);
    const why = code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message);
    throw bad(file, target === file ? why : `cannot read ${what} ${target}: ${why}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw bad(file, `${what} ${target} is not a regular file (a device, FIFO or socket is never read)`);
    if (st.size > maxBytes) throw bad(file, `${what} ${target} is ${st.size} bytes, more than the ${maxBytes} it can hold`);
    const out = Buffer.alloc(st.size);
    let got = 0;
    while (got < st.size) {
      const n = fs.readSync(fd, out, got, st.size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === st.size ? out : out.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** The size of `target` if it is a regular file (not followed if a symbolic link), without reading it. */
function regularFileSize(target: string, what: string, file: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw bad(file, `cannot read ${what} ${target}: ${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)}`);
  }
  if (st.isSymbolicLink()) throw bad(file, `${what} ${target} is a symbolic link; only regular files are read`);
  if (!st.isFile()) throw bad(file, `${what} ${target} is not a regular file (a device, FIFO or socket is never read)`);
  return st.size;
}

function targetIn(dir: string, rel: unknown, file: string, what: string): string {
  if (typeof rel !== 'string') throw bad(file, `${what} must be a file name`);
  try {
    return resolveInside(dir, rel, what);
  } catch (e) {
    throw bad(file, (e as Error).message);
  }
}

function readFileIn(dir: string, rel: unknown, file: string, what: string, maxBytes: number): Buffer {
  return readRegular(targetIn(dir, rel, file, what), maxBytes, what, file, true);
}

/** Elements of a declared shape (untrusted): a list of non-negative integers, else an error. */
function declaredSize(shape: unknown, name: string, file: string): number {
  if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw bad(file, `weight ${name} has no usable shape`);
  return (shape as number[]).reduce((a, b) => a * b, 1);
}

function importTfjs(json: Record<string, unknown>, file: string): ImportedModel {
  const meta = isObj(json.userDefinedMetadata) ? json.userDefinedMetadata[TFJS_METADATA_KEY] : undefined;
  if (!isObj(meta)) {
    throw bad(
      file,
      'this TF.js model was not exported by Growth Lab (model.json has no userDefinedMetadata.growthLab); export it from Growth Lab, or describe it in an architecture.json',
    );
  }
  const spec = checkImportedSpec(meta.spec, file);
  const plan = kerasPlan(spec);
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw bad(file, 'weightsManifest is missing');
  const dir = path.dirname(file);
  // Before any weight byte is read: every shard is listed once, is a regular file, the shards of a group
  // hold exactly the bytes its weights declare, and all of it is no more than the model needs. A manifest
  // listing one shard many times, or declaring more than its files hold, is refused here, not allocated.
  const needed = plan.weights.reduce((a, kw) => a + flatSize(kw.shape) * 4, 0);
  const seen = new Set<string>();
  const groups: { targets: string[]; weights: Record<string, unknown>[] }[] = [];
  let declaredTotal = 0;
  for (const group of manifest) {
    if (!isObj(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw bad(file, 'weightsManifest entries need paths and weights');
    const targets = group.paths.map((p) => targetIn(dir, p, file, 'weight file'));
    for (const t of targets) {
      if (seen.has(t)) throw bad(file, `weight file ${path.relative(dir, t)} is listed more than once in weightsManifest`);
      seen.add(t);
    }
    let declared = 0;
    for (const w of group.weights) {
      if (!isObj(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) throw bad(file, 'a weight entry needs name and shape');
      declared += declaredSize(w.shape, w.name, file) * 4;
    }
    declaredTotal += declared;
    if (declaredTotal > needed) throw bad(file, `weightsManifest declares more than the ${needed} bytes of weights the model needs`);
    const sizes = targets.map((t) => regularFileSize(t, 'weight file', file));
    const held = sizes.reduce((a, b) => a + b, 0);
    if (held !== declared)
      throw bad(
        file,
        `the weight files ${targets.map((t) => path.relative(dir, t)).join(', ')} hold ${held} bytes, the weights declare ${declared}`,
      );
    groups.push({ targets, weights: group.weights as Record<string, unknown>[] });
  }
  const byName = new Map<string, Float32Array>();
  for (const group of groups) {
    const data = Buffer.concat(group.targets.map((t) => readRegular(t, needed, 'weight file', file, true)));
    let offset = 0;
    for (const w of group.weights) {
      if (w.quantization !== undefined) throw bad(file, `weight ${w.name} is quantized; export without quantization`);
      if (w.dtype !== 'float32') throw bad(file, `weight ${w.name} is ${w.dtype}; only float32 weights can be imported`);
      const n = flatSize(w.shape as number[]);
      if (offset + n * 4 > data.length) throw bad(file, `the weight files are too short for ${w.name}`);
      byName.set(w.name as string, new Float32Array(new Uint8Array(data.subarray(offset, offset + n * 4)).buffer));
      offset += n * 4;
    }
  }
  const tensors = new Map<string, Float32Array>();
  for (const kw of plan.weights) {
    const t = byName.get(kw.name);
    if (!t) throw bad(file, `weight ${kw.name} is missing`);
    if (t.length !== flatSize(kw.shape))
      throw bad(file, `weight ${kw.name} has ${t.length} values, needs ${flatSize(kw.shape)} [${kw.shape.join(', ')}]`);
    refuseNonFinite(file, kw.name, t);
    tensors.set(kw.ours, kw.fromKeras(t));
  }
  return { spec, tensors, file, kind: 'tfjs', runId: typeof meta.runId === 'string' ? meta.runId : undefined };
}

function importArchitecture(json: Record<string, unknown>, file: string): ImportedModel {
  const spec = checkImportedSpec(json.spec, file);
  const runId = typeof json.runId === 'string' ? json.runId : undefined;
  if (json.weights === null || json.weights === undefined) return { spec, tensors: undefined, file, kind: 'architecture', runId };
  const w = json.weights;
  if (!isObj(w) || w.layout !== 'pytorch-state-dict') throw bad(file, 'weights must be {file, layout: "pytorch-state-dict"} or null');
  // The .npz holds the plan's arrays (int64 at most 8 bytes a value) plus a header and ZIP records for
  // each: a file larger than that is not these weights and is refused before it is read.
  const plan = torchPlan(spec);
  const maxBytes = plan.reduce((a, tw) => a + flatSize(tw.shape) * 8 + 1024, 64 * 1024);
  const arrays = decodeNpz(readFileIn(path.dirname(file), w.file, file, 'weights file', maxBytes), String(w.file));
  const tensors = new Map<string, Float32Array>();
  for (const tw of plan) {
    if (!tw.ours) continue;
    const a = arrays.get(tw.key);
    if (!a) throw bad(file, `${w.file} has no array ${tw.key}`);
    if (a.dtype !== 'float32' || a.shape.join(',') !== tw.shape.join(',')) {
      throw bad(file, `${w.file}: ${tw.key} is ${a.dtype} [${a.shape.join(', ')}], needs float32 [${tw.shape.join(', ')}]`);
    }
    refuseNonFinite(file, `${w.file}: ${tw.key}`, a.data);
    tensors.set(tw.ours, tw.fromTorch(a.data));
  }
  return { spec, tensors, file, kind: 'architecture', runId };
}

/** Reads an exported model (see the module comment); `file` is resolved against `baseDir`. */
export function importModel(file: string, baseDir = process.cwd()): ImportedModel {
  const abs = path.resolve(baseDir, file);
  const text = readRegular(abs, MAX_IMPORT_JSON_BYTES, 'model file', abs, false).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw bad(abs, 'not valid JSON (expected a TF.js model.json or a Growth Lab architecture.json)');
  }
  if (!isObj(json)) throw bad(abs, 'not a JSON object');
  if (json.modelTopology !== undefined) return importTfjs(json, abs);
  if (json.format === ARCHITECTURE_FORMAT) return importArchitecture(json, abs);
  throw bad(abs, 'expected a TF.js model.json (with modelTopology) or a Growth Lab architecture.json (format "growth-lab-architecture")');
}

/**
 * Checks the imported model against the dataset (input shape, number of outputs) with a clear error,
 * and returns its spec with the dataset's task.
 */
export function fitImportToData(m: ImportedModel, data: { inputShape: number[]; outputs: number; task: ModelSpec['task'] }): ModelSpec {
  const problems: string[] = [];
  if (m.spec.inputShape.join(',') !== data.inputShape.join(',')) {
    problems.push(`it takes inputs of shape [${m.spec.inputShape.join(', ')}], the dataset has [${data.inputShape.join(', ')}]`);
  }
  if (m.spec.output.units !== data.outputs) {
    problems.push(`it has ${m.spec.output.units} output${m.spec.output.units === 1 ? '' : 's'}, the dataset needs ${data.outputs}`);
  }
  if (problems.length) throw new ExportError(`model.init.from ${m.file} does not fit the dataset: ${problems.join('; ')}`, 'unsupported');
  return { ...structuredClone(m.spec), task: data.task };
}

/** A GrowableModel holding the imported weights (fresh optimiser state), or a fresh one for an architecture only. */
export function modelFromImport(
  spec: ModelSpec,
  tensors: Map<string, Float32Array> | undefined,
  seed: number,
  slotNames: string[],
): GrowableModel {
  if (!tensors) return GrowableModel.create(spec, seed, slotNames);
  const all: Record<string, Float32Array> = {};
  for (const p of allParamShapes(spec)) {
    const t = tensors.get(p.name);
    if (!t || t.length !== flatSize(p.shape))
      throw new ExportError(`imported model: tensor ${p.name} is missing or has the wrong size`, 'unsupported');
    all[p.name] = Float32Array.from(t);
    if (p.trainable) for (const s of slotNames) all[`slot:${s}:${p.name}`] = new Float32Array(t.length);
  }
  return GrowableModel.fromCheckpoint({ meta: { spec: structuredClone(spec), slotNames, version: 0 }, tensors: all });
}
