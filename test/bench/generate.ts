// The generated storyboards of `npm run bench`, and the request JSON their scenes would send
// (the KIE `createTask` bodies, built from the same generated data). Deterministic: every run
// benchmarks the same text.

const WORDS =
  'a golden retriever puppy runs across the sunlit rehearsal room while the camera tracks low and slow past chairs lamps and a piano then cranes up to reveal the window where rain begins to fall'.split(
    ' ',
  );

/** Deterministic pseudo-random numbers, so every run benchmarks the same text. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function sentence(rand: () => number, words: number, refs: string[]): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(rand() * WORDS.length)]);
  for (const r of refs) out.splice(Math.floor(rand() * out.length), 0, `@${r}`);
  return out.join(' ') + '.';
}

export interface Generated {
  text: string;
  /** The request bodies the scenes would send (kie shape). */
  requests: unknown[];
  /** The same, as one JSON array. */
  requestJson: string;
  scenes: number;
}

const ELEMENTS = ['dog', 'cat', 'owl'];

/** A storyboard of at least `targetBytes` (or exactly `sceneCount` scenes), and its requests. */
export function generate(targetBytes: number, sceneCount = Infinity): Generated {
  const rand = rng(42);
  const parts: string[] = [
    '# Generated benchmark storyboard',
    'provider: kie',
    'mode: pro',
    'aspect: 16:9',
    '',
  ];
  const elementJson = new Map<string, unknown>();
  for (const name of ELEMENTS) {
    const description = sentence(rand, 12, []);
    parts.push(
      `[element ${name}]`,
      `images: refs/${name}-1.jpg, refs/${name}-2.jpg`,
      description,
      '',
    );
    elementJson.set(name, {
      name,
      description,
      element_input_urls: [
        `https://files.example/refs/${name}-1.jpg`,
        `https://files.example/refs/${name}-2.jpg`,
      ],
    });
  }
  const requests: unknown[] = [];
  let size = parts.join('\n').length;
  let n = 0;
  while (size < targetBytes && n < sceneCount) {
    n++;
    const scene: string[] = [`[scene Scene ${n}]`];
    const ref = ELEMENTS[n % ELEMENTS.length];
    scene.push(`first-frame: frames/f${n % 50}.jpg`);
    const input: Record<string, unknown> = {
      mode: 'pro',
      image_urls: [`https://files.example/frames/f${n % 50}.jpg`],
    };
    if (n % 2 === 0) {
      const prompt = sentence(rand, 30, [ref]);
      scene.push('duration: 5', prompt);
      Object.assign(input, { prompt, duration: '5', sound: false, multi_shots: false });
    } else {
      const shots = [3, 4, 3].map((d) => ({ prompt: sentence(rand, 20, [ref]), duration: d }));
      scene.push('duration: 10', '');
      for (const s of shots) scene.push(`[shot ${s.duration}s]`, s.prompt, '');
      Object.assign(input, {
        prompt: '',
        duration: '10',
        sound: true,
        multi_shots: true,
        multi_prompt: shots,
      });
    }
    input.kling_elements = [elementJson.get(ref)];
    requests.push({ model: 'kling-3.0/video', input });
    scene.push('');
    const block = scene.join('\n');
    parts.push(block);
    size += block.length + 1;
  }
  return { text: parts.join('\n'), requests, requestJson: JSON.stringify(requests), scenes: n };
}
