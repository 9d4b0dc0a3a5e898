// Poll: a submitted take is queried (through its provider's adapter) on the documented cadence
// until it succeeds, fails or this run's timeout passes; the remote task is never given up on —
// a run that stops waiting leaves the take for the next render or resume. Done means a video: a
// success that has no result URL yet is asked again later, never recorded as failed.
import { ProviderError } from '../providers/http';
import type { TaskPhase } from '../providers/adapter';
import { Cancelled, minutes, oneLine, seconds, type RunContext, type Step } from './context';
import type { Ledger, StoredEntry } from './ledger';
import { backoffDelay, pollDelay } from './limits';

/** Waits for a submitted take to finish; on success the take moves on to downloading. */
export async function poll(run: RunContext, entry: StoredEntry, ledger: Ledger): Promise<Step> {
  const en = run.engine;
  const adapter = en.adapter(entry.provider);
  const started = entry.submittedAt ?? Date.now();
  // The overall timeout and the cadence count from when *this run* began waiting: a take
  // resumed hours after its submit is polled (quickly at first), not given up on at once.
  const waitStarted = Date.now();
  let extraWait = 0;
  let failures = 0;
  let noUrlYet = 0;
  for (;;) {
    // A ledger write that failed after the create (disk full): tried again at every round.
    await run.retryWrite(ledger, entry);
    const waited = Date.now() - waitStarted;
    if (waited > en.timeoutMs()) {
      return run.stopWith(
        entry,
        ledger,
        `still ${entry.state} after ${minutes(Date.now() - started)}; stopped waiting. The remote task keeps running — render or resume again to pick it up.`,
      );
    }
    await run.wait(
      Math.min(en.maxWait(), Math.max(pollDelay(waited, en.pollBase(), en.random), extraWait)),
    );
    extraWait = 0;
    let phase: TaskPhase;
    let url: string | undefined;
    let watermarkUrl: string | undefined;
    let failure: string | undefined;
    try {
      const status = await adapter.query(entry.endpoint, entry.taskId!, run.signal);
      phase = status.phase;
      url = status.urls[0];
      watermarkUrl = status.watermarkUrls?.[0];
      failure = status.failure;
      // What the provider reports charging for a finished task is kept with the take (saved
      // with the state change that follows); a running task's figure is not final.
      if (status.cost !== undefined && (status.phase === 'succeeded' || status.phase === 'failed'))
        entry.reportedCost = status.cost;
    } catch (err) {
      if (run.signal?.aborted) throw new Cancelled();
      if (err instanceof ProviderError && err.retryable) {
        failures++;
        extraWait =
          err.retryAfterMs ??
          backoffDelay(Math.min(failures, 6), en.pollBase(), en.maxWait(), en.random);
        run.log(`${entry.sceneTitle}: ${err.message}`);
        continue;
      }
      return run.stopWith(
        entry,
        ledger,
        `${oneLine(err)} Stopped waiting; the remote task keeps running — resume later to pick it up.`,
      );
    }
    failures = 0;
    if (phase === 'succeeded' && !url) {
      // Not a failure: the result is being published. Keep the task id and ask again.
      noUrlYet++;
      extraWait = backoffDelay(Math.min(noUrlYet, 6), en.pollBase(), en.maxWait(), en.random);
      const note = `generated, but ${adapter.name} has given no result URL yet; asking again (task ${entry.taskId}).`;
      if (noUrlYet === 1 || entry.error !== note) {
        entry.error = note;
        await run.save(ledger, entry);
        run.emit(entry, `${entry.sceneTitle}: ${note}`);
      }
      continue;
    }
    if (phase === 'succeeded') {
      entry.sourceUrl = url;
      if (wantsWatermark(entry)) entry.watermarkUrl = watermarkUrl;
      entry.state = 'downloading';
      entry.error = undefined;
      await run.save(ledger, entry);
      run.emit(entry, `${entry.sceneTitle}: generated; downloading.`);
      return 'next';
    }
    if (phase === 'failed') return run.fail(entry, ledger, failure ?? 'the task failed.');
    const state = phase === 'running' ? 'running' : entry.state;
    if (state !== entry.state || entry.error) {
      entry.state = state;
      entry.error = undefined;
      await run.save(ledger, entry);
    }
    run.emit(
      entry,
      `${entry.sceneTitle}: ${entry.state === 'running' ? 'running' : 'queued'} (${seconds(Date.now() - started)})`,
    );
  }
}

/** True when the request asked for a watermarked copy too (Kling `watermark_info.enabled`). */
export function wantsWatermark(entry: StoredEntry): boolean {
  const body = entry.body as { watermark_info?: { enabled?: unknown } } | undefined;
  return body?.watermark_info?.enabled === true;
}

/** Asks for the take's result URL again (result URLs expire); keeps the recorded one on any error. */
export async function refreshSourceUrl(run: RunContext, entry: StoredEntry): Promise<void> {
  try {
    const status = await run.engine
      .adapter(entry.provider)
      .query(entry.endpoint, entry.taskId!, run.signal);
    if (status.urls[0]) entry.sourceUrl = status.urls[0];
    if (status.cost !== undefined) entry.reportedCost = status.cost;
    if (wantsWatermark(entry) && status.watermarkUrls?.[0])
      entry.watermarkUrl = status.watermarkUrls[0];
  } catch {
    // Keep the recorded URL; the download itself reports what goes wrong.
  }
}
