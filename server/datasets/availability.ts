/**
 * What the capabilities report about each dataset, without loading any: whether its decoder or
 * package is there, which files it needs, and for the official vision sets, where in the given
 * folders (the workspace and its data/ folder) their files were found.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { DatasetAvailability, DatasetName } from '../../common/protocol';
import { CIFAR_FORMATS } from './cifar';
import { fashionAvailability } from './fashionMnist';
import { IMAGE_EXTENSIONS } from './imageFolder';
import { mnistAvailability } from './mnist';
import { SVHN_FILES } from './svhn';

/** The files each path-based dataset reads (for people: capabilities, pickers, docs). */
export const DATASET_FILES: Partial<Record<DatasetName, string>> = {
  csv: 'a CSV file (dataset.path)',
  'cifar-10': `a folder (dataset.path) with ${CIFAR_FORMATS['cifar-10'].train.join(', ')}, ${CIFAR_FORMATS['cifar-10'].test.join(', ')} (the binary version)`,
  'cifar-100': 'a folder (dataset.path) with train.bin, test.bin (the binary version)',
  svhn: `a folder (dataset.path) with ${SVHN_FILES.train}, ${SVHN_FILES.test} (and ${SVHN_FILES.extra} for extra)`,
  npz: 'an .npz file (dataset.path) with arrays x and y',
  'image-folder': `a folder (dataset.path) with one subfolder of images (${IMAGE_EXTENSIONS.join(', ')}) per class`,
};

/** The folders an official download may sit in: each dir, and the folder its archive unpacks into. */
function findOfficial(name: 'cifar-10' | 'cifar-100' | 'svhn', searchDirs: string[]): string | undefined {
  const needed = name === 'svhn' ? [SVHN_FILES.train, SVHN_FILES.test] : [...CIFAR_FORMATS[name].train, ...CIFAR_FORMATS[name].test];
  const inner = name === 'svhn' ? ['svhn'] : [CIFAR_FORMATS[name].archiveFolder, path.join(name, CIFAR_FORMATS[name].archiveFolder), name];
  for (const dir of searchDirs) {
    for (const d of [dir, ...inner.map((s) => path.join(dir, s))]) {
      if (needed.every((f) => fs.existsSync(path.join(d, f)))) return d;
    }
  }
  return undefined;
}

function sharpAvailability(): { available: boolean; reason?: string } {
  try {
    require.resolve('sharp');
    return { available: true };
  } catch {
    return { available: false, reason: 'the image decoder, npm package "sharp", is not installed' };
  }
}

/** Which datasets can be loaded here, without loading them (cheap file checks). */
export function datasetAvailabilities(names: readonly DatasetName[], searchDirs: string[] = []): DatasetAvailability[] {
  return names.map((name): DatasetAvailability => {
    const files = DATASET_FILES[name] ? { files: DATASET_FILES[name] } : {};
    switch (name) {
      case 'mnist':
        return { name, ...mnistAvailability() };
      case 'fashion-mnist':
        return { name, ...fashionAvailability() };
      case 'cifar-10':
      case 'cifar-100':
      case 'svhn': {
        const found = findOfficial(name, searchDirs);
        return { name, available: true, ...files, ...(found ? { found } : {}) };
      }
      case 'image-folder':
        return { name, ...sharpAvailability(), ...files };
      default:
        return { name, available: true, ...files };
    }
  });
}
