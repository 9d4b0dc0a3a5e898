// Content and request hashing. Requests are hashed as canonical JSON (keys sorted) so the
// ledger key does not depend on how an object happened to be built.
import { createHash } from 'node:crypto';

/** Hex SHA-256 of bytes or a string. */
export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

/** Replaces the string at `path` inside a deep copy of `body`. */
export function setAtPath(body: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  if (Array.isArray(body)) {
    const copy = body.slice();
    copy[head as number] = setAtPath(copy[head as number], rest, replacement);
    return copy;
  }
  const obj = (body ?? {}) as Record<string, unknown>;
  return { ...obj, [head as string]: setAtPath(obj[head as string], rest, replacement) };
}
