// Account: the balance as one line, from the provider's balance endpoint where it has one.
import { ProviderError } from '../providers/http';
import type { EngineContext } from './context';
import { backoffDelay } from './limits';
import type { ProviderId } from './types';

/**
 * The balance as a number (KIE credits), retried like `credits`; undefined where the API has no
 * balance endpoint (Kling). Throws when it cannot be read.
 */
export async function balance(
  en: EngineContext,
  provider: ProviderId,
): Promise<number | undefined> {
  const adapter = en.adapter(provider);
  if (!adapter.queryBalance) return undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      return await adapter.queryBalance();
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable || attempt >= 2) throw err;
      await en.sleep(
        err.retryAfterMs ?? backoffDelay(attempt, en.scaled(1000), en.maxWait(), en.random),
      );
    }
  }
}

/** One line: the balance (KIE credits), or where to look when the API has no balance endpoint (Kling). */
export async function credits(en: EngineContext, provider: ProviderId): Promise<string> {
  const adapter = en.adapter(provider);
  const shown = adapter.balance;
  if (!adapter.queryBalance || 'elsewhere' in shown)
    return `${adapter.name}'s API has no balance endpoint; ${'elsewhere' in shown ? shown.elsewhere : 'see its console'}.`;
  for (let attempt = 0; ; attempt++) {
    try {
      return `${shown.label}: ${await adapter.queryBalance()}`;
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.retryable || attempt >= 2) throw err;
      await en.sleep(
        err.retryAfterMs ?? backoffDelay(attempt, en.scaled(1000), en.maxWait(), en.random),
      );
    }
  }
}
