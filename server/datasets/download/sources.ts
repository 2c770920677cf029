/**
 * Where each dataset's official files are, their published md5 checksums, and the folder they end up in.
 * The checksums are those of the archives' pages (https://www.cs.toronto.edu/~kriz/cifar.html, "binary
 * version") and of torchvision's CIFAR/SVHN classes (torchvision/datasets/svhn.py `split_list`).
 *
 * `GROWTH_LAB_DATA_MIRROR` replaces every base URL (a mirror holding the same file names).
 * `GROWTH_LAB_DATA_MIRROR_MD5` (test-only: honoured only together with GROWTH_LAB_DATA_MIRROR) is a JSON
 * object file name -> md5 that replaces the published checksums, for the generated archives the tests serve.
 */
import { DOWNLOAD_DATASETS, type DownloadDatasetName } from '../../../common/protocol';
import { CIFAR_FORMATS } from '../cifar';
import { SVHN_FILES } from '../svhn';
import { DownloadError } from './errors';

export interface RemoteFile {
  /** The file name at the base URL (and in a mirror). */
  file: string;
  url: string;
  md5: string;
}

export interface DatasetSource {
  name: DownloadDatasetName;
  /** The folder under `--to` that dataset.path points at. */
  folder: string;
  /** tar.gz: one archive unpacked, its `folder` kept; files: the remote files are the dataset's files. */
  kind: 'tar.gz' | 'files';
  remote: RemoteFile[];
  /** Files the dataset folder must hold when complete. */
  files: string[];
}

const KRIZ = 'https://www.cs.toronto.edu/~kriz/';
const SVHN_BASE = 'http://ufldl.stanford.edu/housenumbers/';

interface Published {
  base: string;
  file: string;
  md5: string;
}
const CIFAR10: Published = { base: KRIZ, file: 'cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' };
const CIFAR100: Published = { base: KRIZ, file: 'cifar-100-binary.tar.gz', md5: '03b5dce01913d631647c71ecec9e9cb8' };
const SVHN_TRAIN: Published = { base: SVHN_BASE, file: SVHN_FILES.train, md5: 'e26dedcc434d2e4c54c9b2d4a06d8373' };
const SVHN_TEST: Published = { base: SVHN_BASE, file: SVHN_FILES.test, md5: 'eb5a983be6a315427106f1b164d9cef3' };
const SVHN_EXTRA: Published = { base: SVHN_BASE, file: SVHN_FILES.extra, md5: 'a93ce644f1a588dc4d68dda5feec44a7' };

export const MIRROR_ENV = 'GROWTH_LAB_DATA_MIRROR';
export const MIRROR_MD5_ENV = 'GROWTH_LAB_DATA_MIRROR_MD5';

export function isDownloadName(name: unknown): name is DownloadDatasetName {
  return typeof name === 'string' && (DOWNLOAD_DATASETS as readonly string[]).includes(name);
}

/** The files to fetch for `name` and where they go, with the mirror and checksum overrides of `env`. */
export function datasetSource(name: string, extra: boolean, env: NodeJS.ProcessEnv = process.env): DatasetSource {
  if (!isDownloadName(name)) throw new DownloadError('invalid', `unknown dataset "${name}" (want ${DOWNLOAD_DATASETS.join(', ')})`);
  if (extra && name !== 'svhn') throw new DownloadError('invalid', `--extra applies to svhn only, not ${name}`);
  const { mirror, md5 } = overrides(env);
  const remote = (p: Published): RemoteFile => ({
    file: p.file,
    url: (mirror ?? p.base) + encodeURIComponent(p.file),
    md5: md5?.[p.file] ?? p.md5,
  });
  if (name === 'svhn') {
    const published = extra ? [SVHN_TRAIN, SVHN_TEST, SVHN_EXTRA] : [SVHN_TRAIN, SVHN_TEST];
    return { name, folder: 'svhn', kind: 'files', remote: published.map(remote), files: published.map((p) => p.file) };
  }
  const f = CIFAR_FORMATS[name];
  return {
    name,
    folder: f.archiveFolder,
    kind: 'tar.gz',
    remote: [remote(name === 'cifar-10' ? CIFAR10 : CIFAR100)],
    files: [...f.train, ...f.test],
  };
}

const MD5 = /^[0-9a-f]{32}$/;

function overrides(env: NodeJS.ProcessEnv): { mirror?: string; md5?: Record<string, string> } {
  const raw = env[MIRROR_ENV]?.trim();
  if (!raw) return {};
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DownloadError('invalid', `${MIRROR_ENV}="${raw.slice(0, 200)}" is not a URL (want http:// or https://)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new DownloadError('invalid', `${MIRROR_ENV} must be an http:// or https:// URL, got ${url.protocol}`);
  const mirror = url.href.endsWith('/') ? url.href : `${url.href}/`;
  const md5Text = env[MIRROR_MD5_ENV];
  if (!md5Text) return { mirror };
  let parsed: unknown;
  try {
    parsed = JSON.parse(md5Text);
  } catch {
    throw new DownloadError('invalid', `${MIRROR_MD5_ENV} is not JSON (want {"file name": "md5 hex"})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new DownloadError('invalid', `${MIRROR_MD5_ENV} must be a JSON object {"file name": "md5 hex"}`);
  const md5: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string' || !MD5.test(v))
      throw new DownloadError('invalid', `${MIRROR_MD5_ENV}: "${k}" must be 32 lowercase hex digits`);
    md5[k] = v;
  }
  return { mirror, md5 };
}
