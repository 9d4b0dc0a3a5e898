// Submit: a claimed take's media are filled in (uploaded URL or base64, per the adapter), each
// create attempt is claimed exclusively on disk before it is sent, and a create whose answer does
// not prove that no task was made (server/docs/providers.md, "Creates that fail") is looked up by
// its external id where the provider has one — never re-sent blindly. The task id is reported
// the moment it is known, before the ledger write that records it.
import path from 'node:path';
import { finalMessage, MAY_HAVE_CREATED, ProviderError, retryingMessage } from '../providers/http';
import { Cancelled, minutes, type RunContext, type Step } from './context';
import { setAtPath, sha256 } from './hash';
import type { Ledger, StoredEntry } from './ledger';
import { backoffDelay } from './limits';
import { ownerAlive } from './owner';

const MAX_CREATE_RETRIES = 5;

/** Sends a take's create (once), or finds the task an earlier create made. */
export async function submit(run: RunContext, entry: StoredEntry, ledger: Ledger): Promise<Step> {
  const en = run.engine;
  const adapter = en.adapter(entry.provider);
  // A create that may have been sent before (crash, lost answer) is looked up, never re-sent blindly.
  if (entry.createSentAt !== undefined) {
    if (!adapter.findByExternalId)
      return unknownWithoutLookup(
        run,
        entry,
        ledger,
        'the previous run stopped while its createTask was in flight',
      );
    const found = await lookUp(run, entry);
    if (found === 'error') return unknownAfterLookup(run, entry, ledger);
    if (found) return accepted(run, entry, ledger, found);
  }

  let body: unknown;
  try {
    body = await materialize(run, entry);
  } catch (err) {
    if (err instanceof Cancelled || run.signal?.aborted) throw new Cancelled();
    return run.fail(
      entry,
      ledger,
      `could not prepare the media: ${finalMessage(err)} Nothing was submitted.`,
    );
  }
  await run.save(ledger, entry);

  const gate = en.gates[entry.provider];
  let ambiguous = entry.createSentAt !== undefined;
  const submitStarted = Date.now();
  for (let attempt = 0; ; attempt++) {
    if (Date.now() - submitStarted > en.timeoutMs()) {
      return run.fail(
        entry,
        ledger,
        `could not submit within ${minutes(en.timeoutMs())} (the provider kept refusing new tasks). Nothing was charged.`,
      );
    }
    try {
      await gate.admit(run.signal);
    } catch {
      throw new Cancelled();
    }
    // Each create attempt is claimed exclusively on disk first, so two processes resuming the
    // same take (CLI next to the editor) can never both send it.
    const slot = (entry.createAttempts ?? 0) + 1;
    const claim = await ledger.claimCreate(entry, slot);
    entry.createAttempts = slot;
    // Recorded before the call: if we die during it, the next run knows to check first.
    entry.createSentAt = Date.now();
    if (claim !== true) {
      if (claim && ownerAlive(claim.owner, claim.at)) {
        // Reported, never saved: the ledger file is the other process's to write.
        entry.error = `being submitted by another running process (pid ${claim.owner.pid}); not touched here.`;
        en.leftToOthers.add(entry);
        run.emit(entry, `${entry.sceneTitle}: ${entry.error}`);
        return 'stop';
      }
      // Whoever claimed this attempt is gone and may have sent it: check, never re-send blindly.
      await run.save(ledger, entry);
      const why = 'another run stopped while its create was in flight';
      if (!adapter.findByExternalId) return unknownWithoutLookup(run, entry, ledger, why);
      const found = await lookUp(run, entry);
      if (found === 'error') return unknownAfterLookup(run, entry, ledger);
      if (found) return accepted(run, entry, ledger, found);
      ambiguous = true;
      entry.createSentAt = undefined;
      await run.save(ledger, entry);
      continue;
    }
    await run.save(ledger, entry);
    let taskId: string;
    // No abort signal: a create runs to its answer so its task id is never lost to a cancel
    // (the CLI also waits for it on Ctrl+C: see `createsInFlight`).
    en.createsInFlight.add(entry);
    try {
      taskId = await adapter.create(entry.endpoint, body);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.mayHaveReachedServer) {
        ambiguous = true;
        run.log(`${entry.sceneTitle}: ${err.message}`);
        if (!adapter.findByExternalId) return unknownWithoutLookup(run, entry, ledger, err.message);
        const found = await lookUp(run, entry);
        if (found === 'error') return unknownAfterLookup(run, entry, ledger);
        if (found) return accepted(run, entry, ledger, found);
        if (attempt >= 3) return unknownAfterLookup(run, entry, ledger);
        // Not found: the create did not happen. Re-sending with the same external id is safe:
        // the provider keeps that id unique, so a late duplicate would be refused.
        entry.createSentAt = undefined;
        await run.save(ledger, entry);
        await run.wait(backoffDelay(attempt, en.scaled(1000), en.maxWait(), en.random));
        continue;
      }
      // A definite refusal: nothing was created.
      entry.createSentAt = undefined;
      if (err.rateLimited) {
        const wait = Math.min(
          en.maxWait(),
          err.retryAfterMs ??
            gate.windowMs ??
            backoffDelay(attempt, en.scaled(1000), en.scaled(60_000), en.random),
        );
        gate.pause(wait);
        entry.error = retryingMessage(err, wait);
        await run.save(ledger, entry);
        run.emit(entry, `${entry.sceneTitle}: ${entry.error}`);
        continue;
      }
      if (adapter.findByExternalId && (ambiguous || adapter.maybeDuplicate?.(err))) {
        // The create may have been refused because a task with this external id exists: the
        // first create landed after all, or the ledger was deleted after an earlier run of this
        // very take. Either way it is this take's task: follow it, never pay again.
        const found = await lookUp(run, entry);
        if (found && found !== 'error') {
          if (!ambiguous)
            run.log(
              `${entry.sceneTitle}: ${adapter.name} already has task ${found} for ${entry.externalTaskId}; following it.`,
            );
          return accepted(run, entry, ledger, found);
        }
      }
      if (err.retryable && attempt < MAX_CREATE_RETRIES) {
        const wait = Math.min(
          en.maxWait(),
          err.retryAfterMs ?? backoffDelay(attempt, en.scaled(2000), en.scaled(60_000), en.random),
        );
        entry.error = retryingMessage(err, wait);
        await run.save(ledger, entry);
        run.emit(entry, `${entry.sceneTitle}: ${entry.error}`);
        await run.wait(wait);
        continue;
      }
      return run.fail(entry, ledger, `${finalMessage(err)} Nothing was submitted.`);
    } finally {
      en.createsInFlight.delete(entry);
    }
    return accepted(run, entry, ledger, taskId);
  }
}

