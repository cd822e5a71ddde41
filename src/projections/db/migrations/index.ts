import type { Migration } from 'kysely';
import * as projectionRuntime from './001_projection_runtime.js';
import * as identityAndAccess from './002_identity_and_access.js';
import * as activity from './003_activity.js';
import * as contacts from './004_contacts.js';
import * as segments from './005_segments.js';
import * as templates from './006_templates.js';
import * as campaigns from './007_campaigns.js';
import * as deliveryLedger from './008_delivery_ledger.js';
import * as importJobs from './009_import_jobs.js';
import * as privacy from './013_privacy.js';
import * as abTestPhase from './010_ab_test_phase.js';
import * as temporal from './011_temporal.js';

/** Read-side migrations, applied in key order by kysely's Migrator. Add new ones with the next number. */
export const readModelMigrations: Record<string, Migration> = {
  '001_projection_runtime': projectionRuntime,
  '002_identity_and_access': identityAndAccess,
  '003_activity': activity,
  '004_contacts': contacts,
  '005_segments': segments,
  '006_templates': templates,
  '007_campaigns': campaigns,
  '008_delivery_ledger': deliveryLedger,
  '009_import_jobs': importJobs,
  '010_ab_test_phase': abTestPhase,
  '011_temporal': temporal,
  '013_privacy': privacy,
};
