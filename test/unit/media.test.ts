// Media sniffing on real bytes (test/fixtures/media, written by test/fixtures/make-media.mjs)
// and the media rules: JPG/PNG ≤ 10 MB, ≥ 300 px, aspect 1:2.5–2.5:1; MP4/MOV ≤ 50 MB.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import {
  MEDIA_HEAD_BYTES,
  type MediaFacts,
  formatAccepted,
  isUrl,
  mediaProblems,
  sniffFormat,
  sniffMedia,
} from '../../server/src/core/media';

const MEDIA_DIR = path.join(__dirname, '..', 'fixtures', 'media');
const read = (name: string) => new Uint8Array(readFileSync(path.join(MEDIA_DIR, name)));
const sniff = (name: string) => {
  const bytes = read(name);
  return sniffMedia(bytes.subarray(0, MEDIA_HEAD_BYTES), bytes.length);
};

describe('sniffMedia on real files', () => {
  const expected: [string, MediaFacts][] = [
    ['ok-400x300.png', { exists: true, format: 'png', width: 400, height: 300 }],
    ['ok-320x320.jpg', { exists: true, format: 'jpeg', width: 320, height: 320 }],
    ['small-200x200.png', { exists: true, format: 'png', width: 200, height: 200 }],
    ['wide-1000x300.png', { exists: true, format: 'png', width: 1000, height: 300 }],
    ['tall-300x800.jpg', { exists: true, format: 'jpeg', width: 300, height: 800 }],
    ['jpeg-content.png', { exists: true, format: 'jpeg', width: 400, height: 400 }],
    ['webp-content.jpg', { exists: true, format: 'webp', width: 1, height: 1 }],
    ['tiny.gif', { exists: true, format: 'gif', width: 1, height: 1 }],
    ['clip.mp4', { exists: true, format: 'mp4' }],
    ['clip.mov', { exists: true, format: 'mov' }],
    ['not-media.png', { exists: true, format: 'unknown' }],
  ];
  for (const [name, facts] of expected) {
    test(name, () => {
      const bytes = read(name);
      assert.deepEqual(sniff(name), { ...facts, bytes: bytes.length });
    });
  }
});

describe('sniffing edge cases', () => {
  test('the type comes from the content, not the name', () => {
    assert.equal(sniffFormat(read('jpeg-content.png')), 'jpeg');
    assert.equal(sniffFormat(read('webp-content.jpg')), 'webp');
  });

  test('a truncated image keeps its format, loses its size, and never throws', () => {
    const jpg = read('ok-320x320.jpg');
    assert.deepEqual(sniffMedia(jpg.subarray(0, 20), 99_000), {
      exists: true,
      bytes: 99_000,
      format: 'jpeg',
    });
    assert.deepEqual(sniffMedia(read('ok-400x300.png').subarray(0, 12), 5), {
      exists: true,
      bytes: 5,
      format: 'png',
    });
  });

  test('empty and random heads are unknown', () => {
    assert.deepEqual(sniffMedia(new Uint8Array(0), 0), {
      exists: true,
      bytes: 0,
      format: 'unknown',
    });
    const junk = new Uint8Array(4096).map((_, i) => (i * 7919) & 0xff);
    assert.equal(sniffMedia(junk, junk.length).format, 'unknown');
  });

  test('the total size is what the caller measured, not the head length', () => {
    const png = read('ok-400x300.png');
    assert.equal(sniffMedia(png, 11 * 1024 * 1024).bytes, 11 * 1024 * 1024);
  });

  test('MEDIA_HEAD_BYTES is enough for a JPEG whose size comes after a large EXIF block', () => {
    const jpg = read('ok-320x320.jpg');
    // Insert 200 KB of APP1 segments (each ≤ 65535 bytes, as cameras write EXIF) after SOI.
    const segments: Uint8Array[] = [];
    for (let left = 200_000; left > 0; left -= 60_000) {
      const n = Math.min(60_000, left);
      const seg = new Uint8Array(4 + n);
      seg.set([0xff, 0xe1, (n + 2) >> 8, (n + 2) & 0xff]);
      segments.push(seg);
    }
    const total = segments.reduce((a, s) => a + s.length, 0);
    const big = new Uint8Array(jpg.length + total);
    big.set(jpg.subarray(0, 2));
    let at = 2;
    for (const s of segments) {
      big.set(s, at);
      at += s.length;
    }
    big.set(jpg.subarray(2), at);
    assert.ok(big.length < MEDIA_HEAD_BYTES);
    assert.deepEqual(sniffMedia(big.subarray(0, MEDIA_HEAD_BYTES), big.length), {
      exists: true,
      bytes: big.length,
      format: 'jpeg',
      width: 320,
      height: 320,
    });
  });
});

