import { describe, expect, it } from 'vitest';
import type { ContactCommand, CreateContact } from '../../../src/domain/contacts/commands.js';
import { contactDecider } from '../../../src/domain/contacts/decide.js';
import type { ContactCreated, ContactEvent } from '../../../src/domain/contacts/events.js';
import { InvalidTransitionError, NotFoundError, ValidationError } from '../../../src/domain/shared/errors.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(contactDecider);
const AT = '2024-05-01T10:00:00.000Z';
const ID = '6a1f0c1e-5d2b-5c3a-9e4f-0a1b2c3d4e5f';

const create = (data: Partial<CreateContact['data']> = {}): CreateContact => ({
  type: 'CreateContact',
  data: { contactId: ID, email: 'Ada@Example.com', externalId: null, phone: null, attributes: {}, tags: [], subscriptions: [], source: 'api', at: AT, ...data },
});

const created = (data: Partial<ContactCreated['data']> = {}): ContactCreated => ({
  type: 'ContactCreated',
  data: { contactId: ID, email: 'ada@example.com', emailAsGiven: 'Ada@Example.com', externalId: null, phone: null, attributes: {}, tags: [], source: 'api', createdAt: AT, ...data },
});

const merged: ContactEvent = { type: 'ContactMerged', data: { survivorId: 'survivor', rule: 'manual', at: AT } };
const subscribed = (topic: string, version = 'v1'): ContactEvent => ({ type: 'ContactSubscribed', data: { topic, source: 'api', consentTextVersion: version, at: AT } });

describe('CreateContact', () => {
  it('creates a contact with normalized email, phone, typed attributes, tags and consents', () => {
    spec
      .given([])
      .when(
        create({
          email: ' Ada@Example.com ',
          phone: '+49 151 1234-5678',
          externalId: ' crm-1 ',
          attributes: { plan: { type: 'string', value: 'pro' }, signup: { type: 'date', value: '2024-05-01T12:00:00+02:00' } },
          tags: [' VIP ', 'vip', 'beta'],
          subscriptions: [
            { topic: 'Newsletter', consentTextVersion: 'v3', source: 'form:signup' },
            { topic: 'newsletter', consentTextVersion: 'v4', source: 'api' },
          ],
        }),
      )
      .then([
        created({
          emailAsGiven: 'Ada@Example.com',
          phone: '+4915112345678',
          externalId: 'crm-1',
          attributes: { plan: { type: 'string', value: 'pro' }, signup: { type: 'date', value: '2024-05-01T10:00:00.000Z' } },
          tags: ['vip', 'beta'],
        }),
        { type: 'ContactSubscribed', data: { topic: 'newsletter', source: 'form:signup', consentTextVersion: 'v3', at: AT } },
      ]);
  });

  it('is a no-op on an existing contact (idempotent upsert) and on a merged one (the API answers with the survivor)', () => {
    spec.given([created()]).when(create({ tags: ['new'] })).then([]);
    spec.given([created(), merged]).when(create()).then([]);
  });

  it.each([
    ['unknown attribute type', { attributes: { birthday: { type: 'datetime', value: 'x' } } }, 'attributes.birthday.type'],
    ['date that does not parse', { attributes: { birthday: { type: 'date', value: '2024-02-30' } } }, 'attributes.birthday.value'],
    ['date-time without offset', { attributes: { birthday: { type: 'date', value: '2024-02-03T10:00' } } }, 'attributes.birthday.value'],
    ['non-finite number', { attributes: { score: { type: 'number', value: Number.POSITIVE_INFINITY } } }, 'attributes.score.value'],
    ['number as string', { attributes: { score: { type: 'number', value: '7' } } }, 'attributes.score.value'],
    ['list of non-strings', { attributes: { sizes: { type: 'list', value: ['s', 2] } } }, 'attributes.sizes.value'],
    ['boolean as string', { attributes: { vip: { type: 'boolean', value: 'yes' } } }, 'attributes.vip.value'],
    ['bad attribute key', { attributes: { 'First Name': { type: 'string', value: 'Ada' } } }, 'attributes.First Name'],
    ['empty tag', { tags: ['  '] }, 'tags.0'],
    ['tag over 64 characters', { tags: ['x'.repeat(65)] }, 'tags.0'],
    ['bad email', { email: 'ada' }, 'email'],
    ['bad phone', { phone: '0151 1234' }, 'phone'],
    ['bad topic', { subscriptions: [{ topic: 'news letter', consentTextVersion: 'v1', source: 'api' }] }, 'subscriptions.0.topic'],
  ])('rejects %s naming the field', (_, data, field) => {
    let thrown: unknown;
    try {
      contactDecider.decide(create(data as Partial<CreateContact['data']>), contactDecider.initialState());
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ValidationError);
    expect((thrown as ValidationError).field).toBe(field);
  });
});