/** Fills local media into the body as the adapter sends them (uploaded URL or raw base64); updates `entry.request`. */
async function materialize(run: RunContext, entry: StoredEntry): Promise<unknown> {
  const en = run.engine;
  const how = en.adapter(entry.provider).media;
  let body = entry.body;
  let shown = entry.body;
  await Promise.all(
    entry.media.map(async (m) => {
      const bytes = await en.readFile(m.absPath);
      if (sha256(bytes) !== m.sha256) {
        throw new Error(
          `${m.absPath} changed since take ${entry.take} was recorded; generate again.`,
        );
      }
      if (how === 'uploaded-url') {
        const url = await en.uploader.urlFor(bytes, m.sha256, m.absPath, run.signal);
        body = setAtPath(body, m.path, url);
        shown = setAtPath(shown, m.path, url);
      } else {
        body = setAtPath(body, m.path, Buffer.from(bytes).toString('base64'));
        shown = setAtPath(
          shown,
          m.path,
          `<base64 of ${path.basename(m.absPath)}, ${kb(bytes.length)}, sha256:${m.sha256.slice(0, 12)}>`,
        );
      }
    }),
  );
  if (entry.externalTaskId) {
    body = { ...(body as Record<string, unknown>), external_task_id: entry.externalTaskId };
    shown = { ...(shown as Record<string, unknown>), external_task_id: entry.externalTaskId };
  }
  entry.request = shown;
  return body;
}