describe('media rules', () => {
  const codes = (ref: string, kind: 'image' | 'video', facts: MediaFacts) =>
    mediaProblems(ref, kind, facts).map((p) => p.code);

  test('formats accepted per kind', () => {
    assert.ok(formatAccepted('image', 'jpeg') && formatAccepted('image', 'png'));
    assert.ok(!formatAccepted('image', 'webp') && !formatAccepted('image', 'gif'));
    assert.ok(formatAccepted('video', 'mp4') && formatAccepted('video', 'mov'));
    assert.ok(!formatAccepted('video', 'png'));
  });

  test('real files against the image rules', () => {
    assert.deepEqual(codes('a', 'image', sniff('ok-400x300.png')), []);
    assert.deepEqual(codes('a', 'image', sniff('jpeg-content.png')), []);
    assert.deepEqual(codes('a', 'image', sniff('small-200x200.png')), ['image-too-small']);
    assert.deepEqual(codes('a', 'image', sniff('wide-1000x300.png')), ['image-aspect']);
    assert.deepEqual(codes('a', 'image', sniff('tall-300x800.jpg')), ['image-aspect']);
    // A wrong format is the only problem reported, even for a tiny image.
    assert.deepEqual(codes('a', 'image', sniff('webp-content.jpg')), ['media-format']);
    assert.deepEqual(codes('a', 'image', sniff('not-media.png')), ['media-format']);
    assert.deepEqual(codes('a', 'image', sniff('clip.mp4')), ['media-format']);
  });

  test('real files against the video rules', () => {
    assert.deepEqual(codes('v', 'video', sniff('clip.mp4')), []);
    assert.deepEqual(codes('v', 'video', sniff('clip.mov')), []);
    assert.deepEqual(codes('v', 'video', sniff('ok-400x300.png')), ['media-format']);
  });

  test('size limits at their edges (10 MB images, 50 MB videos)', () => {
    const MB = 1024 * 1024;
    const png = read('ok-400x300.png');
    assert.deepEqual(codes('a', 'image', sniffMedia(png, 10 * MB)), []);
    assert.deepEqual(codes('a', 'image', sniffMedia(png, 10 * MB + 1)), ['media-too-large']);
    const mp4 = read('clip.mp4');
    assert.deepEqual(codes('v', 'video', sniffMedia(mp4, 50 * MB)), []);
    assert.deepEqual(codes('v', 'video', sniffMedia(mp4, 50 * MB + 1)), ['media-too-large']);
  });

  test('pixel and aspect edges: 300 px and exactly 2.5:1 pass', () => {
    const img = (width: number, height: number): MediaFacts => ({
      exists: true,
      bytes: 1,
      format: 'png',
      width,
      height,
    });
    assert.deepEqual(codes('a', 'image', img(300, 300)), []);
    assert.deepEqual(codes('a', 'image', img(299, 300)), ['image-too-small']);
    assert.deepEqual(codes('a', 'image', img(750, 300)), []);
    assert.deepEqual(codes('a', 'image', img(300, 750)), []);
    assert.deepEqual(codes('a', 'image', img(751, 300)), ['image-aspect']);
    assert.deepEqual(codes('a', 'image', img(100, 400)), ['image-too-small', 'image-aspect']);
    assert.match(
      mediaProblems('p.png', 'image', img(300, 800))[0].message,
      /300×800 px \(aspect 1:2\.67\)/,
    );
  });

  test('a missing file is only media-not-found', () => {
    assert.deepEqual(mediaProblems('x/y.png', 'image', { exists: false }), [
      { code: 'media-not-found', message: 'File not found: x/y.png' },
    ]);
  });

  test('isUrl: http and https only', () => {
    assert.ok(isUrl('https://cdn.example/a.png'));
    assert.ok(isUrl('HTTP://cdn.example/a.png'));
    assert.ok(!isUrl('file:///a.png'));
    assert.ok(!isUrl('refs/https.png'));
    assert.ok(!isUrl('ftp://x/a.png'));
  });
});
