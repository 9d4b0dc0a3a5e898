// The language server's media readers (server/src/render/mediafacts.ts, asynchronous and
// synchronous, each test run with both) on real files: the facts equal those of the whole file's
// header, a JPEG whose size sits after large EXIF blocks is read on, and what is not a regular
// file is "not found" without being read.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fsp, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { answered } from '../bounded';

import { MEDIA_HEAD_BYTES, sniffMedia } from '../../server/src/core/media';
import {
  FIRST_READ_BYTES,
  fileStamp,
  fileStampSync,
  readMediaFile,
  readMediaFileSync,
  readRegularFileText,
  sameStamp,
  type ReadMedia,
} from '../../server/src/render/mediafacts';

const MEDIA_DIR = path.join(__dirname, '..', 'fixtures', 'media');
let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kling-media-file-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of a JPEG with `exif` bytes of APP1 segments (≤ 65535 bytes each, as cameras write) after SOI. */
function jpegWithExif(exif: number): Buffer {
  const jpg = readFileSync(path.join(MEDIA_DIR, 'ok-320x320.jpg'));
  const parts: Buffer[] = [jpg.subarray(0, 2)];
  for (let left = exif; left > 0; left -= 60_000) {
    const n = Math.min(60_000, left);
    const seg = Buffer.alloc(4 + n);
    seg.set([0xff, 0xe1, (n + 2) >> 8, (n + 2) & 0xff]);
    parts.push(seg);
  }
  parts.push(jpg.subarray(2));
  return Buffer.concat(parts);
}

const READERS: [string, (file: string, firstBytes?: number) => Promise<ReadMedia | undefined>][] = [
  ['readMediaFile', readMediaFile],
  ['readMediaFileSync', async (file, firstBytes) => readMediaFileSync(file, firstBytes)],
];

