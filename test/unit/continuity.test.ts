// continue-from in the pure core: diagnostics, the frame's place, and the request it makes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  continuityFrameRef,
  continuityLinks,
  sceneByTitle,
  storyboardNameFromPath,
} from '../../server/src/core/continuity';
import { parseStoryboard } from '../../server/src/core/parse';
import { buildRequests } from '../../server/src/core/request';
import { validateStoryboard } from '../../server/src/core/validate';
import type { MediaFacts } from '../../server/src/core/media';
import { applyEdits, cursor, doc, service } from './service-fixture';

const IMAGE: MediaFacts = {
  exists: true,
  kind: 'image',
  format: 'png',
  bytes: 2000,
  width: 640,
  height: 360,
} as MediaFacts;

function codes(text: string, media?: (ref: string) => MediaFacts | undefined, name?: string) {
  return validateStoryboard(parseStoryboard(text), { media, storyboardName: name })
    .filter((d) =>
      [
        'undefined-scene',
        'continuity-order',
        'continuity-conflict',
        'continuity-pending',
        'element-needs-first-frame',
      ].includes(d.code),
    )
    .map((d) => [
      d.code,
      d.severity,
      d.message,
      text.slice(d.span.offset, d.span.offset + d.span.length),
    ]);
}

const head = 'provider: kie\n\n[scene Arrival]\nduration: 3\nA car arrives.\n\n';

describe('continue-from diagnostics', () => {
  it('undefined-scene names the nearest title', () => {
    const d = codes(head + '[scene Departure]\ncontinue-from: Arival\nIt leaves.\n');
    assert.deepEqual(d, [
      [
        'undefined-scene',
        'error',
        'No scene is titled “Arival”; did you mean “Arrival”?',
        'Arival',
      ],
    ]);
    assert.match(
      String(codes(head + '[scene B]\ncontinue-from: Zzzz\nX.\n')[0]![2]),
      /^No scene is titled “Zzzz”$/,
    );
  });

  it('continuity-order: the scene itself or a later one', () => {
    const self = codes('[scene A]\ncontinue-from: A\nX.\n');
    assert.equal(self[0]![0], 'continuity-order');
    assert.match(String(self[0]![2]), /cannot continue from itself/);
    const later = codes('[scene A]\ncontinue-from: B\nX.\n\n[scene B]\nY.\n');
    assert.equal(later[0]![0], 'continuity-order');
    assert.match(String(later[0]![2]), /“B” comes after this scene/);
  });

  it('continuity-conflict: also a first-frame', () => {
    const d = codes(
      head + '[scene B]\ncontinue-from: Arrival\nfirst-frame: f.png\nX.\n',
      () => IMAGE,
    );
    assert.deepEqual(
      d.map((x) => [x[0], x[3]]),
      [['continuity-conflict', 'continue-from']],
    );
  });

  it('continuity-pending (information) when the source has no frame yet; nothing once it has', () => {
    const text = head + '[scene Departure]\ncontinue-from: arrival\nIt leaves.\n';
    const frame = 'renders/board/arrival/last-frame.png';
    const missing = codes(text, (ref) => (ref === frame ? { exists: false } : undefined), 'board');
    assert.equal(missing.length, 1);
    assert.equal(missing[0]![0], 'continuity-pending');
    assert.equal(missing[0]![1], 'information');
    assert.match(String(missing[0]![2]), /“Arrival” has no take yet/);
    assert.deepEqual(
      codes(text, (ref) => (ref === frame ? IMAGE : undefined), 'board'),
      [],
    );
    // Without the storyboard's name (or a media lookup) pending is not judged.
    assert.deepEqual(
      codes(text, () => ({ exists: false })),
      [],
    );
  });

  it('a continue-from scene counts as having a first frame for elements', () => {
    const withEl =
      'provider: kie\n[element dog]\nimages: a.png, b.png\nA dog.\n\n[scene A]\nduration: 3\nA @dog.\n\n[scene B]\ncontinue-from: A\nThe @dog again.\n';
    const d = codes(withEl);
    assert.deepEqual(
      d.map((x) => x[0]),
      ['element-needs-first-frame'],
    ); // scene A only
  });
});

describe('continue-from requests', () => {
  const text = 'output: out\n' + head + '[scene Departure]\ncontinue-from: Arrival\nIt leaves.\n';
  it('with the storyboard name the first frame is the source’s last-frame.png', () => {
    const [, dep] = buildRequests(parseStoryboard(text).storyboard, {
      continuity: { storyboardName: 'board' },
    });
    assert.deepEqual((dep!.body.input as { image_urls: string[] }).image_urls, [
      '<to upload: out/board/arrival/last-frame.png>',
    ]);
    assert.deepEqual(
      dep!.media.map((m) => m.ref),
      ['out/board/arrival/last-frame.png'],
    );
    assert.deepEqual(dep!.problems, []);
  });
  it('without it, a note says what will be sent; an invalid link is a problem', () => {
    const [, dep] = buildRequests(parseStoryboard(text).storyboard);
    assert.equal(dep!.media.length, 0);
    assert.match(dep!.notes.join(' '), /last frame of “Arrival”'s chosen take/);
    const [bad] = buildRequests(parseStoryboard('[scene A]\ncontinue-from: A\nX.\n').storyboard);
    assert.match(bad!.problems.join(' '), /continue-from/);
  });
  it('frame refs and storyboard names', () => {
    const sb = parseStoryboard(text).storyboard;
    assert.equal(continuityFrameRef(sb, 'board', 0), 'out/board/arrival/last-frame.png');
    assert.equal(storyboardNameFromPath('file:///p/My%20Film.kling'), 'My Film');
    assert.equal(storyboardNameFromPath('C:\\p\\b.kling'), 'b');
  });
});

describe('continue-from titles', () => {
  it('the exact title first, else the first scene of that title in any case', () => {
    const sb = parseStoryboard(
      '[scene Dawn]\nA.\n\n[scene dawn]\nB.\n\n[scene DAWN]\nC.\n\n[scene Dawn]\nD.\n\n[scene Dusk]\ncontinue-from: dAwN\nE.\n',
    ).storyboard;
    assert.equal(sceneByTitle(sb, 'Dawn')?.index, 0, 'the first of two exact matches');
    assert.equal(
      sceneByTitle(sb, ' DAWN ')?.index,
      2,
      'an exact match beats an earlier folded one',
    );
    assert.equal(sceneByTitle(sb, 'dAwN')?.index, 0, 'folded: the first in any case');
    assert.equal(sceneByTitle(sb, 'Noon'), undefined);
    assert.deepEqual(
      continuityLinks(sb).map((l) => [l.scene.index, l.source?.index, l.valid]),
      [[4, 0, true]],
    );
  });

  it('many links over many scenes resolve each to its own source', () => {
    const n = 3000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++)
      parts.push(`[scene S${i}]\n${i ? `continue-from: s${i - 1}\n` : ''}Text ${i}.\n`);
    const links = continuityLinks(parseStoryboard(parts.join('\n')).storyboard);
    assert.equal(links.length, n - 1);
    assert.ok(links.every((l) => l.valid && l.source!.index === l.scene.index - 1));
  });
});

