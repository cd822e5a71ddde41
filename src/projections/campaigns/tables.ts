/** Read-model tables of the campaigns slice; part of the one Database interface (src/projections/db/schema.ts). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled in by the campaigns slice
export interface CampaignTables {}
