/** The download's progress in a terminal: a redrawn bar on a TTY, a plain line per tenth otherwise. */
import type { DownloadProgressParams } from '../../../common/protocol';

const MB = 1024 * 1024;
const mb = (b: number) => (b < MB ? `${(b / 1024).toFixed(1)} KB` : `${(b / MB).toFixed(1)} MB`);

export class DownloadProgressBar {
  private barShown = false;
  private lastTenth = -1;
  private lastKey = '';
  private started = Date.now();

  constructor(private readonly out: NodeJS.WritableStream & { isTTY?: boolean }) {}

  update(p: DownloadProgressParams): void {
    const key = `${p.phase}\0${p.file}`;
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastTenth = -1;
      this.started = Date.now();
    }
    const of = p.fileCount > 1 ? ` (${p.fileIndex + 1}/${p.fileCount})` : '';
    if (p.phase === 'unpack') {
      if (this.out.isTTY) this.draw(`unpacking ${p.file}: ${mb(p.receivedBytes)}`);
      else if (p.receivedBytes === 0) this.line(`unpacking ${p.file}`);
      return;
    }
    const frac = p.totalBytes ? Math.min(1, p.receivedBytes / p.totalBytes) : undefined;
    const seconds = (Date.now() - this.started) / 1000;
    const rate = seconds > 0 ? `  ${mb(p.receivedBytes / seconds)}/s` : '';
    const size = p.totalBytes ? `${mb(p.receivedBytes)} of ${mb(p.totalBytes)}` : mb(p.receivedBytes);
    if (this.out.isTTY) {
      const width = 24;
      const filled = frac === undefined ? 0 : Math.round(frac * width);
      const bar = frac === undefined ? '' : ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * frac).toFixed(1)}%`;
      this.draw(`${p.file}${of}${bar}  ${size}${rate}`);
      return;
    }
    if (p.receivedBytes === 0) {
      this.lastTenth = 0;
      this.line(`downloading ${p.file}${of}`);
      return;
    }
    const tenth = frac === undefined ? 0 : Math.floor(frac * 10);
    if (tenth === this.lastTenth) return;
    this.lastTenth = tenth;
    this.line(`${p.file}${of}: ${size}${frac === undefined ? '' : ` (${Math.round(100 * frac)}%)`}`);
  }

  /** A message on its own line (the bar, if drawn, is cleared first). */
  line(s: string): void {
    if (this.barShown) this.out.write('\r\x1b[2K');
    this.barShown = false;
    this.out.write(s + '\n');
  }

  private draw(s: string): void {
    this.out.write(`\r\x1b[2K${s}`);
    this.barShown = true;
  }
}