/** Looks a take up by its external id: task id, undefined (not created) or 'error'. */
async function lookUp(run: RunContext, entry: StoredEntry): Promise<string | undefined | 'error'> {
  const en = run.engine;
  const adapter = en.adapter(entry.provider);
  if (!entry.externalTaskId || !adapter.findByExternalId) return 'error';
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      return await adapter.findByExternalId(entry.endpoint, entry.externalTaskId, run.signal);
    } catch (err) {
      if (run.signal?.aborted) throw new Cancelled();
      if (!(err instanceof ProviderError) || !err.retryable) return 'error';
      await run.wait(
        err.retryAfterMs ?? backoffDelay(attempt, en.scaled(1000), en.maxWait(), en.random),
      );
    }
  }
  return 'error';
}

async function accepted(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
  taskId: string,
): Promise<Step> {
  // A task id already recorded for a different request is not ours to follow: its video would be
  // saved as this scene's. The create may still have made a task of ours, so nothing is re-sent.
  const clash = (await ledger.list()).find(
    (e) =>
      e.taskId === taskId && e.provider === entry.provider && e.requestHash !== entry.requestHash,
  );
  if (clash) {
    entry.state = 'unknown-submit';
    return run.stopWith(
      entry,
      ledger,
      `the provider answered with task ${taskId}, which is already take ${clash.take} of "${clash.sceneTitle}" (a different request); ` +
        `not followed, and not re-sent to avoid paying twice. Check the provider's task list; ${run.engine.newTakeHint()} to submit again.`,
    );
  }
  entry.taskId = taskId;
  entry.state = 'submitted';
  entry.submittedAt = Date.now();
  entry.error = undefined;
  // Reported first: if the write below fails, the id has been printed/logged already (and the
  // save keeps it in memory and retries, see RunContext.save).
  run.emit(entry, `${entry.sceneTitle}: submitted (task ${taskId}).`);
  await run.save(ledger, entry);
  return 'next';
}

/** A create that may have been delivered, on a provider that cannot look it up (KIE). */
function unknownWithoutLookup(
  run: RunContext,
  entry: StoredEntry,
  ledger: Ledger,
  why: string,
): Promise<Step> {
  entry.state = 'unknown-submit';
  // What is known: the provider's answer (or the lack of one), without the "may have" tail
  // that the sentence below says in full.
  const known = why.replace(new RegExp(`;? ?${MAY_HAVE_CREATED}\\.?$`), '').replace(/\.$/, '');
  return run.stopWith(
    entry,
    ledger,
    `createTask may have created a task at KIE: its answer does not prove otherwise (${known}). ` +
      'KIE offers no way to look the task up, so it was NOT re-sent to avoid paying twice. ' +
      `Check https://kie.ai/logs; ${run.engine.newTakeHint()} to submit again.`,
  );
}

/** A create that may have been delivered and could not be confirmed by its external id. */
function unknownAfterLookup(run: RunContext, entry: StoredEntry, ledger: Ledger): Promise<Step> {
  entry.state = 'unknown-submit';
  return run.stopWith(
    entry,
    ledger,
    `the create may have reached Kling but could not be confirmed by its external_task_id (${entry.externalTaskId}); ` +
      `it was NOT re-sent to avoid paying twice. Resume later to look it up again, or ${run.engine.newTakeHint()}.`,
  );
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MB`
    : `${Math.ceil(bytes / 1024)} KB`;
}
