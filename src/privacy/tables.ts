import type { ColumnType } from 'kysely';

/** The key store of crypto-shredding (migration 013_privacy); part of the one Database interface. */
export type PrivacyTables = {
  contact_keys: ContactKeysTable;
};

export interface ContactKeysTable {
  contact_id: string;
  workspace_id: string;
  /** 32 random bytes (AES-256-GCM); null once the contact was erased (the row stays as a tombstone). */
  data_key: Buffer | null;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  erased_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
