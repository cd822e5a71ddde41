import { EraseContact } from '../commands/privacy.js';
import { receipt, runCommand } from './commands.js';
import type { GraphQLContext, GraphQLSlice } from './context.js';

/** GDPR erasure (crypto-shredding): see src/privacy/ and the README's "Personal data and erasure". */
export const privacySlice: GraphQLSlice = {
  name: 'privacy',
  typeDefs: /* GraphQL */ `
    input EraseContactInput { contactId: ID! }

    type EraseContactPayload {
      receipt: CommandReceipt!
      contactId: ID!
      "The contact and the duplicates it absorbed in merges: all erased."
      erasedContactIds: [ID!]!
      "The contact had been erased before: nothing new was recorded."
      alreadyErased: Boolean!
    }

    extend type Mutation {
      """
      Erases a contact for good (GDPR right to erasure; admin keys only): its data key is destroyed, so its personal
      data in the event log can never be read again (it reads as erased markers, also in replays), and the read
      models forget it; campaign statistics keep their counts. Later commands on it fail with CONTACT_ERASED, and
      its email cannot be added again. Repeating it is harmless (alreadyErased: true).
      """
      eraseContact(input: EraseContactInput!, commandId: String): EraseContactPayload!
    }
  `,
  resolvers: {
    Mutation: {
      async eraseContact(_: unknown, args: { input: unknown; commandId?: string | null }, ctx: GraphQLContext) {
        const outcome = await runCommand(ctx, EraseContact, args.input, args.commandId);
        return {
          receipt: receipt(outcome),
          contactId: outcome.data?.contactId,
          erasedContactIds: outcome.data?.erasedContactIds ?? [],
          alreadyErased: outcome.data?.alreadyErased === true,
        };
      },
    },
  },
};
