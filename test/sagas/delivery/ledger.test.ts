import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/infra/logger.js';
import { deliverBatch } from '../../../src/sagas/delivery/deliver.js';
import { DeliveryLedger, noReconciler } from '../../../src/sagas/delivery/ledger.js';
import { hasUnsettledRows } from '../../../src/sagas/launch/launchLedger.js';
import { createSmtpSender } from '../../../src/sagas/delivery/smtpSender.js';
import { useSmtpSink } from '../../support/smtpSink.js';
import { recipients, render, useDeliveryTestEnv } from './fixtures.js';

const env = await useDeliveryTestEnv('delivery_ledger');
const sink = await useSmtpSink();
const { ledger } = env;
const content = { campaignRevision: 1, templateId: 't', templateVersion: 1, subject: 's', contentHash: 'h' };

describe('delivery ledger', () => {
  it('enqueue is idempotent: re-running never duplicates a recipient', async () => {
    const audience = recipients(5);
    expect(await ledger.enqueue(audience)).toBe(5);
    expect(await ledger.enqueue(audience)).toBe(0);
    expect(await ledger.enqueue([...audience, ...recipients(1, { campaignId: audience[0]!.campaignId })])).toBe(1);
    expect(await ledger.countByStatus(audience[0]!.campaignId)).toMatchObject({ pending: 6 });
  });

  it('two concurrent claimers never share a row (FOR UPDATE SKIP LOCKED)', async () => {
    const audience = recipients(300);
    await ledger.enqueue(audience);
    const campaignId = audience[0]!.campaignId;
    // Separate ledger instances on the same pool: each claim is its own statement on its own connection.
    const claimer = async (workerId: string) => {
      const own = new DeliveryLedger(env.db);
      const keys: string[] = [];
      for (;;) {
        const batch = await own.claimBatch(campaignId, 7, workerId);
        if (batch.length === 0) return keys;
        expect(batch.every((r) => r.claimed_by === workerId)).toBe(true);
        keys.push(...batch.map((r) => r.idempotency_key));
      }
    };
    const [a, b, c] = await Promise.all([claimer('worker-a'), claimer('worker-b'), claimer('worker-c')]);
    const all = [...a!, ...b!, ...c!];
    expect(all).toHaveLength(300);
    expect(new Set(all).size).toBe(300);
    expect(Math.min(a!.length, b!.length, c!.length)).toBeGreaterThan(0);
  });

  it('the pre-send mark only succeeds for a pending row claimed by this worker', async () => {
    const [r] = recipients(1);
    await ledger.enqueue([r!]);
    const [row] = await ledger.claimBatch(r!.campaignId, 10, 'owner');
    expect(await ledger.markSending(row!.idempotency_key, 'intruder', content)).toBe(false);
    expect(await ledger.markSending(row!.idempotency_key, 'owner', content)).toBe(true);
    expect(await ledger.markSending(row!.idempotency_key, 'owner', content)).toBe(false);
    expect(await ledger.claimBatch(r!.campaignId, 10, 'other')).toEqual([]);
    expect(await ledger.markSent(row!.idempotency_key)).toBe(true);
    expect(await ledger.markSent(row!.idempotency_key)).toBe(false);
    expect((await ledger.get(row!.idempotency_key))!).toMatchObject({ status: 'sent', attempts: 1, smtp_code: 250 });
  });

  it('batched marks keep each row’s guard: only own pending rows are marked, each settles once', async () => {
    const audience = recipients(4);
    await ledger.enqueue(audience);
    const rows = await ledger.claimBatch(audience[0]!.campaignId, 10, 'owner');
    const [a, b, c, d] = rows.map((r) => r.idempotency_key);
    await ledger.markSending(d!, 'owner', content); // already sending: must not be marked again
    const marked = await ledger.markSendingMany('owner', [a!, b!, c!, d!].map((key) => ({ key, content: { ...content, subject: `s-${key}` } })));
    expect([...marked].sort()).toEqual([a!, b!, c!].sort());
    expect(await ledger.markSendingMany('intruder', [{ key: a!, content }])).toEqual(new Set());
    const settled = await ledger.settleMany([
      { key: a!, outcome: 'sent', attempts: 2 },
      { key: b!, outcome: 'failed', failure: { kind: 'permanent', smtpCode: 550, reason: '550 no such user', attempts: 1 } },
      { key: c!, outcome: 'pending', reason: 'provider unreachable' },
    ]);
    expect([...settled].sort()).toEqual([a!, b!, c!].sort());
    expect(await ledger.settleMany([{ key: a!, outcome: 'sent', attempts: 1 }])).toEqual(new Set());
    expect(await ledger.get(a!)).toMatchObject({ status: 'sent', attempts: 2, smtp_code: 250, subject: `s-${a}` });
    expect(await ledger.get(b!)).toMatchObject({ status: 'failed', failure_kind: 'permanent', smtp_code: 550, last_error: '550 no such user' });
    expect(await ledger.get(c!)).toMatchObject({ status: 'pending', claimed_by: null, last_error: 'provider unreachable' });
    expect(await ledger.get(d!)).toMatchObject({ status: 'sending', attempts: 1, subject: 's' });
  });

  it('hasUnsettledRows: true while any row of the campaign is pending (claimed or not) or sending, false once all are settled', async () => {
    const audience = recipients(3);
    const campaignId = audience[0]!.campaignId;
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(false);
    await ledger.enqueue(audience);
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(true);
    const rows = await ledger.claimBatch(campaignId, 3, 'w');
    expect(await ledger.markSending(rows[0]!.idempotency_key, 'w', content)).toBe(true);
    expect(await ledger.markSent(rows[0]!.idempotency_key)).toBe(true);
    expect(await ledger.markRenderFailed(rows[1]!.idempotency_key, 'w', 'template error')).toBe(true);
    // One row left, claimed and then in 'sending': still unsettled either way.
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(true);
    expect(await ledger.markSending(rows[2]!.idempotency_key, 'w', content)).toBe(true);
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(true);
    expect(await ledger.markFailed(rows[2]!.idempotency_key, { kind: 'permanent', smtpCode: 550, reason: '550', attempts: 1 })).toBe(true);
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(false);
    // Another campaign's pending rows are not this one's.
    await ledger.enqueue(recipients(1));
    expect(await hasUnsettledRows(env.db, campaignId)).toBe(false);
  });

  it('an expired claim is taken over by another worker, and the old owner can no longer mark it', async () => {
    const [r] = recipients(1);
    await ledger.enqueue([r!]);
    await ledger.claimBatch(r!.campaignId, 1, 'slow-worker');
    const [taken] = await ledger.claimBatch(r!.campaignId, 1, 'new-worker', 0);
    expect(taken?.claimed_by).toBe('new-worker');
    expect(await ledger.markSending(taken!.idempotency_key, 'slow-worker', content)).toBe(false);
  });
});

