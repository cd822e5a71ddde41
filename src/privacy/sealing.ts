import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { InvalidAppendError } from '../eventstore/errors.js';
import type { NewEvent, RecordedEvent } from '../eventstore/port.js';
import type { DataKey, KeyOwner } from './keyStore.js';
import { PERSONAL_DATA, SHAPES } from './personalData.js';

/**
 * Sealing and opening the personal data of events (AES-256-GCM, one random 96-bit IV per sealed group, the
 * owner's contact id as additional authenticated data). One cipher call per event and owner, not per field: an
 * import seals thousands of events a second.
 *
 * Stored form: the personal fields are removed from `data` and kept, encrypted together, in
 * `data.$pii = [{ k: <owner contactId>, f: [field names], c: base64(iv | tag | ciphertext), s?: shapes }]`; everything else
 * stays readable (and queryable in the store). A group written after its owner was erased has no `c`: its fields
 * were never stored. Opening puts the fields back; when the key is gone they read as the erased markers of
 * personalData.ts and the event's metadata says `erased: true`.
 */
export const SEALED = '$pii';

interface SealedGroup {
  readonly k: string;
  readonly f: readonly string[];
  readonly c?: string;
  /** The readable shape of fields that have one (personalData.ts SHAPES): attribute keys and types. */
  readonly s?: Readonly<Record<string, unknown>>;
}

type Data = Record<string, unknown>;

/** The contacts whose keys sealing these events needs (with their workspace, for keys still to be created). */
export function ownersToSeal(streamId: string, events: readonly NewEvent[]): KeyOwner[] {
  const owners: KeyOwner[] = [];
  for (const event of events) {
    const groups = PERSONAL_DATA[event.type];
    if (groups === undefined || !isRecord(event.data)) continue;
    for (const group of groups) {
      if (!Object.keys(group.fields).some((f) => hasValue(event.data as Data, f))) continue;
      const owner = group.owner(streamId, event.data);
      if (owner === null) throw new InvalidAppendError(`${event.type} carries personal data but names no contact it belongs to`, 'data');
      owners.push({ contactId: owner, workspaceId: event.metadata.workspaceId });
    }
  }
  return owners;
}

/** The event with its personal fields sealed under their owners' keys (erased owners: the fields are dropped). */
export function sealEvent(streamId: string, event: NewEvent, keys: ReadonlyMap<string, DataKey>): NewEvent {
  const groups = PERSONAL_DATA[event.type];
  if (groups === undefined || !isRecord(event.data)) return event;
  const data = event.data;
  let out: Data | null = null;
  const sealed: SealedGroup[] = [];
  for (const group of groups) {
    const fields = Object.keys(group.fields).filter((f) => hasValue(data, f));
    if (fields.length === 0) continue;
    const owner = group.owner(streamId, data)!;
    out ??= { ...data };
    const plain: Data = {};
    for (const f of fields) {
      plain[f] = data[f];
      delete out[f];
    }
    const shaped = fields.filter((f) => SHAPES[f] !== undefined);
    const shapes = shaped.length === 0 ? {} : { s: Object.fromEntries(shaped.map((f) => [f, SHAPES[f]!(data[f])])) };
    const key = keys.get(owner) ?? 'erased';
    sealed.push(key === 'erased' ? { k: owner, f: fields, ...shapes } : { k: owner, f: fields, c: encrypt(key, owner, JSON.stringify(plain)), ...shapes });
  }
  if (out === null) return event;
  out[SEALED] = sealed;
  return { ...event, data: out };
}

/** The contacts whose keys opening these events needs. */
export function ownersToOpen(events: readonly RecordedEvent[], into: Set<string> = new Set()): Set<string> {
  for (const event of events) {
    const sealed = sealedGroups(event.data);
    if (sealed === null) continue;
    for (const group of sealed) if (group.c !== undefined) into.add(group.k);
  }
  return into;
}

/** The event with its personal fields back, or their erased markers when the owner's key is gone. */
export function openEvent(event: RecordedEvent, keys: ReadonlyMap<string, DataKey>): RecordedEvent {
  const sealed = sealedGroups(event.data);
  if (sealed === null) return event;
  const out: Data = { ...(event.data as Data) };
  delete out[SEALED];
  let erased = false;
  for (const group of sealed) {
    const key = group.c === undefined ? 'erased' : (keys.get(group.k) ?? 'erased');
    if (key === 'erased') {
      erased = true;
      const markers = PERSONAL_DATA[event.type]?.find((g) => group.f.every((f) => f in g.fields))?.fields;
      for (const f of group.f) out[f] = markers?.[f]?.(group.k, group.s?.[f]) ?? null;
      continue;
    }
    try {
      Object.assign(out, JSON.parse(decrypt(key, group.k, group.c!)) as Data);
    } catch (error) {
      throw new Error(`The personal data of event ${event.id} (${event.type}) cannot be decrypted: it was altered or sealed under another key`, { cause: error });
    }
  }
  return { ...event, data: out, metadata: erased ? { ...event.metadata, erased: true } : event.metadata };
}

function sealedGroups(data: unknown): readonly SealedGroup[] | null {
  if (!isRecord(data)) return null;
  const sealed = data[SEALED];
  return Array.isArray(sealed) ? (sealed as SealedGroup[]) : null;
}

const isRecord = (value: unknown): value is Data => typeof value === 'object' && value !== null && !Array.isArray(value);
const hasValue = (data: Data, field: string): boolean => data[field] !== undefined && data[field] !== null;

// IVs come from a pool of random bytes: one randomBytes call per 4,096 seals instead of one per seal.
const IV_BYTES = 12;
const POOL_IVS = 4_096;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;

function nextIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_BYTES * POOL_IVS);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

function encrypt(key: Buffer, owner: string, plaintext: string): string {
  const iv = nextIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(owner, 'utf8'));
  const body = cipher.update(plaintext, 'utf8');
  const tail = cipher.final();
  return Buffer.concat([iv, cipher.getAuthTag(), body, tail]).toString('base64');
}

function decrypt(key: Buffer, owner: string, sealed: string): string {
  const bytes = Buffer.from(sealed, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(owner, 'utf8'));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + 16));
  return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + 16)), decipher.final()]).toString('utf8');
}
