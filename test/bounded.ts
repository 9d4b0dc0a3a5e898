// A bound on a wait in a test: the answer, or a failure naming what did not come. A bound, not a
// timing assertion — it only turns "hangs for ever" into a clear failure.

export function answered<T>(what: string, p: Promise<T>, ms = 15_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
