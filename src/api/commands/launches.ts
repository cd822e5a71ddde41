import { inputObject, uuidOf } from '../../domain/templates/input.js';
import { resendToFailed } from '../../sagas/launch/resend.js';
import { defineCommand, type CommandDefinition } from './catalog.js';

/**
 * ResendToFailed { campaignId }: a new send round of a completed launch, to the recipients whose delivery failed
 * (see src/sagas/launch/resend.ts). GraphQL mutation `resendToFailed` and NATS `<prefix>.commands.ResendToFailed`.
 */
export const ResendToFailed = defineCommand({
  name: 'ResendToFailed',
  permission: 'write',
  parse(raw) {
    return { campaignId: uuidOf(inputObject(raw).campaignId, 'input.campaignId', true) };
  },
  async execute(deps, input, context) {
    const { result, round, count } = await resendToFailed(deps, input.campaignId, context);
    return { streamId: result.streamId, revision: result.revision, position: result.position, duplicate: result.duplicate, data: { campaignId: input.campaignId, round, count } };
  },
});

/** Commands of the launches slice (GraphQL mutations and NATS request/reply). */
// Commands of different input types; each checks its own input in `parse`.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const launchCommands: readonly CommandDefinition<any>[] = [ResendToFailed];
