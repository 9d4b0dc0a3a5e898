// Key presence, one home (server/src/render/types.ts hasKeys): what Generate, Show Credits and
// Upload Media ask before a provider call. It is a type guard, so the key it checked is a string.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasKeys, type ProviderKeys } from '../../server/src/render/types';

describe('hasKeys', () => {
  it('KIE needs its API key; Kling needs both the access and the secret key', () => {
    assert.equal(hasKeys({}, 'kie'), false);
    assert.equal(hasKeys({ kieApiKey: '' }, 'kie'), false);
    assert.equal(hasKeys({ kieApiKey: 'k' }, 'kie'), true);
    assert.equal(hasKeys({ kieApiKey: 'k' }, 'kling'), false);
    assert.equal(hasKeys({ klingAccessKey: 'a' }, 'kling'), false);
    assert.equal(hasKeys({ klingAccessKey: 'a', klingSecretKey: '' }, 'kling'), false);
    assert.equal(hasKeys({ klingAccessKey: 'a', klingSecretKey: 's' }, 'kling'), true);
    assert.equal(hasKeys({ klingAccessKey: 'a', klingSecretKey: 's' }, 'kie'), false);
  });

  it('narrows: after the check the key is a string (no second check)', () => {
    const keys: ProviderKeys = { kieApiKey: 'k', klingAccessKey: 'a', klingSecretKey: 's' };
    const kie: string = hasKeys(keys, 'kie') ? keys.kieApiKey : 'none';
    const kling: string = hasKeys(keys, 'kling')
      ? `${keys.klingAccessKey}+${keys.klingSecretKey}`
      : 'none';
    assert.deepEqual([kie, kling], ['k', 'a+s']);
  });
});
