/**
 * A local HTTP server on 127.0.0.1 that plays the dataset mirrors for the download tests: real tar.gz
 * archives of small generated CIFAR folders (built with the `tar` package) and small .mat bytes, served
 * whole, cut mid-body, stalled, redirected or refused. Point GROWTH_LAB_DATA_MIRROR at `url`.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { svhnMat, writeCifar10, writeCifar100 } from './visionFiles';

export type Behaviour = 'ok' | 'cut' | 'stall' | 'missing' | 'redirect';

export interface MirrorFiles {
  /** File name -> bytes. */
  files: Map<string, Buffer>;
  /** File name -> md5 (the GROWTH_LAB_DATA_MIRROR_MD5 override for these generated files). */
  md5: Record<string, string>;
}

export const md5Of = (b: Buffer) => createHash('md5').update(b).digest('hex');

/** The archives and .mat files of the three datasets, generated small (CIFAR-10: 4 records per batch). */
export async function mirrorFiles(): Promise<MirrorFiles> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-mirror-'));
  try {
    writeCifar10(path.join(work, 'cifar-10-batches-bin'), 4, 3);
    // The official archive has readme.html and batches.meta.txt too; the random bytes keep it from compressing to nothing.
    fs.writeFileSync(path.join(work, 'cifar-10-batches-bin', 'readme.html'), randomBytes(96 * 1024));
    fs.writeFileSync(path.join(work, 'cifar-10-batches-bin', 'batches.meta.txt'), 'airplane\nautomobile\n');
    writeCifar100(path.join(work, 'cifar-100-binary'), 6, 4);
    const files = new Map<string, Buffer>();
    for (const [archive, folder] of [
      ['cifar-10-binary.tar.gz', 'cifar-10-batches-bin'],
      ['cifar-100-binary.tar.gz', 'cifar-100-binary'],
    ]) {
      const file = path.join(work, archive);
      await tar.c({ gzip: true, cwd: work, file, portable: true }, [folder]);
      files.set(archive, fs.readFileSync(file));
    }
    files.set('train_32x32.mat', svhnMat([1, 2, 10, 4], { compressed: true }));
    files.set('test_32x32.mat', svhnMat([10, 3]));
    files.set('extra_32x32.mat', svhnMat([5, 6, 7]));
    const md5: Record<string, string> = {};
    for (const [k, v] of files) md5[k] = md5Of(v);
    return { files, md5 };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export interface Mirror {
  url: string;
  /** How each file is served (default ok). */
  behaviour: Map<string, Behaviour>;
  /** Requests seen, by path. */
  requests: string[];
  /** Resolves when a `stall` response has sent its first half (the first since the last reset). */
  stalled: () => Promise<void>;
  /** Forgets behaviours and requests; `stalled` waits for the next stall. */
  reset: () => void;
  close: () => Promise<void>;
}

export async function startMirror(m: MirrorFiles): Promise<Mirror> {
  const behaviour = new Map<string, Behaviour>();
  const requests: string[] = [];
  const open = new Set<import('net').Socket>();
  let onStall: (() => void) | undefined;
  let stallPromise = new Promise<void>((r) => (onStall = r));
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(p);
    const hop = /^\/hop(\d+)\/(.*)$/.exec(p);
    if (hop) {
      const n = Number(hop[1]);
      res.writeHead(302, { location: n > 1 ? `/hop${n - 1}/${hop[2]}` : `/direct/${hop[2]}` });
      res.end();
      return;
    }
    // `/direct/<file>`: the end of a redirect chain, always served whole.
    const direct = p.startsWith('/direct/');
    const name = p.replace(/^\/+(direct\/)?/, '');
    const body = m.files.get(name);
    const how = direct ? 'ok' : (behaviour.get(name) ?? 'ok');
    if (!body || how === 'missing') {
      res.writeHead(404, 'Not Found');
      res.end();
      return;
    }
    if (how === 'redirect') {
      res.writeHead(301, { location: `/hop2/${name}` });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    const half = body.subarray(0, Math.floor(body.length / 2));
    if (how === 'ok') res.end(body);
    else if (how === 'cut') res.write(half, () => res.socket?.destroy());
    else
      res.write(half, () => {
        onStall?.();
      });
  });
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`,
    behaviour,
    requests,
    stalled: () => stallPromise,
    reset: () => {
      behaviour.clear();
      requests.length = 0;
      stallPromise = new Promise<void>((res) => (onStall = res));
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        stallPromise = new Promise<void>((res) => (onStall = res));
        server.close(() => r());
      }),
  };
}

/** The environment that points the download at `mirror` with the generated files' checksums. */
export function mirrorEnv(mirror: Mirror, m: MirrorFiles, md5: Partial<Record<string, string>> = {}): NodeJS.ProcessEnv {
  return { GROWTH_LAB_DATA_MIRROR: mirror.url, GROWTH_LAB_DATA_MIRROR_MD5: JSON.stringify({ ...m.md5, ...md5 }) };
}
