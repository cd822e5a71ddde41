import { createHash } from 'node:crypto';

/** Namespace of this engine for name-based (v5) uuids. */
const NAMESPACE = Buffer.from('6f1c3b52a2e94e0fa64cd0c7a1b2c3d4', 'hex');

/**
 * A uuid v5 (RFC 9562) of `name`: the same name always gives the same id. Used for event ids derived from a
 * command id, so a retried command's events are recognisable by the store.
 */
export function deterministicUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
