import { ValidationError } from '../errors.js';

export const MAX_PAGE_SIZE = 100;

export interface Connection<Node> {
  readonly edges: readonly { readonly cursor: string; readonly node: Node }[];
  readonly pageInfo: { readonly hasNextPage: boolean; readonly endCursor: string | null };
}

/** `first` of a connection: 1..100, else BAD_USER_INPUT naming the argument. */
export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new ValidationError('first', `first must be between 1 and ${MAX_PAGE_SIZE}.`);
  }
  return first;
}

/** Cursors are opaque to clients: base64url of a small JSON value. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes `after`; `parse` checks the shape and returns undefined when it is not a cursor of this connection. */
export function decodeCursor<T>(cursor: string, parse: (value: unknown) => T | undefined): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = parse(value);
  if (parsed === undefined) throw new ValidationError('after', 'after is not a valid cursor.');
  return parsed;
}

export function toConnection<Row, Node>(
  rows: readonly Row[],
  hasNextPage: boolean,
  cursorOf: (row: Row) => string,
  toNode: (row: Row) => Node,
): Connection<Node> {
  const edges = rows.map((row) => ({ cursor: cursorOf(row), node: toNode(row) }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}