describe('crash windows, closed by reconciliation by Message-ID', () => {
  const sender = createSmtpSender({ smtpUrl: sink.url, logger: silentLogger, ratePerSecond: 1_000, backoffBaseMs: 5 });
  afterAll(() => sender.close());

  it('rows left in sending: accepted → sent, not accepted → resent exactly once', async () => {
    const audience = recipients(4);
    const [acceptedBeforeCrash, crashedBeforeSmtp] = audience;
    const campaignId = audience[0]!.campaignId;
    await ledger.enqueue(audience);
    // A worker claims everything, then dies: one row after SMTP accepted it, one right after the pre-send mark.
    const claimed = await ledger.claimBatch(campaignId, 10, 'doomed-worker');
    const rowOf = (email: string) => claimed.find((r) => r.email === email)!;
    const first = rowOf(acceptedBeforeCrash!.email);
    expect(await ledger.markSending(first.idempotency_key, 'doomed-worker', content)).toBe(true);
    expect((await sender.send((await render(first)).message)).accepted).toBe(true);
    const second = rowOf(crashedBeforeSmtp!.email);
    expect(await ledger.markSending(second.idempotency_key, 'doomed-worker', content)).toBe(true);
    // (crash)

    // A fresh 'sending' row is not touched: its worker might still be sending.
    expect(await ledger.reconcileSending(sink.reconciler(), { campaignId, staleAfterMs: 60_000 })).toEqual({ sent: [], requeued: [], unknown: [] });
    const report = await ledger.reconcileSending(sink.reconciler(), { campaignId, staleAfterMs: 0 });
    expect(report).toEqual({ sent: [first.idempotency_key], requeued: [second.idempotency_key], unknown: [] });

    // The doomed worker's other claims expire; a new worker finishes the campaign.
    await ledger.claimBatch(campaignId, 10, 'sweeper', 0).then((rows) => Promise.all(rows.map((r) => ledger.releaseClaim(r.idempotency_key, 'sweeper'))));
    const round = await deliverBatch({ ledger, sender, campaignId, workerId: 'worker-2', batchSize: 10, render, logger: silentLogger });
    expect(round).toMatchObject({ claimed: 3, sent: 3, inDoubt: 0 });
    const again = await deliverBatch({ ledger, sender, campaignId, workerId: 'worker-3', batchSize: 10, render, logger: silentLogger });
    expect(again.claimed).toBe(0);
    expect(await ledger.reconcileSending(sink.reconciler(), { campaignId, staleAfterMs: 0 })).toEqual({ sent: [], requeued: [], unknown: [] });

    for (const r of audience) expect(sink.countFor(r.email)).toBe(1);
    expect(await ledger.countByStatus(campaignId)).toEqual({ held: 0, pending: 0, sending: 0, sent: 4, failed: 0, unknown: 0 });
  });

  it("'unknown' (the provider cannot tell) is never resent, and is reported", async () => {
    const [r] = recipients(1);
    await ledger.enqueue([r!]);
    const [row] = await ledger.claimBatch(r!.campaignId, 1, 'w');
    await ledger.markSending(row!.idempotency_key, 'w', content);
    const report = await ledger.reconcileSending(noReconciler, { campaignId: r!.campaignId, staleAfterMs: 0 });
    expect(report.unknown).toEqual([row!.idempotency_key]);
    const round = await deliverBatch({ ledger, sender, campaignId: r!.campaignId, workerId: 'w2', batchSize: 10, render, logger: silentLogger });
    expect(round.claimed).toBe(0);
    expect(sink.countFor(r!.email)).toBe(0);
    expect((await ledger.get(row!.idempotency_key))!.status).toBe('unknown');
    expect(await ledger.outcomesToRecord(r!.campaignId, 10)).toEqual([]);
  });

  it('claims continue after the previous round\'s last key, and start over for rows left behind the cursor', async () => {
    const audience = recipients(6);
    const campaignId = audience[0]!.campaignId;
    await ledger.enqueue(audience);
    // Another worker holds the first row in key order while this one's first round runs.
    const [held] = await ledger.claimBatch(campaignId, 1, 'other');
    const first = await deliverBatch({ ledger, sender, campaignId, workerId: 'w', batchSize: 3, render, logger: silentLogger });
    expect(first).toMatchObject({ claimed: 3, sent: 3 });
    await ledger.releaseClaim(held!.idempotency_key, 'other');

    // The two rows after the cursor, then the released row from the start.
    const second = await deliverBatch({ ledger, sender, campaignId, workerId: 'w', batchSize: 3, claimAfter: first.claimedUpTo, render, logger: silentLogger });
    expect(second).toMatchObject({ claimed: 3, sent: 3, claimedUpTo: held!.idempotency_key });
    const third = await deliverBatch({ ledger, sender, campaignId, workerId: 'w', batchSize: 3, claimAfter: second.claimedUpTo, render, logger: silentLogger });
    expect(third).toMatchObject({ claimed: 0, claimedUpTo: null });
    for (const r of audience) expect(sink.countFor(r.email)).toBe(1);
  });

  it('records permanent failures, render failures, and puts rows back when the provider is down', async () => {
    const audience = recipients(3);
    const [ok, rejected, unrenderable] = audience;
    const campaignId = ok!.campaignId;
    sink.failRecipient(rejected!.email, 550);
    await ledger.enqueue(audience);
    const renderOrFail = async (row: Parameters<typeof render>[0]) => {
      if (row.email === unrenderable!.email) throw new Error('Liquid error: undefined variable first_name');
      return render(row);
    };
    const round = await deliverBatch({ ledger, sender, campaignId, workerId: 'w', batchSize: 10, render: renderOrFail, logger: silentLogger });
    expect(round).toMatchObject({ claimed: 3, sent: 1, failed: 1, renderFailed: 1, requeued: 0 });
    const failed = (await ledger.findByMessageId(ok!.workspaceId, [rejected!.messageId]))!;
    expect(failed).toMatchObject({ status: 'failed', failure_kind: 'permanent', smtp_code: 550, attempts: 1 });
    const notRendered = (await ledger.findByMessageId(ok!.workspaceId, [unrenderable!.messageId]))!;
    expect(notRendered).toMatchObject({ status: 'failed', failure_kind: 'render', last_error: 'Liquid error: undefined variable first_name' });

    const later = recipients(2);
    await ledger.enqueue(later);
    const down = createSmtpSender({ smtpUrl: sink.url, logger: silentLogger, maxAttempts: 1, circuit: { failureThreshold: 1 } });
    await down.verify();
    await sink.down();
    try {
      await new Promise((r) => setTimeout(r, 100));
      const outage = await deliverBatch({ ledger, sender: down, campaignId: later[0]!.campaignId, workerId: 'w', batchSize: 10, render, logger: silentLogger });
      expect(outage).toMatchObject({ claimed: 2, sent: 0, requeued: 2, circuitOpen: true });
      expect(await ledger.countByStatus(later[0]!.campaignId)).toMatchObject({ pending: 2, sending: 0 });
    } finally {
      await sink.up();
      await down.close();
    }
  });
});
