/**
 * kill -9 of the worker mid-delivery, then a restarted worker: every recipient receives exactly one email.
 * The worker runs in a child process (node --import tsx) with a small rate limit and is SIGKILLed after some
 * sends; what it left claimed or in 'sending' is taken over and reconciled (by Message-ID, against the sink) by
 * the restarted worker. Repeated three times.
 */
import { describe, expect, it } from 'vitest';
import { onAccepted, startChild } from './childWorker.js';
import {
  createCampaign,
  createContacts,
  createTemplate,
  defineSegment,
  emailsOf,
  launch,
  SINGLE_WORKER_SETTINGS,
  useLaunchWorld,
  waitFor,
  waitForLaunch,
  type LaunchWorld,
} from './support.js';

// At the top level, so that the world's afterAll hooks register (vitest ignores hooks registered inside hooks).
const world: LaunchWorld = await useLaunchWorld('launch_crash');

const RUNS = 3;
const AUDIENCE = 40;

describe('launch saga: crash recovery', () => {
  it(`SIGKILL mid-delivery, then a restarted worker: exactly one email per recipient (${RUNS} runs)`, async () => {
    const runs: { killedAfter: number; inDoubt: number; reconciledSent: number }[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const tag = `crash${run}`;
      const emails = emailsOf(AUDIENCE, tag);
      await createContacts(world, emails.map((email) => ({ email, tags: [tag] })));
      const segmentId = await defineSegment(world, { tag });
      const templateId = await createTemplate(world, { subject: `Run ${run}`, html: '<p>Once</p>' });
      const campaignId = await createCampaign(world, { segmentId, templateId });
      const sent = () => world.sink.accepted.filter((m) => emails.includes(m.to[0]!)).length;

      const { child, stderr } = await startChild(world, { rate: 25, batch: 4 });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_, signal) => resolve(signal)));
      const threshold = 8 + run * 3;
      // Run 1 is killed whenever the poll notices enough sends. Runs 2 and 3 are killed in the very tick the sink
      // accepts a message, before the child can hear the 250 and record it: the window only reconciliation closes.
      const stopHook = run === 1 ? () => {} : onAccepted(world, () => sent() >= threshold && child.kill('SIGKILL'));
      await launch(world, campaignId);
      await waitFor(() => sent() >= threshold, `the child to send some emails (run ${run})`);
      child.kill('SIGKILL');
      stopHook();
      expect(await exited, stderr()).toBe('SIGKILL');
      const killedAfter = sent();
      const rows = await world.env.db.selectFrom('delivery_ledger').select(['status', 'message_id']).where('campaign_id', '=', campaignId).execute();
      const inDoubt = rows.filter((r) => r.status === 'sending');
      const reconciledSent = inDoubt.filter((r) => world.sink.hasAccepted(r.message_id)).length;
      expect(killedAfter).toBeLessThan(AUDIENCE);
      if (run > 1) expect(reconciledSent, 'a row accepted by the provider but not yet marked sent').toBeGreaterThan(0);

      const worker = world.startWorker({ settings: SINGLE_WORKER_SETTINGS });
      try {
        const done = await waitForLaunch(world, campaignId, ['completed'], 30_000);
        expect(done.state).toMatchObject({ counts: { audience: AUDIENCE, sent: AUDIENCE, failed: 0, unknown: 0 } });
      } finally {
        await worker.stop();
      }
      for (const email of emails) expect(world.sink.countFor(email), `${email} in run ${run}`).toBe(1);
      expect(sent()).toBe(AUDIENCE);
      runs.push({ killedAfter, inDoubt: inDoubt.length, reconciledSent });
    }
    // eslint-disable-next-line no-console -- the runs' shape is part of the test's report
    console.info('crash runs (sent before the kill, rows in sending at the kill, of which the sink had accepted):', JSON.stringify(runs));
  }, 55_000);
});
