/**
 * PostgreSQL cannot store a NUL character or an unpaired UTF-16 surrogate in `text` or `jsonb`; an input holding
 * one got through validation and failed in the database with a 500 (found by test/fuzz). Every untrusted JSON
 * input (GraphQL variables, NATS command bodies, webhook bodies) is checked with this before anything runs.
 */

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export const UNSTORABLE_TEXT_MESSAGE = 'must not contain NUL characters or unpaired UTF-16 surrogates';

export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && !UNPAIRED_SURROGATE.test(text);
}

/**
 * The path (`input.tags[2]`, relative to `path`) of the first string, key or value, that cannot be stored, or
 * null when there is none. The root itself is reported as `path` ('' when the root is the bad string).
 */
export function unstorableTextPath(value: unknown, path = ''): string | null {
  if (typeof value === 'string') return isStorableText(value) ? null : path;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = unstorableTextPath(item, `${path}[${i}]`);
      if (found !== null) return found;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (!isStorableText(key)) return at;
      const found = unstorableTextPath(item, at);
      if (found !== null) return found;
    }
  }
  return null;
}