describe('continue-from in the language service', () => {
  const text =
    '[scene Arrival]\nduration: 3\nA car arrives.\n\n[scene Departure]\ncontinue-from: Arrival\nIt leaves.\n';
  const frame = 'renders/board/arrival/last-frame.png';
  const png: MediaFacts = { exists: true, bytes: 2000, format: 'png', width: 640, height: 360 };
  const hoverAt = async (media: Record<string, MediaFacts>) => {
    const at = text.indexOf('Arrival\nIt') + 2;
    const c = cursor(text.slice(0, at) + '|' + text.slice(at));
    const h = await service(media).hover(doc(c.text), c.position);
    return h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '';
  };

  it('hover on the title shows the source’s last frame once it exists', async () => {
    const md = await hoverAt({ [frame]: png });
    assert.match(md, /the last frame of \*\*Arrival\*\*'s chosen take/);
    assert.match(
      md,
      /!\[renders\/board\/arrival\/last-frame\.png\]\(file:\/\/\/work\/story\/renders\/board\/arrival\/last-frame\.png\|width=320\)/,
    );
    assert.match(await hoverAt({}), /\*\*Arrival\*\* has no take yet/);
  });

  it('diagnostics through the service: pending until the frame exists (media lookup by path)', async () => {
    const codesOf = async (media: Record<string, MediaFacts>) =>
      (await service(media).validate(doc(text))).map((d) => d.code);
    assert.deepEqual(await codesOf({}), ['continuity-pending']);
    assert.deepEqual(await codesOf({ [frame]: png }), []);
    assert.ok(
      service({})
        .mediaReferences(doc(text))
        .some((m) => m.ref === frame),
    );
  });
});

describe('continue-from under the configured output folder (kling.outputFolder)', () => {
  const text =
    '[scene Arrival]\nduration: 3\nA car arrives.\n\n[scene Departure]\ncontinue-from: Arrival\nIt leaves.\n';
  const png: MediaFacts = { exists: true, bytes: 2000, format: 'png', width: 640, height: 360 };
  const codesWith = async (media: Record<string, MediaFacts>, header = '') => {
    const svc = service(media);
    svc.configure({ outputFolder: 'clips' });
    return (await svc.validate(doc(header + text))).map((d) => d.code);
  };

  it('the frame is looked for in the configured folder, the header’s `output:` first', async () => {
    assert.deepEqual(await codesWith({ 'clips/board/arrival/last-frame.png': png }), []);
    assert.deepEqual(await codesWith({ 'renders/board/arrival/last-frame.png': png }), [
      'continuity-pending',
    ]);
    const header = 'output: mine\n\n';
    assert.deepEqual(await codesWith({ 'mine/board/arrival/last-frame.png': png }, header), []);
    assert.deepEqual(await codesWith({ 'clips/board/arrival/last-frame.png': png }, header), [
      'continuity-pending',
    ]);
  });
});

describe('continue-from quick fix', () => {
  it('undefined-scene: change to the nearest title', async () => {
    const text =
      '[scene Arrival]\nA car arrives.\n\n[scene B]\ncontinue-from: Arival\nIt leaves.\n';
    const svc = service({});
    const d = doc(text);
    const diagnostics = (await svc.diagnostics(d)).filter((x) => x.code === 'undefined-scene');
    assert.equal(diagnostics.length, 1);
    const actions = svc.codeActions(d, diagnostics[0]!.range, diagnostics);
    assert.equal(actions[0]!.title, 'Change to “Arrival”');
    assert.equal(actions[0]!.isPreferred, true);
    assert.equal(
      applyEdits(text, actions[0]!.edit!.changes![d.uri]!),
      text.replace('Arival', 'Arrival'),
    );
  });
});

describe('continue-from completion', () => {
  it('offers the titles of the earlier scenes only', async () => {
    const text =
      '[scene Arrival]\nA car arrives.\n\n[scene Chase]\nIt speeds.\n\n[scene Departure]\ncontinue-from: |\nIt leaves.\n\n[scene Epilogue]\nDawn.\n';
    const c = cursor(text);
    const list = await service({}).complete(doc(c.text), c.position);
    assert.deepEqual(
      list.items.map((i) => i.label),
      ['Arrival', 'Chase'],
    );
  });
});
