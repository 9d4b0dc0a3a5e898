// Where the results panel's "Reveal" and "Open" buttons send a take, by kind of window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  filesAreLocal,
  planOpen,
  planReveal,
  takeActionLabels,
  type WindowFacts,
} from '../../client/src/webview/openPlan';

const desktop: WindowFacts = {
  desktop: true,
  remoteName: undefined,
  hasRevealFileInOS: true,
  platform: 'linux',
};
// What code-server 4.100.3 reports to an extension (measured in the integration run).
const codeServer: WindowFacts = {
  desktop: false,
  remoteName: '127.0.0.1:8080',
  hasRevealFileInOS: false,
  platform: 'linux',
};
const remoteSsh: WindowFacts = { ...desktop, remoteName: 'ssh-remote' };

test('a local desktop window uses the operating system', () => {
  assert.equal(filesAreLocal(desktop), true);
  assert.deepEqual(planReveal(desktop, true), { kind: 'os' });
  assert.deepEqual(planReveal(desktop, false), { kind: 'os' });
  assert.deepEqual(planOpen(desktop), { kind: 'system' });
  assert.equal(takeActionLabels(desktop).open, 'Open with system player');
  assert.equal(takeActionLabels(desktop).reveal, 'Reveal in File Explorer');
  assert.equal(takeActionLabels({ ...desktop, platform: 'darwin' }).reveal, 'Reveal in Finder');
});

test('a browser window (code-server) never hands a server path to the browser', () => {
  assert.equal(filesAreLocal(codeServer), false);
  assert.deepEqual(planReveal(codeServer, true), { kind: 'explorer' });
  assert.deepEqual(planReveal(codeServer, false), { kind: 'editor' });
  assert.deepEqual(planOpen(codeServer), { kind: 'editor' });
  assert.equal(takeActionLabels(codeServer).open, 'Open in VS Code');
  assert.match(takeActionLabels(codeServer).soundAdvice, /Download/);
});

test('a desktop window on a remote host treats files as remote even though revealFileInOS exists', () => {
  assert.equal(filesAreLocal(remoteSsh), false);
  assert.deepEqual(planReveal(remoteSsh, true), { kind: 'explorer' });
  assert.deepEqual(planOpen(remoteSsh), { kind: 'editor' });
});

test('a desktop window without revealFileInOS falls back to the Explorer', () => {
  const noOs = { ...desktop, hasRevealFileInOS: false };
  assert.deepEqual(planReveal(noOs, true), { kind: 'explorer' });
  assert.deepEqual(planReveal(noOs, false), { kind: 'editor' });
  assert.deepEqual(planOpen(noOs), { kind: 'system' });
});
