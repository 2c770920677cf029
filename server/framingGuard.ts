/**
 * A guard in front of the backend's stdin: checks the JSON-RPC base-protocol framing (header lines,
 * `Content-Length: <n>`, blank line, n bytes of body) before vscode-jsonrpc's reader sees it, and calls
 * `onViolation` with a reason when the framing is broken, so the backend can log it and exit instead of
 * waiting forever for a body that will never come or buffering gigabytes.
 * The bytes pass through unchanged; only the headers are parsed here.
 */
import { Transform, TransformCallback } from 'node:stream';

/** The largest message body accepted (bytes). */
export const MAX_CONTENT_LENGTH = 64 * 1024 * 1024;
/** The largest header block accepted (bytes, up to and including the blank line). */
export const MAX_HEADER_BYTES = 8 * 1024;

const printable = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

export class FramingGuard extends Transform {
  /** Header bytes seen so far of the message being read (when not inside a body). */
  private header = Buffer.alloc(0);
  /** Body bytes still to pass through. */
  private bodyLeft = 0;
  private failed = false;

  constructor(
    private readonly onViolation: (reason: string) => void,
    private readonly maxContentLength = MAX_CONTENT_LENGTH,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.failed) return done();
    let at = 0;
    while (at < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - at);
        this.push(chunk.subarray(at, at + n));
        this.bodyLeft -= n;
        at += n;
        continue;
      }
      // In a header block: look for its end (\r\n\r\n) across what we have.
      const prevLen = this.header.length;
      const rest = chunk.subarray(at);
      const joined = prevLen ? Buffer.concat([this.header, rest]) : rest;
      const end = joined.indexOf('\r\n\r\n', Math.max(0, prevLen - 3));
      if (end < 0) {
        if (joined.length > MAX_HEADER_BYTES)
          return this.fail(`a header block longer than ${MAX_HEADER_BYTES} bytes with no blank line`, done);
        this.header = Buffer.from(joined);
        break;
      }
      if (end + 4 > MAX_HEADER_BYTES) return this.fail(`a header block longer than ${MAX_HEADER_BYTES} bytes`, done);
      const headerText = joined.subarray(0, end).toString('ascii');
      const reason = this.checkHeader(headerText);
      if (typeof reason === 'string') return this.fail(reason, done);
      this.push(joined.subarray(0, end + 4));
      this.header = Buffer.alloc(0);
      this.bodyLeft = reason;
      at += end + 4 - prevLen;
    }
    done();
  }

  /** The body length the header declares, or the reason it is not acceptable. */
  private checkHeader(text: string): number | string {
    let length: number | undefined;
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0) return `a header line without "name: value": ${printable(line)}`;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return `Content-Length is not a number: ${printable(value)}`;
        length = Number(value);
      }
    }
    if (length === undefined) return 'a message without a Content-Length header';
    if (length > this.maxContentLength) return `Content-Length ${length} is over the limit of ${this.maxContentLength} bytes`;
    return length;
  }

  private fail(reason: string, done: TransformCallback): void {
    this.failed = true;
    this.header = Buffer.alloc(0);
    done();
    this.onViolation(`malformed JSON-RPC framing on stdin: ${reason}`);
  }
}
