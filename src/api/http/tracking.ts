import fp from 'fastify-plugin';
import type { FastifyRequest } from 'fastify';
import { emailStreamId, type EmailClicked, type EmailOpened } from '../../domain/deliveries/events.js';
import type { EventStore } from '../../eventstore/port.js';
import { unsubscribeFromCampaign } from '../../sagas/delivery/contactFeedback.js';
import { resolveTrackingSecret, verifyTrackingToken, type TrackingKind, type TrackingPayload } from '../../sagas/delivery/trackingTokens.js';
import type { ServerDeps } from '../deps.js';
import { notFound, ValidationError } from '../errors.js';
import { confirmUnsubscribePage, PAGE_HEADERS, PIXEL_HEADERS, TRANSPARENT_GIF, unsubscribedPage } from './trackingPages.js';

/**
 * Public tracking endpoints (no API key; the signed token is the authority, see trackingTokens.ts):
 * - `GET /t/o/:token`: 1×1 GIF, records EmailOpened;
 * - `GET /t/c/:token`: 302 to the URL inside the token (never anywhere else), records EmailClicked;
 * - `GET /t/u/:token`: a confirmation page (changes nothing: link scanners follow GETs);
 * - `POST /t/u/:token`: RFC 8058 one-click unsubscribe (body `List-Unsubscribe=One-Click`), through the contact
 *   aggregate, from the campaign's topic.
 * A forged, altered or foreign-format token, a token of the wrong kind, or one for an email that was never sent
 * answers 404 and records nothing. Engagement events go to the recipient's `email-<campaignId>_<contactId>` stream.
 */

const NOT_FOUND = 'Tracking link';
// Routes are `/t/<kind>/*`, not `/:token`: a token (~250 characters) is longer than the router's maxParamLength
// (100, answered 414); a wildcard has no such limit, and a token never contains '/'.
const FORM_BODY_LIMIT = 16 * 1024;

function actorOf(payload: TrackingPayload): string {
  return `recipient:${payload.r}`;
}

/** The token's recipient stream, if an email was sent to them there (in the token's workspace). */
async function deliveredStream(eventStore: EventStore, payload: TrackingPayload): Promise<string | null> {
  const streamId = emailStreamId(payload.c, payload.r);
  const read = await eventStore.readStream(streamId);
  if (read.status === 'not_found' || read.events[0]!.metadata.workspaceId !== payload.w) return null;
  return read.events.some((e) => e.type === 'EmailSent') ? streamId : null;
}

async function recordEngagement(eventStore: EventStore, payload: TrackingPayload, event: EmailOpened | EmailClicked, correlationId: string): Promise<void> {
  const streamId = await deliveredStream(eventStore, payload);
  if (streamId === null) throw notFound(NOT_FOUND);
  await eventStore.append(
    streamId,
    [{ type: event.type, data: event.data, metadata: { correlationId, causationId: null, commandId: null, actor: actorOf(payload), workspaceId: payload.w, schemaVersion: 1 } }],
    { expectedRevision: 'any' },
  );
}

/** RFC 8058 asks for `List-Unsubscribe=One-Click`, sent as multipart/form-data or urlencoded. */
function isOneClickBody(body: unknown): boolean {
  if (typeof body !== 'string') return false;
  if (/name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/i.test(body)) return true;
  return new URLSearchParams(body.trim()).get('List-Unsubscribe') === 'One-Click';
}

export const trackingPlugin = fp<{ deps: ServerDeps }>(
  async (app, { deps }) => {
    const secret = resolveTrackingSecret(deps.config, deps.logger);
    const { eventStore } = deps;
    const verified = (request: FastifyRequest, kind: TrackingKind): TrackingPayload => {
      const token = (request.params as { '*': string })['*'];
      const payload = verifyTrackingToken(secret, token, kind);
      if (payload === null) throw notFound(NOT_FOUND);
      return payload;
    };
    const route = { config: { public: true } } as const;

    // Encapsulated: the form parsers apply to these routes only.
    await app.register(async (scope) => {
      scope.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => done(null, body));

      scope.get('/t/o/*', route, async (request, reply) => {
        const payload = verified(request, 'o');
        const data = { campaignId: payload.c, variantKey: payload.v, contactId: payload.r, at: new Date().toISOString() };
        await recordEngagement(eventStore, payload, { type: 'EmailOpened', data }, request.correlationId);
        return reply.headers(PIXEL_HEADERS).send(TRANSPARENT_GIF);
      });

      scope.get('/t/c/*', route, async (request, reply) => {
        const payload = verified(request, 'c');
        const url = payload.u!;
        const data = { campaignId: payload.c, variantKey: payload.v, contactId: payload.r, url, at: new Date().toISOString() };
        await recordEngagement(eventStore, payload, { type: 'EmailClicked', data }, request.correlationId);
        return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(url, 302);
      });

      scope.get('/t/u/*', route, async (request, reply) => {
        const payload = verified(request, 'u');
        if ((await deliveredStream(eventStore, payload)) === null) throw notFound(NOT_FOUND);
        return reply.headers(PAGE_HEADERS).send(confirmUnsubscribePage());
      });

      scope.post('/t/u/*', route, async (request, reply) => {
        const payload = verified(request, 'u');
        if (!isOneClickBody(request.body)) throw new ValidationError('List-Unsubscribe', 'The body must be List-Unsubscribe=One-Click (RFC 8058).');
        if ((await deliveredStream(eventStore, payload)) === null) throw notFound(NOT_FOUND);
        const outcome = await unsubscribeFromCampaign(
          eventStore,
          { campaignId: payload.c, contactId: payload.r, at: new Date().toISOString() },
          { workspaceId: payload.w, correlationId: request.correlationId, actor: actorOf(payload) },
        );
        if (outcome.status === 'not_found') throw notFound(NOT_FOUND);
        request.log.info({ campaignId: payload.c, contactId: outcome.contactId, topics: outcome.topics }, 'one-click unsubscribe');
        return reply.headers(PAGE_HEADERS).send(unsubscribedPage());
      });
    });
  },
  { name: 'tracking', fastify: '5.x', dependencies: ['errors', 'correlation'] },
);