describe('UpdateContactAttributes', () => {
  const given = [created({ phone: '+4915112345678', attributes: { plan: { type: 'string', value: 'free' }, sizes: { type: 'list', value: ['s'] } } })];
  const update = (data: Partial<Extract<ContactCommand, { type: 'UpdateContactAttributes' }>['data']>): ContactCommand => ({
    type: 'UpdateContactAttributes',
    data: { changes: {}, at: AT, ...data },
  });

  it('records only what changes: new values, removals of present keys, phone and external id', () => {
    spec
      .given(given)
      .when(
        update({
          changes: { plan: { type: 'string', value: 'pro' }, sizes: { type: 'list', value: ['s'] }, gone: null, score: { type: 'number', value: 3 } },
          phone: '+49 151 12345678',
          externalId: 'crm-9',
        }),
      )
      .then([{ type: 'ContactAttributesChanged', data: { changes: { plan: { type: 'string', value: 'pro' }, score: { type: 'number', value: 3 } }, externalId: 'crm-9', changedAt: AT } }]);
    spec.given(given).when(update({ changes: { sizes: null }, phone: null })).then([{ type: 'ContactAttributesChanged', data: { changes: { sizes: null }, phone: null, changedAt: AT } }]);
  });

  it('is a no-op when nothing differs', () => {
    spec.given(given).when(update({ changes: { plan: { type: 'string', value: 'free' }, gone: null }, phone: '+4915112345678' })).then([]);
  });

  it('rejects an unknown attribute type naming the field', () => {
    spec.given(given).when(update({ changes: { birthday: { type: 'time', value: 1 } as never } })).thenThrows(ValidationError, /type/);
  });
});

describe('tags', () => {
  it('tags new tags only, normalized', () => {
    spec
      .given([created({ tags: ['vip'] })])
      .when({ type: 'TagContact', data: { tags: ['VIP', ' Beta '], at: AT } })
      .then([{ type: 'ContactTagged', data: { tag: 'beta', at: AT } }]);
  });
  it('tagging an already tagged contact is a no-op', () => {
    spec.given([created({ tags: ['vip'] })]).when({ type: 'TagContact', data: { tags: ['vip'], at: AT } }).then([]);
  });
  it('untags present tags only; untagging an absent tag is a no-op', () => {
    spec
      .given([created({ tags: ['vip'] }), { type: 'ContactTagged', data: { tag: 'beta', at: AT } }])
      .when({ type: 'UntagContact', data: { tags: ['beta', 'other'], at: AT } })
      .then([{ type: 'ContactUntagged', data: { tag: 'beta', at: AT } }]);
    spec.given([created()]).when({ type: 'UntagContact', data: { tags: ['vip'], at: AT } }).then([]);
  });
  it('needs at least one tag', () => {
    spec.given([created()]).when({ type: 'TagContact', data: { tags: [], at: AT } }).thenThrows(ValidationError);
  });
});

describe('consent', () => {
  const subscribe = (topic: string, consentTextVersion = 'v1'): ContactCommand => ({ type: 'SubscribeContact', data: { topic, consentTextVersion, source: 'form:signup', at: AT } });
  const unsubscribe = (topic: string): ContactCommand => ({ type: 'UnsubscribeContact', data: { topic, source: 'link:c1', reason: 'too many', at: AT } });

  it('subscribes, records a new consent text version, and ignores a repeat of the same one', () => {
    spec.given([created()]).when(subscribe('news')).then([{ type: 'ContactSubscribed', data: { topic: 'news', source: 'form:signup', consentTextVersion: 'v1', at: AT } }]);
    spec.given([created(), subscribed('news', 'v1')]).when(subscribe('news', 'v1')).then([]);
    spec.given([created(), subscribed('news', 'v1')]).when(subscribe('news', 'v2')).then([{ type: 'ContactSubscribed', data: { topic: 'news', source: 'form:signup', consentTextVersion: 'v2', at: AT } }]);
  });

  it('unsubscribes (also from a topic never subscribed: an explicit opt-out); repeating it is a no-op', () => {
    const event: ContactEvent = { type: 'ContactUnsubscribed', data: { topic: 'news', source: 'link:c1', campaignId: null, reason: 'too many', at: AT } };
    spec.given([created(), subscribed('news')]).when(unsubscribe('news')).then([event]);
    spec.given([created()]).when(unsubscribe('news')).then([event]);
    spec.given([created(), subscribed('news'), event]).when(unsubscribe('news')).then([]);
    // Re-subscribing after an opt-out is a new consent, even to the same text.
    spec.given([created(), subscribed('news'), event]).when(subscribe('news')).then([{ type: 'ContactSubscribed', data: { topic: 'news', source: 'form:signup', consentTextVersion: 'v1', at: AT } }]);
  });
});

