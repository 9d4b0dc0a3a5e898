// Uploads from outside the storyboard's folder (CLI and engine) or the workspace (extension) are
// judged on real paths: a symlink inside that points outside needs the confirmation, and a
// folder reached through a symlink is still inside.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { isInside } from '../../server/src/render/fsutil';
import { outsideFolders } from '../../server/src/render/plan';
import { startFakeServer, type FakeServer } from '../fake-server/server';
import { makePng } from '../fake-server/png';
import { engineFor, makeProject, type Project } from './helpers';

const BOARD = `provider: kie
mode: std

[scene Linked]
duration: 5
first-frame: refs/linked.png
A quiet stage.
`;

describe('outside-folder uploads compare real paths', () => {
  let server: FakeServer;
  let project: Project;
  let elsewhere: string;

  before(async () => {
    server = await startFakeServer({ pollsToFinish: 1 });
  });
  after(() => server.close());
  beforeEach(() => {
    server.reset();
    project = makeProject();
    elsewhere = mkdtempSync(path.join(os.tmpdir(), 'ksb-elsewhere-'));
    writeFileSync(path.join(elsewhere, 'secret.png'), makePng(400, 300, 9));
  });

  it('a symlink inside the storyboard folder that points outside asks first; refused, nothing is sent', async () => {
    symlinkSync(path.join(elsewhere, 'secret.png'), path.join(project.dir, 'refs', 'linked.png'));
    const file = project.file('board.kling', BOARD);
    const asked: string[] = [];
    const { engine } = engineFor(server, project, {
      confirmOutsideUpload: async (p) => {
        asked.push(p);
        return false;
      },
    });
    const [entry] = await engine.render({ storyboardPath: file, text: BOARD });
    assert.deepEqual(asked, [path.join(project.dir, 'refs', 'linked.png')]);
    assert.equal(entry!.state, 'failed');
    assert.match(entry!.error!, /outside the storyboard's folder and was not allowed/);
    assert.equal(server.state.uploadCount(), 0);
    assert.equal(server.state.hits('kie.createTask'), 0);
  });

  it('allowed, the linked file is sent', async () => {
    symlinkSync(path.join(elsewhere, 'secret.png'), path.join(project.dir, 'refs', 'linked.png'));
    const file = project.file('board.kling', BOARD);
    const { engine } = engineFor(server, project, { confirmOutsideUpload: async () => true });
    const [entry] = await engine.render({ storyboardPath: file, text: BOARD });
    assert.equal(entry!.state, 'done', entry!.error);
    assert.equal(server.state.uploadCount(), 1);
  });

  it('a project reached through a symlinked folder is inside: no question', async () => {
    writeFileSync(path.join(project.dir, 'refs', 'linked.png'), makePng(400, 300, 8));
    project.file('board.kling', BOARD);
    const link = `${project.dir}-via-link`;
    symlinkSync(project.dir, link);
    const asked: string[] = [];
    const { engine } = engineFor(server, project, {
      confirmOutsideUpload: async (p) => {
        asked.push(p);
        return false;
      },
    });
    const [entry] = await engine.render({
      storyboardPath: path.join(link, 'board.kling'),
      text: BOARD,
    });
    assert.equal(entry!.state, 'done', entry!.error);
    assert.deepEqual(asked, []);
  });

  it('outsideFolders (the extension’s workspace check): links resolved on both sides', async () => {
    const ws = mkdtempSync(path.join(os.tmpdir(), 'ksb-ws-'));
    mkdirSync(path.join(ws, 'media'));
    writeFileSync(path.join(ws, 'media', 'in.png'), makePng(300, 300, 1));
    symlinkSync(path.join(elsewhere, 'secret.png'), path.join(ws, 'media', 'out.png'));
    const wsLink = `${ws}-link`;
    symlinkSync(ws, wsLink);
    assert.equal(await outsideFolders(path.join(ws, 'media', 'in.png'), [ws]), false);
    assert.equal(await outsideFolders(path.join(ws, 'media', 'in.png'), [wsLink]), false);
    assert.equal(await outsideFolders(path.join(wsLink, 'media', 'in.png'), [ws]), false);
    assert.equal(await outsideFolders(path.join(ws, 'media', 'out.png'), [ws]), true);
    assert.equal(await outsideFolders(path.join(elsewhere, 'secret.png'), [ws, wsLink]), true);
    assert.equal(await outsideFolders(path.join(elsewhere, 'secret.png'), []), true);
    // A name that only starts with `..` is inside; `..` as a step is not.
    writeFileSync(path.join(ws, 'media', '..dots.png'), makePng(300, 300, 2));
    assert.equal(await outsideFolders(path.join(ws, 'media', '..dots.png'), [ws]), false);
    assert.equal(isInside(ws, path.join(ws, '..x', 'a.png')), true);
    assert.equal(isInside(ws, path.join(ws, '..', 'a.png')), false);
    assert.equal(isInside(ws, ws), true);
  });
});
