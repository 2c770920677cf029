/**
 * npm run bench:download: `growth-lab data download cifar-10` against a local mirror on 127.0.0.1 serving a
 * full-size generated CIFAR-10 binary archive (60,000 random 3,073-byte records, as large as the real one),
 * streamed from disk. Prints JSON: archive bytes, wall seconds of the download (fetch + md5 + unpack + rename),
 * MB/s, and this process's peak RSS, which stays far below the archive's size because nothing is buffered
 * whole. `--quick`: a tenth of the records. Absolute times depend on the machine and its disk.
 */
import { createHash, randomFillSync } from 'crypto';
import * as fs from 'fs';
import { spawn } from 'child_process';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import * as tar from 'tar';
import { downloadDataset } from '../server/datasets/download';

const quick = process.argv.includes('--quick');
const PER_BATCH = quick ? 1000 : 10_000;
const REC = 3073;

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'growth-lab-bench-download-'));
  try {
    const src = path.join(work, 'src', 'cifar-10-batches-bin');
    fs.mkdirSync(src, { recursive: true });
    const chunk = Buffer.alloc(1000 * REC);
    for (const f of [
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'test_batch.bin',
    ]) {
      const fd = fs.openSync(path.join(src, f), 'w');
      for (let i = 0; i < PER_BATCH; i += 1000) fs.writeSync(fd, randomFillSync(chunk));
      fs.closeSync(fd);
    }
    const archive = path.join(work, 'cifar-10-binary.tar.gz');
    await tar.c({ gzip: { level: 1 }, cwd: path.join(work, 'src'), file: archive, portable: true }, ['cifar-10-batches-bin']);
    fs.rmSync(path.join(work, 'src'), { recursive: true });
    const bytes = fs.statSync(archive).size;
    const hash = createHash('md5');
    for await (const b of fs.createReadStream(archive)) hash.update(b as Buffer);
    const md5 = hash.digest('hex');
    const server = http.createServer((req, res) => {
      if (req.url !== '/cifar-10-binary.tar.gz') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': bytes });
      fs.createReadStream(archive).pipe(res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const env = {
      GROWTH_LAB_DATA_MIRROR: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      GROWTH_LAB_DATA_MIRROR_MD5: JSON.stringify({ 'cifar-10-binary.tar.gz': md5 }),
    };
    // The download runs in a child process of its own, so that its peak RSS is the download's alone.
    const child = spawn(process.execPath, ['--import', 'tsx', __filename, '--child', path.join(work, 'data')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await new Promise((r) => child.on('close', r));
    server.close();
    const m = JSON.parse(out) as { seconds: number; peakRssMB: number; path: string };
    console.log(
      JSON.stringify(
        {
          records: 6 * PER_BATCH,
          archiveBytes: bytes,
          ...m,
          mbPerSecond: +(bytes / 1024 / 1024 / m.seconds).toFixed(1),
          path: path.relative(work, m.path),
        },
        null,
        2,
      ),
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `--child DIR`: the download alone, its time and this process's peak RSS as JSON on stdout. */
async function child(to: string): Promise<void> {
  const t0 = performance.now();
  const r = await downloadDataset({ name: 'cifar-10', to });
  const seconds = +((performance.now() - t0) / 1000).toFixed(2);
  process.stdout.write(JSON.stringify({ seconds, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024), path: r.path }));
}

const at = process.argv.indexOf('--child');
void (at >= 0 ? child(process.argv[at + 1]) : main());
