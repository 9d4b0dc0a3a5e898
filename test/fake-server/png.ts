// Minimal valid PNG encoder (solid colour, RGB) so tests and the fake server can produce real
// images of any pixel size without binary fixtures.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * An 8-bit RGB PNG from rows that are already filtered (each row: a filter-type byte, then
 * width × 3 bytes); the one container writer the fake server and the fixture generators share.
 */
export function pngFromRows(width: number, height: number, rows: Buffer, level = 6): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows, { level })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A solid-colour RGB PNG of the given size and colour. */
export function solidPng(width: number, height: number, [r, g, b]: number[], level = 6): Buffer {
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([r!, g!, b!], 1 + x * 3);
  const rows = Buffer.alloc(row.length * height);
  for (let y = 0; y < height; y++) row.copy(rows, y * row.length);
  return pngFromRows(width, height, rows, level);
}

/** A solid-colour RGB PNG of the given size; `seed` changes the colour so contents differ. */
export function makePng(width: number, height: number, seed = 0): Buffer {
  return solidPng(width, height, [
    (seed * 53) & 0xff,
    (seed * 97 + 80) & 0xff,
    (seed * 29 + 160) & 0xff,
  ]);
}
