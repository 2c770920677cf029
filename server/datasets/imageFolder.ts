/**
 * The `image-folder` dataset: `root/<class>/*.png|jpg|jpeg|webp`, classes sorted by folder name
 * (code-unit order), images in file-name order. The test set is `root/test/<class>/...` when that
 * folder exists (the training classes then come from `root/train/` when it exists, else from the
 * other folders of `root`), otherwise a seeded `testFraction` split. Every image is decoded by
 * sharp (libvips; prebuilt binaries from npm, no build step), resized so its shorter side is `size`
 * and centre-cropped to size x size, with `channels` 1 (grey) or 3 (sRGB, alpha dropped), into
 * one byte array [N, C, size, size].
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import type sharpFunction from 'sharp';
import type { DatasetConfig } from '../../common/protocol';
import { quoted } from '../messages';
import { cachedLoad, statSignature } from './cache';
import { DatasetError } from './errors';
import { datasetPath, isFolder } from './folders';
import { checkSplitSize, sharedBytes, type ImageRows } from './imageSplits';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];
export const DEFAULT_IMAGE_SIZE = 32;
/** Limits: classes, images, bytes of one image file, pixels of one decoded image. */
export const IMAGE_FOLDER_LIMITS = { classes: 10_000, images: 2_000_000, fileBytes: 64 * 2 ** 20, inputPixels: 10_000 * 10_000 };
const DECODE_CONCURRENCY = 4;

export interface ImageFolderRaw {
  root: string;
  classNames: string[];
  train: ImageRows;
  test?: ImageRows;
  size: number;
  channels: 1 | 3;
  /** How the splits were found, for the description. */
  layout: string;
}

interface Listing {
  classNames: string[];
  /** Per class, its image files (absolute), sorted. */
  train: string[][];
  test?: string[][];
  layout: string;
}

const isImage = (f: string) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase());
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function subfolders(dir: string, skip: string[] = []): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && !skip.includes(e.name) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort(byName);
}

async function classImages(dir: string): Promise<string[]> {
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && isImage(e.name))
    .map((e) => e.name)
    .sort(byName);
  if (files.length === 0) {
    throw new DatasetError(`image-folder: class folder ${dir} has no images (want ${IMAGE_EXTENSIONS.join(', ')} files)`);
  }
  return files.map((f) => path.join(dir, f));
}

async function listFolder(root: string, given: string): Promise<Listing> {
  if (!(await isFolder(root))) throw new DatasetError(`image-folder: folder ${root} not found (dataset.path ${quoted(given)})`);
  const testRoot = path.join(root, 'test');
  const hasTest = await isFolder(testRoot);
  const trainRoot = hasTest && (await isFolder(path.join(root, 'train'))) ? path.join(root, 'train') : root;
  const classNames = await subfolders(trainRoot, trainRoot === root ? ['test'] : []);
  if (classNames.length === 0) {
    throw new DatasetError(
      `image-folder: ${trainRoot} has no class folders (want ${path.join(trainRoot, '<class>', '*.png')} and the like)`,
    );
  }
  if (classNames.length < 2)
    throw new DatasetError(`image-folder: ${trainRoot} has one class folder (${classNames[0]}); classification needs at least 2`);
  if (classNames.length > IMAGE_FOLDER_LIMITS.classes) {
    throw new DatasetError(
      `image-folder: ${trainRoot} has ${classNames.length} class folders, more than the ${IMAGE_FOLDER_LIMITS.classes} read here`,
    );
  }
  const train = await Promise.all(classNames.map((c) => classImages(path.join(trainRoot, c))));
  let test: string[][] | undefined;
  if (hasTest) {
    const testClasses = await subfolders(testRoot);
    const unknown = testClasses.filter((c) => !classNames.includes(c));
    if (unknown.length) {
      throw new DatasetError(
        `image-folder: ${testRoot} has class folder ${quoted(unknown[0])}, which ${trainRoot} does not have (classes: ${classNames.join(', ')})`,
      );
    }
    test = await Promise.all(classNames.map((c) => (testClasses.includes(c) ? classImages(path.join(testRoot, c)) : Promise.resolve([]))));
    if (test.every((t) => t.length === 0)) throw new DatasetError(`image-folder: ${testRoot} has no class folders`);
  }
  const total = [...train, ...(test ?? [])].reduce((a, f) => a + f.length, 0);
  if (total > IMAGE_FOLDER_LIMITS.images)
    throw new DatasetError(`image-folder: ${root} holds ${total} images, more than the ${IMAGE_FOLDER_LIMITS.images} read here`);
  const layout = hasTest ? `${trainRoot === root ? '<class>' : 'train/<class>'} and test/<class>` : '<class>';
  return { classNames, train, test, layout };
}

