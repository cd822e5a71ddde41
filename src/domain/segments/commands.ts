import type { Rule } from './rules.js';

/**
 * Segment commands. Rules arrive already validated (validateSegmentRules: attribute keys, referenced segments,
 * cycles need the workspace's data); `at` is the command's time.
 */
export type SegmentCommand =
  | { readonly type: 'DefineSegment'; readonly data: { readonly segmentId: string; readonly name: string; readonly description: string | null; readonly rules: Rule; readonly at: string } }
  | { readonly type: 'ChangeSegmentRules'; readonly data: { readonly rules: Rule; readonly at: string } }
  /** description undefined: unchanged; null: cleared. */
  | { readonly type: 'RenameSegment'; readonly data: { readonly name: string; readonly description?: string | null; readonly at: string } }
  /** referencedBy: active segments whose rules name this one in `inSegment` (deleting would break them). */
  | { readonly type: 'DeleteSegment'; readonly data: { readonly referencedBy: readonly { readonly id: string; readonly name: string }[]; readonly at: string } };
