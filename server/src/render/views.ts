// Expand Element Views: Kling AI Multi-Shot makes three more views of a subject from one frontal
// image; they are saved next to it (`<name>-view-1.png` …).
import path from 'node:path';
import { klingFailureMessage, klingPhase } from '../providers/kling';
import { ProviderError } from '../providers/http';
import { minutes, type EngineContext } from './context';
import { downloadTo } from './download';
import { sha256 } from './hash';
import { pollDelay } from './limits';

/** Generates the extra views of a frontal image and returns their absolute paths. */
export async function expandElementViews(
  en: EngineContext,
  frontalImageAbsPath: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const client = en.klingClient();
  const bytes = await en.readFile(frontalImageAbsPath);
  const hash = sha256(bytes);
  const ext = `ksb-views-${hash.slice(0, 16)}-${Date.now().toString(36)}`;
  const created = await client.createMultiShot(Buffer.from(bytes).toString('base64'), ext, signal);
  const started = Date.now();
  let task = created;
  while (klingPhase(task.status) !== 'succeeded') {
    if (klingPhase(task.status) === 'failed') throw new Error(klingFailureMessage(task));
    if (Date.now() - started > en.timeoutMs()) {
      throw new Error(
        `Kling AI Multi-Shot still running after ${minutes(en.timeoutMs())}; try again later.`,
      );
    }
    await en.sleep(pollDelay(Date.now() - started, en.pollBase(), en.random), signal);
    try {
      task = await client.queryMultiShot(created.taskId, signal);
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable) throw err;
    }
  }
  if (task.imageUrls.length === 0)
    throw new Error('Kling AI Multi-Shot succeeded but returned no images.');
  const dir = path.dirname(frontalImageAbsPath);
  const base = path.basename(frontalImageAbsPath).replace(/\.[^.]+$/, '');
  const out: string[] = [];
  for (const [i, url] of task.imageUrls.entries()) {
    const extName = /\.(png|jpe?g)(\?|$)/i.exec(url)?.[1]?.toLowerCase() ?? 'png';
    const target = path.join(dir, `${base}-view-${i + 1}.${extName === 'jpeg' ? 'jpg' : extName}`);
    await downloadTo(url, target, { fetch: en.opts.fetch, timeoutMs: 120_000, signal });
    out.push(target);
  }
  return out;
}
