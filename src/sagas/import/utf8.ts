import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The input is not UTF-8; `offset` is the 0-based byte offset of the first bad byte, `line` its 1-based line. */
export class InvalidEncodingError extends Error {
  constructor(
    readonly offset: number,
    readonly line: number,
  ) {
    super(`The file is not valid UTF-8: invalid byte sequence at byte offset ${offset} (line ${line}). Save it as UTF-8 and import again.`);
    this.name = 'InvalidEncodingError';
  }
}

/**
 * Passes bytes through unchanged after checking they are UTF-8 (node's native `isUtf8`), counting bytes and
 * lines. A multi-byte character split across chunks is carried over to the next chunk; a bad sequence fails the
 * stream with InvalidEncodingError naming its byte offset and line.
 */
export class Utf8Validator extends Transform {
  /** Bytes passed on so far. */
  bytes = 0;
  private lines = 1;
  private carry: Buffer | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const buffer = this.carry === null ? chunk : Buffer.concat([this.carry, chunk]);
    const end = completeUntil(buffer);
    const body = buffer.subarray(0, end);
    if (!isUtf8(body)) {
      const bad = firstInvalidByte(body);
      callback(new InvalidEncodingError(this.bytes + bad, this.lines + countLines(body.subarray(0, bad))));
      return;
    }
    this.carry = end < buffer.length ? Buffer.from(buffer.subarray(end)) : null;
    this.bytes += body.length;
    this.lines += countLines(body);
    callback(null, body);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.carry === null ? null : new InvalidEncodingError(this.bytes, this.lines));
  }
}

/** Reads a whole file through the validator (constant memory); throws InvalidEncodingError. */
export async function checkUtf8File(path: string): Promise<void> {
  await pipeline(createReadStream(path), new Utf8Validator(), new Writable({ write: (_chunk, _encoding, done) => done() }));
}

/** The length of `buffer` without a trailing, incomplete multi-byte sequence (which the next chunk completes). */
function completeUntil(buffer: Buffer): number {
  for (let i = buffer.length - 1; i >= Math.max(0, buffer.length - 3); i--) {
    const byte = buffer[i]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for the lead byte
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return buffer.length - i < length ? i : buffer.length;
  }
  return buffer.length;
}

function countLines(buffer: Buffer): number {
  let lines = 0;
  for (let i = buffer.indexOf(10); i !== -1; i = buffer.indexOf(10, i + 1)) lines++;
  return lines;
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629). */
export function firstInvalidByte(buffer: Buffer): number {
  let i = 0;
  while (i < buffer.length) {
    const b = buffer[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let min: number;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [length, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [length, min, max] = [3, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf];
    else if (b >= 0xf0 && b <= 0xf4) [length, min, max] = [4, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf];
    else return i;
    if (i + length > buffer.length) return i;
    const second = buffer[i + 1]!;
    if (second < min || second > max) return i;
    for (let k = 2; k < length; k++) if ((buffer[i + k]! & 0xc0) !== 0x80) return i;
    i += length;
  }
  return buffer.length;
}