export async function loadImageFolderRaw(cfg: DatasetConfig, baseDir: string): Promise<ImageFolderRaw> {
  const root = datasetPath(cfg, baseDir, 'the folder with one subfolder of images per class');
  const size = cfg.size ?? DEFAULT_IMAGE_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > 1024)
    throw new DatasetError(`image-folder: size must be an integer from 1 to 1024, got ${JSON.stringify(size)}`);
  const channels = cfg.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new DatasetError(`image-folder: channels must be 1 or 3, got ${JSON.stringify(channels)}`);
  const listing = await listFolder(root, cfg.path as string);
  const files = [...listing.train.flat(), ...(listing.test ?? []).flat()];
  const key = `image-folder\0${root}\0${size}\0${channels}\0${files.length}`;
  const signature = `${files.join('\n')}\n${await statSignature(files)}`;
  return cachedLoad(key, signature, async () => {
    const train = await decodeAll(listing.train, size, channels);
    const test = listing.test ? await decodeAll(listing.test, size, channels) : undefined;
    return { root, classNames: listing.classNames, train, test, size, channels, layout: listing.layout };
  });
}

type SharpModule = typeof sharpFunction;

async function loadSharp(): Promise<SharpModule> {
  try {
    const m = (await import('sharp')) as unknown as SharpModule & { default?: SharpModule };
    return m.default ?? m;
  } catch (e) {
    throw new DatasetError(
      `image-folder: the image decoder (npm package "sharp") cannot be loaded: ${(e as Error).message.split('\n')[0]}`,
    );
  }
}

async function decodeAll(perClass: string[][], size: number, channels: 1 | 3): Promise<ImageRows> {
  const sharp = await loadSharp();
  const items = perClass.flatMap((files, label) => files.map((file) => ({ file, label })));
  const f = channels * size * size;
  checkSplitSize(`image-folder: ${items.length} images at ${channels}x${size}x${size}`, items.length, f, 1);
  const x = sharedBytes(items.length * f);
  const y = perClass.length <= 256 ? new Uint8Array(items.length) : new Int32Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      const { file, label } = items[i];
      y[i] = label;
      const stat = await fsp.stat(file);
      if (stat.size > IMAGE_FOLDER_LIMITS.fileBytes)
        throw new DatasetError(
          `image-folder: ${file} is ${stat.size} bytes, more than the ${IMAGE_FOLDER_LIMITS.fileBytes} read per image`,
        );
      let data: Buffer;
      let got: number;
      try {
        const p = sharp(file, { limitInputPixels: IMAGE_FOLDER_LIMITS.inputPixels, failOn: 'error' })
          .resize(size, size, { fit: 'cover', position: 'centre' })
          .removeAlpha();
        const r = await (channels === 1 ? p.greyscale() : p.toColourspace('srgb')).raw().toBuffer({ resolveWithObject: true });
        data = r.data;
        got = r.info.channels;
      } catch (e) {
        throw new DatasetError(`image-folder: cannot decode ${file}: ${(e as Error).message.split('\n')[0]}`);
      }
      if (got !== channels || data.length !== f)
        throw new DatasetError(
          `image-folder: ${file} decoded to ${got} channels, ${data.length} bytes; want ${channels} x ${size} x ${size}`,
        );
      // HWC -> CHW
      const o = i * f;
      const plane = size * size;
      for (let p = 0; p < plane; p++) for (let c = 0; c < channels; c++) x[o + c * plane + p] = data[p * channels + c];
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, items.length) }, worker));
  return { x, y, n: items.length };
}
