/**
 * De-duplication: which active contacts of a workspace are the same person, and which of them survives.
 * Pure; the candidates come from the contacts read model (src/projections/contacts/duplicates.ts) and every
 * merge then goes through MergeContacts (an auditable event pair per duplicate).
 *
 * Rules (a contact matches another when the rule gives both the same non-empty key):
 * - `phone`: the same E.164 phone number (phones are stored normalized, so this is equality).
 * - `external_id`: the same external id (exact, case-sensitive: it is another system's key).
 * - `email_canonical`: the same canonical email (canonicalEmail below): provider folding on top of the
 *   identity normalization (trimmed, NFC, lower-cased, IDN domain in ASCII: src/domain/contacts/email.ts).
 *
 * Several rules at once are transitive: A~B by phone and B~C by external id put A, B and C in one group.
 * Survivor: the oldest contact of the group (created first; on equal times the smaller id), since it usually
 * carries the longest history and its id is the one other systems have seen first.
 */

export const DEDUPE_RULES = ['email_canonical', 'phone', 'external_id'] as const;
export type DedupeRule = (typeof DEDUPE_RULES)[number];

export const isDedupeRule = (value: unknown): value is DedupeRule => (DEDUPE_RULES as readonly unknown[]).includes(value);

/**
 * Mailbox providers whose addresses have variants that deliver to the same mailbox.
 * - `ignoreDots`: dots in the local part are ignored (`a.da@` = `ada@`);
 * - `plusTags`: everything from the first `+` of the local part is a tag (`ada+news@` = `ada@`);
 * - `domain`: the provider's domains are one (`googlemail.com` = `gmail.com`).
 * Other domains are compared as normalized: their servers may treat dots and `+` literally.
 */
export const EMAIL_PROVIDERS: Readonly<Record<string, { readonly domain: string; readonly ignoreDots: boolean; readonly plusTags: boolean }>> = {
  'gmail.com': { domain: 'gmail.com', ignoreDots: true, plusTags: true },
  'googlemail.com': { domain: 'gmail.com', ignoreDots: true, plusTags: true },
  'outlook.com': { domain: 'outlook.com', ignoreDots: false, plusTags: true },
  'hotmail.com': { domain: 'hotmail.com', ignoreDots: false, plusTags: true },
  'live.com': { domain: 'live.com', ignoreDots: false, plusTags: true },
  'icloud.com': { domain: 'icloud.com', ignoreDots: false, plusTags: true },
  'me.com': { domain: 'me.com', ignoreDots: false, plusTags: true },
  'fastmail.com': { domain: 'fastmail.com', ignoreDots: false, plusTags: true },
  'proton.me': { domain: 'proton.me', ignoreDots: false, plusTags: true },
  'protonmail.com': { domain: 'protonmail.com', ignoreDots: false, plusTags: true },
};

/**
 * The canonical form of a normalized email: case-folded, and for the providers above `+tags` removed, dots
 * removed (Gmail) and the domain folded. A local part that would become empty (`+x@gmail.com`) is kept as is.
 * src/projections/contacts/duplicates.ts computes the same in SQL (a test checks they agree).
 */
export function canonicalEmail(email: string): string {
  const lowered = email.toLowerCase();
  const at = lowered.lastIndexOf('@');
  if (at < 0) return lowered;
  const local = lowered.slice(0, at);
  const provider = EMAIL_PROVIDERS[lowered.slice(at + 1)];
  if (provider === undefined) return lowered;
  let folded = provider.plusTags ? local.split('+')[0]! : local;
  if (provider.ignoreDots) folded = folded.replaceAll('.', '');
  return `${folded === '' ? local : folded}@${provider.domain}`;
}

export interface DedupeCandidate {
  readonly id: string;
  /** Normalized. */
  readonly email: string;
  readonly phone: string | null;
  readonly externalId: string | null;
  /** ISO 8601. */
  readonly createdAt: string;
}

export interface DuplicateMatch {
  readonly contact: DedupeCandidate;
  /** The first requested rule by which it matches the survivor (or, transitively, another member). */
  readonly rule: DedupeRule;
  readonly key: string;
}

export interface DuplicateGroup {
  readonly survivor: DedupeCandidate;
  /** Oldest first. */
  readonly duplicates: readonly DuplicateMatch[];
}

export function dedupeKey(rule: DedupeRule, candidate: DedupeCandidate): string | null {
  const raw = rule === 'phone' ? candidate.phone : rule === 'external_id' ? candidate.externalId : canonicalEmail(candidate.email);
  return raw === null || raw.trim() === '' ? null : raw;
}

/** Oldest first; the survivor of a group is its first member. */
export function survivorOrder(a: DedupeCandidate, b: DedupeCandidate): number {
  const byTime = Date.parse(a.createdAt) - Date.parse(b.createdAt);
  if (byTime !== 0) return byTime;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Groups of two or more candidates that match by any of `rules`, ordered by survivor. */
export function groupDuplicates(candidates: readonly DedupeCandidate[], rules: readonly DedupeRule[]): DuplicateGroup[] {
  const unique = [...new Map(candidates.map((c) => [c.id, c])).values()].sort(survivorOrder);
  const parent = unique.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
    return i;
  };
  const keys = unique.map((c) => new Map(rules.map((rule) => [rule, dedupeKey(rule, c)])));
  for (const rule of rules) {
    const firstWithKey = new Map<string, number>();
    unique.forEach((_, i) => {
      const key = keys[i]!.get(rule);
      if (key == null) return;
      const first = firstWithKey.get(key);
      if (first === undefined) firstWithKey.set(key, i);
      else parent[Math.max(root(first), root(i))] = Math.min(root(first), root(i));
    });
  }
  const members = new Map<number, number[]>();
  unique.forEach((_, i) => {
    const r = root(i);
    const list = members.get(r);
    if (list === undefined) members.set(r, [i]);
    else list.push(i);
  });
  const groups: DuplicateGroup[] = [];
  for (const [survivorIndex, group] of members) {
    if (group.length < 2) continue;
    const duplicates = group.filter((i) => i !== survivorIndex).map((i) => ({ contact: unique[i]!, ...matchOf(i, survivorIndex, group, keys, rules) }));
    groups.push({ survivor: unique[survivorIndex]!, duplicates });
  }
  return groups.sort((a, b) => survivorOrder(a.survivor, b.survivor));
}

function matchOf(i: number, survivor: number, group: readonly number[], keys: readonly Map<DedupeRule, string | null>[], rules: readonly DedupeRule[]): { rule: DedupeRule; key: string } {
  for (const candidates of [[survivor], group.filter((j) => j !== i)]) {
    for (const rule of rules) {
      const key = keys[i]!.get(rule);
      if (key != null && candidates.some((j) => keys[j]!.get(rule) === key)) return { rule, key };
    }
  }
  throw new Error('a grouped contact matches no other member'); // unreachable: grouping is by these keys
}
