import { describe, expect, it } from 'vitest';
import { deterministicUuid } from '../../../src/domain/shared/ids.js';

// Ids already stored (event ids, contact ids) must never change: these were computed with the createHash version.
const KNOWN: readonly [string, string][] = [
  ['', 'cb49bcbf-4f7a-51dc-b8ab-23aa4a647129'],
  ['contact:ws-1:ada@example.com', '08659055-ee21-5843-958b-6d9494394b5c'],
  ['import:job:7:contact-x:0', '975601ce-cb59-5531-8820-555bf51c06ab'],
  ['contact:ws:zoë@exämple.com', '6feca038-5de5-5623-996d-c52a0008255f'],
  ['x'.repeat(300), 'aff04dd4-00ae-5b15-9f6e-1c469ea42b38'],
];

describe('deterministicUuid', () => {
  it('gives the same v5 uuids as before, for ASCII, non-ASCII and names longer than its reused buffer', () => {
    for (const [name, id] of KNOWN) expect(deterministicUuid(name)).toBe(id);
  });

  it('is a version-5, RFC-variant uuid, and stays correct after a long name grew its buffer', () => {
    const ids = ['a', 'x'.repeat(5_000), 'b', 'contact:ws-1:ada@example.com'].map(deterministicUuid);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(ids[3]).toBe(KNOWN[1]![1]);
    expect(new Set(ids).size).toBe(4);
  });
});