describe('suppression', () => {
  const suppress = (reason: 'hard_bounce' | 'complaint' | 'manual'): ContactCommand => ({ type: 'SuppressContact', data: { reason, detail: '550 no such user', at: AT } });
  const suppressedEvent: ContactEvent = { type: 'ContactSuppressed', data: { reason: 'hard_bounce', detail: '550 no such user', at: AT } };

  it('suppresses; the same reason again is a no-op, a new reason is recorded', () => {
    spec.given([created()]).when(suppress('hard_bounce')).then([suppressedEvent]);
    spec.given([created(), suppressedEvent]).when(suppress('hard_bounce')).then([]);
    spec.given([created(), suppressedEvent]).when(suppress('complaint')).then([{ type: 'ContactSuppressed', data: { reason: 'complaint', detail: '550 no such user', at: AT } }]);
  });
  it('rejects an unknown reason', () => {
    spec.given([created()]).when({ type: 'SuppressContact', data: { reason: 'spam' as never, detail: null, at: AT } }).thenThrows(ValidationError, /reason/);
  });
  it('unsuppresses a suppressed contact; otherwise a no-op', () => {
    spec.given([created(), suppressedEvent]).when({ type: 'UnsuppressContact', data: { detail: 'fixed', at: AT } }).then([{ type: 'ContactUnsuppressed', data: { detail: 'fixed', at: AT } }]);
    spec.given([created()]).when({ type: 'UnsuppressContact', data: { detail: null, at: AT } }).then([]);
  });
});

describe('invalid transitions', () => {
  const others: ContactCommand[] = [
    { type: 'UpdateContactAttributes', data: { changes: { plan: { type: 'string', value: 'pro' } }, at: AT } },
    { type: 'TagContact', data: { tags: ['vip'], at: AT } },
    { type: 'UntagContact', data: { tags: ['vip'], at: AT } },
    { type: 'SubscribeContact', data: { topic: 'news', consentTextVersion: 'v1', source: 'api', at: AT } },
    { type: 'UnsubscribeContact', data: { topic: 'news', source: 'api', reason: null, at: AT } },
    { type: 'SuppressContact', data: { reason: 'manual', detail: null, at: AT } },
    { type: 'UnsuppressContact', data: { detail: null, at: AT } },
  ];

  it.each(others.map((c) => [c.type, c] as const))('%s on a contact that does not exist is NOT_FOUND', (_, command) => {
    spec.given([]).when(command).thenThrows(NotFoundError);
  });

  it.each(others.map((c) => [c.type, c] as const))('%s on a merged contact is an INVALID_TRANSITION', (_, command) => {
    spec.given([created(), merged]).when(command).thenThrows(InvalidTransitionError, /merged/);
  });
});

describe('evolve', () => {
  it('folds a merge into the survivor: attributes, tags, consents, suppression, phone and external id', () => {
    const state = spec.given([
      created({ tags: ['a'], attributes: { plan: { type: 'string', value: 'free' } } }),
      subscribed('news'),
      {
        type: 'ContactAbsorbed',
        data: {
          duplicateId: 'dup',
          duplicateEmail: 'ada@old.example',
          attributes: { plan: { type: 'string', value: 'pro' } },
          tags: ['a', 'b'],
          subscriptions: [{ topic: 'offers', source: 'import:1', consentTextVersion: 'v2', at: AT }],
          unsubscriptions: [{ topic: 'news', at: AT }],
          suppression: { reason: 'complaint', at: AT },
          phone: '+15551234567',
          externalId: null,
          rule: 'same-phone',
          at: AT,
        },
      },
    ]).state;
    expect(state).toMatchObject({
      status: 'active',
      tags: ['a', 'b'],
      attributes: { plan: { type: 'string', value: 'pro' } },
      consents: { news: { status: 'unsubscribed' }, offers: { status: 'subscribed', consentTextVersion: 'v2' } },
      suppression: { reason: 'complaint' },
      phone: '+15551234567',
    });
    expect(spec.given([created(), merged]).state).toEqual({ status: 'merged', contactId: ID, survivorId: 'survivor' });
  });
});