for (const [name, readMediaFile] of READERS)
  describe(name, () => {
    test('every fixture: the same facts as sniffing its whole header', async () => {
      for (const name of [
        'ok-400x300.png',
        'ok-320x320.jpg',
        'tall-300x800.jpg',
        'jpeg-content.png',
        'webp-content.jpg',
        'tiny.gif',
        'clip.mp4',
        'clip.mov',
        'not-media.png',
      ]) {
        const file = path.join(MEDIA_DIR, name);
        const bytes = readFileSync(file);
        const r = await readMediaFile(file);
        assert.deepEqual(
          r?.facts,
          sniffMedia(bytes.subarray(0, MEDIA_HEAD_BYTES), bytes.length),
          name,
        );
        assert.equal(r?.stamp?.size, bytes.length, name);
      }
    });

    test('a JPEG whose size comes after the first read is read on (large EXIF)', async () => {
      const big = jpegWithExif(200_000);
      assert.ok(big.length > FIRST_READ_BYTES && big.length < MEDIA_HEAD_BYTES);
      const file = path.join(dir, `exif-${name}.jpg`);
      writeFileSync(file, big);
      const expected = { exists: true, bytes: big.length, format: 'jpeg', width: 320, height: 320 };
      assert.deepEqual((await readMediaFile(file))?.facts, expected);
      // A first read of a few bytes reaches the size the same way.
      assert.deepEqual((await readMediaFile(file, 16))?.facts, expected);
      assert.deepEqual((await readMediaFile(path.join(MEDIA_DIR, 'ok-320x320.jpg'), 16))?.facts, {
        exists: true,
        bytes: 1526,
        format: 'jpeg',
        width: 320,
        height: 320,
      });
    });

    test('a PNG needs no more than its first bytes, however large the file', async () => {
      const png = readFileSync(path.join(MEDIA_DIR, 'ok-400x300.png'));
      const file = path.join(dir, `padded-${name}.png`);
      writeFileSync(file, Buffer.concat([png, Buffer.alloc(3 * 1024 * 1024)]));
      assert.deepEqual((await readMediaFile(file, 64))?.facts, {
        exists: true,
        bytes: png.length + 3 * 1024 * 1024,
        format: 'png',
        width: 400,
        height: 300,
      });
    });

    test(
      'missing files, folders and pipes are not found (a pipe is never read)',
      { timeout: 20_000 },
      async () => {
        assert.deepEqual(await readMediaFile(path.join(dir, 'nope.png')), {
          facts: { exists: false },
        });
        assert.deepEqual(await readMediaFile(path.join(dir, 'nope', 'x.png')), {
          facts: { exists: false },
        });
        assert.deepEqual(await readMediaFile(dir), { facts: { exists: false } });
        const fifo = path.join(dir, `pipe-${name}.png`);
        execFileSync('mkfifo', [fifo]);
        // No writer: opening the pipe for reading would wait for one; the answer must not.
        if (name === 'readMediaFileSync') {
          // A synchronous wait cannot be timed out in this process: the read runs in a child.
          const child = spawnSync(
            process.execPath,
            [
              '--import',
              'tsx',
              '-e',
              `const m = require(${JSON.stringify(path.join(__dirname, '../../server/src/render/mediafacts.ts'))}); console.log(JSON.stringify(m.readMediaFileSync(${JSON.stringify(fifo)})))`,
            ],
            { encoding: 'utf8', timeout: 10_000 },
          );
          assert.equal(child.status, 0, child.stderr);
          assert.deepEqual(JSON.parse(child.stdout), { facts: { exists: false } });
        } else {
          assert.deepEqual(await answered('a read of a pipe', readMediaFile(fifo), 5_000), {
            facts: { exists: false },
          });
        }
        // A writer that stays open (read-write: Linux opens that at once): a read of the pipe
        // would wait for data; the answer must not.
        const writer = await fsp.open(fifo, 'r+');
        try {
          assert.deepEqual(await readMediaFile(fifo), { facts: { exists: false } });
        } finally {
          await writer.close();
        }
      },
    );

    test('the stamp changes with the content; an unchanged file keeps it', async () => {
      const file = path.join(dir, `frame-${name}.png`);
      writeFileSync(file, readFileSync(path.join(MEDIA_DIR, 'ok-400x300.png')));
      const first = (await readMediaFile(file))!.stamp;
      assert.ok(sameStamp(first, await fileStamp(file)));
      assert.ok(sameStamp(first, fileStampSync(file)));
      writeFileSync(file, readFileSync(path.join(MEDIA_DIR, 'small-200x200.png')));
      assert.ok(!sameStamp(first, await fileStamp(file)));
      assert.ok(!sameStamp(first, fileStampSync(file)));
      assert.equal(await fileStamp(path.join(dir, 'nope.png')), undefined);
      assert.equal(fileStampSync(path.join(dir, 'nope.png')), undefined);
      assert.equal(await fileStamp(dir), undefined);
      assert.equal(fileStampSync(dir), undefined);
      assert.ok(!sameStamp(undefined, undefined));
    });
  });

describe('readRegularFileText', () => {
  test(
    'the text of a regular file; nothing for folders, pipes, missing or too large files',
    {
      timeout: 20_000,
    },
    async () => {
      const file = path.join(dir, 'entry.json');
      writeFileSync(file, '{"state":"done","note":"é"}');
      assert.equal(await readRegularFileText(file, 1024), '{"state":"done","note":"é"}');
      assert.equal(await readRegularFileText(file, 10), undefined, 'larger than the bound');
      assert.equal(await readRegularFileText(path.join(dir, 'none.json'), 1024), undefined);
      await fsp.mkdir(path.join(dir, 'folder.json'));
      assert.equal(await readRegularFileText(path.join(dir, 'folder.json'), 1024), undefined);
      const fifo = path.join(dir, 'pipe.json');
      execFileSync('mkfifo', [fifo]);
      // No writer: opening the pipe for reading would wait for one; the answer must not.
      assert.equal(
        await answered('a read of a pipe', readRegularFileText(fifo, 1024), 5_000),
        undefined,
      );
    },
  );
});
