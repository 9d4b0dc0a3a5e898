import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  costProfile,
  DEFAULT_RATES,
  estimateCost,
  estimateRequest,
  formatEstimate,
  formatTotal,
  mergeRates,
  parseRates,
  totalEstimate,
  type CostObservation,
} from '../../server/src/core/estimate';
import { parseStoryboard } from '../../server/src/core/parse';
import { buildRequests } from '../../server/src/core/request';
import { createLanguageService } from '../../server/src/core/service';

/** The estimate of each scene of a storyboard, as the front ends compute it. */
function estimates(text: string, options: Parameters<typeof estimateRequest>[1] = {}) {
  return buildRequests(parseStoryboard(text).storyboard).map((r) => estimateRequest(r, options));
}

describe('cost estimate', () => {
  it('reads seconds, mode and sound from the KIE body that would be sent', () => {
    const [single, multi, silent] = buildRequests(
      parseStoryboard(`provider: kie
[scene A]
mode: pro
duration: 10
sound: on
A dog.
[scene B]
[shot 4s]
One.
[shot 3s]
Two.
[scene C]
mode: 4K
duration: 7
sound: off
Cat.`).storyboard,
    );
    assert.deepEqual(costProfile('kie', single!.body), {
      provider: 'kie',
      seconds: 10,
      mode: 'pro',
      sound: true,
    });
    // A KIE multi-shot scene always has sound (KIE's default): it is priced that way.
    assert.deepEqual(costProfile('kie', multi!.body), {
      provider: 'kie',
      seconds: 7,
      mode: 'std',
      sound: true,
    });
    assert.deepEqual(costProfile('kie', silent!.body), {
      provider: 'kie',
      seconds: 7,
      mode: '4K',
      sound: false,
    });
  });

  it('reads the Kling body (sound "on"/"off", string duration)', () => {
    const [r] = buildRequests(
      parseStoryboard(`provider: kling
[scene A]
mode: pro
duration: 8
sound: on
A dog.`).storyboard,
    );
    assert.deepEqual(costProfile('kling', r!.body), {
      provider: 'kling',
      seconds: 8,
      mode: 'pro',
      sound: true,
    });
  });

  it('scales with seconds, mode and sound on KIE (default table, labelled a community figure)', () => {
    const [a, b, c, d] = estimates(`provider: kie
[scene A]
duration: 5
sound: off
x
[scene B]
duration: 10
sound: off
x
[scene C]
duration: 10
sound: on
x
[scene D]
mode: pro
duration: 10
sound: on
x`);
    assert.equal(a!.amount, 60);
    assert.equal(b!.amount, 120);
    assert.equal(c!.amount, 180);
    assert.equal(d!.amount, 240);
    assert.equal(d!.unit, 'credits');
    assert.equal(d!.source, 'default');
    assert.match(d!.basis, /community figure, not documented/);
    assert.equal(formatEstimate(d!), '≈ 240 credits');
  });

  it('says unknown (never 0) where no rate is known: 4K on KIE, anything on Kling', () => {
    const [k4] = estimates(`[scene A]
mode: 4K
duration: 10
x`);
    assert.equal(k4!.amount, undefined);
    assert.equal(formatEstimate(k4!), 'cost unknown');
    assert.match(k4!.basis, /no known rate/);
    const [kling] = estimates(`provider: kling
[scene A]
duration: 10
x`);
    assert.equal(kling!.amount, undefined);
    assert.equal(kling!.unit, 'units');
    assert.equal(formatEstimate(kling!), 'cost unknown');
  });

  it('user rates override the defaults, cell by cell', () => {
    const { rates, errors } = parseRates('kie.pro.sound=30, kling.std=0.5');
    assert.deepEqual(errors, []);
    const pro = estimateCost(
      { provider: 'kie', seconds: 10, mode: 'pro', sound: true },
      { overrides: rates },
    );
    assert.equal(pro.amount, 300);
    assert.equal(pro.source, 'setting');
    // Not overridden: still the default.
    const std = estimateCost(
      { provider: 'kie', seconds: 10, mode: 'std', sound: false },
      { overrides: rates },
    );
    assert.equal(std.amount, 120);
    // `kling.std` without .sound/.silent sets both.
    for (const sound of [true, false]) {
      const e = estimateCost(
        { provider: 'kling', seconds: 6, mode: 'std', sound },
        { overrides: rates },
      );
      assert.equal(e.amount, 3);
      assert.equal(formatEstimate(e), '≈ 3 units');
    }
  });

  it('parses JSON tables (flat and nested) and reports what it cannot read', () => {
    assert.deepEqual(parseRates({ 'kie.4K.sound': 40 }).rates, { kie: { '4K': { sound: 40 } } });
    assert.deepEqual(parseRates('{"kling":{"pro":{"silent":1.2}}}').rates, {
      kling: { pro: { silent: 1.2 } },
    });
    const bad = parseRates({ 'kie.ultra': 3, 'kie.pro': -1, 'openai.std': 2 });
    assert.equal(bad.errors.length, 3);
    assert.deepEqual(bad.rates, {});
    assert.deepEqual(parseRates('kie.pro').errors, ['rates: "kie.pro" is not KEY=NUMBER']);
    assert.deepEqual(mergeRates({ kie: { pro: { sound: 1 } } }, { kie: { pro: { silent: 2 } } }), {
      kie: { pro: { sound: 1, silent: 2 } },
    });
  });

  it('reported costs of earlier takes refine the estimate (latest 5, same mode and sound)', () => {
    const obs = (cost: number, seconds: number, at: number, mode = 'pro' as const) =>
      ({ provider: 'kie', mode, sound: true, seconds, cost, at }) satisfies CostObservation;
    const history = [
      obs(100, 10, 1),
      obs(150, 10, 2),
      obs(150, 10, 3),
      obs(75, 5, 4),
      obs(999, 10, 5, 'std' as never),
    ];
    const e = estimateCost(
      { provider: 'kie', seconds: 10, mode: 'pro', sound: true },
      { history, overrides: parseRates('kie.pro=99').rates },
    );
    // (100+150+150+75) / 35 s × 10 s
    assert.equal(Math.round(e.amount!), 136);
    assert.equal(e.source, 'history');
    assert.equal(e.takes, 4);
    assert.equal(e.basis, 'from your last 4 takes in pro with sound');
    // Only the latest five count.
    const many = [1, 2, 3, 4, 5, 6].map((at) => obs(at <= 1 ? 1000 : 100, 10, at));
    const latest = estimateCost(
      { provider: 'kie', seconds: 10, mode: 'pro', sound: true },
      { history: many },
    );
    assert.equal(latest.amount, 100);
    assert.equal(latest.takes, 5);
    // History makes a Kling rate known.
    const kling = estimateCost(
      { provider: 'kling', seconds: 5, mode: 'std', sound: false },
      {
        history: [{ provider: 'kling', mode: 'std', sound: false, seconds: 10, cost: 2, at: 1 }],
      },
    );
    assert.equal(kling.amount, 1);
    assert.equal(kling.basis, 'from your last take in std without sound');
  });

  it('totals: known part plus how many are unknown; nothing to pay is 0', () => {
    const known = { amount: 120, unit: 'credits' as const };
    const unknown = { amount: undefined, unit: 'credits' as const };
    assert.equal(formatTotal(totalEstimate([known, known])), '≈ 240 credits');
    assert.equal(
      formatTotal(totalEstimate([known, unknown])),
      '≈ 120 credits + 1 scene of unknown cost',
    );
    assert.equal(formatTotal(totalEstimate([unknown])), 'cost unknown');
    assert.equal(formatTotal(totalEstimate([])), '0 credits');
  });

  it('the default table has no 4K or Kling figure (none exists to cite)', () => {
    assert.equal(DEFAULT_RATES.kie['4K'], undefined);
    assert.deepEqual(DEFAULT_RATES.kling, {});
  });
});

describe('cost on the scene header hover', () => {
  const text = `[scene Walk]
mode: pro
duration: 10
sound: on
A dog walks.
[scene Far]
mode: 4K
duration: 5
A cat.`;
  async function hoverAt(line: number, settings = {}): Promise<string> {
    const s = createLanguageService({ settings });
    const h = await s.hover(
      { uri: 'file:///w/s.kling', version: 1, getText: () => text },
      { line, character: 3 },
    );
    assert.ok(h && typeof h.contents === 'object' && 'value' in h.contents);
    return h.contents.value;
  }

  it('shows the estimate and its basis, unknown where no rate is known', async () => {
    assert.match(
      await hoverAt(0),
      /Cost: \*\*≈ 240 credits\*\* — estimate \(24 credits\/s in pro with sound: a community figure, not documented by KIE\)/,
    );
    assert.match(await hoverAt(5), /Cost: \*\*cost unknown\*\* — estimate \(no known rate/);
  });

  it('uses the rates from the settings (kling.rates)', async () => {
    const md = await hoverAt(5, { rates: parseRates({ 'kie.4K': 40 }).rates });
    assert.match(md, /Cost: \*\*≈ 200 credits\*\* — estimate \(your rate: 40 credits\/s/);
  });
});
