import { describe, it } from 'vitest';
import { SegmentInUseError, segmentDecider } from '../../../src/domain/segments/decide.js';
import type { SegmentEvent } from '../../../src/domain/segments/events.js';
import type { Rule } from '../../../src/domain/segments/rules.js';
import { InvalidTransitionError, NotFoundError } from '../../../src/domain/shared/errors.js';
import { deciderSpec } from '../../support/decider.js';

const spec = deciderSpec(segmentDecider);
const AT = '2024-05-01T12:00:00.000Z';
const VIP: Rule = { tag: 'vip' };
const NEWSLETTER: Rule = { all: [{ tag: 'vip' }, { subscribed: 'newsletter' }] };

const defined: SegmentEvent = { type: 'SegmentDefined', data: { segmentId: 's1', name: 'VIPs', description: null, rules: VIP, version: 1, definedAt: AT } };
const changed: SegmentEvent = { type: 'SegmentRulesChanged', data: { rules: NEWSLETTER, version: 2, changedAt: AT } };
const deleted: SegmentEvent = { type: 'SegmentDeleted', data: { deletedAt: AT } };

describe('segment aggregate', () => {
  it('DefineSegment on a new stream defines version 1', () => {
    spec.given([]).when({ type: 'DefineSegment', data: { segmentId: 's1', name: 'VIPs', description: null, rules: VIP, at: AT } }).then([defined]);
  });

  it('DefineSegment twice is an invalid transition', () => {
    spec.given([defined]).when({ type: 'DefineSegment', data: { segmentId: 's1', name: 'Again', description: null, rules: VIP, at: AT } }).thenThrows(InvalidTransitionError, /active/);
  });

  it('ChangeSegmentRules adds a version', () => {
    spec.given([defined]).when({ type: 'ChangeSegmentRules', data: { rules: NEWSLETTER, at: AT } }).then([changed]);
    spec.given([defined, changed]).when({ type: 'ChangeSegmentRules', data: { rules: VIP, at: AT } }).then([{ type: 'SegmentRulesChanged', data: { rules: VIP, version: 3, changedAt: AT } }]);
  });

  it('ChangeSegmentRules with the same rules records nothing', () => {
    spec.given([defined, changed]).when({ type: 'ChangeSegmentRules', data: { rules: NEWSLETTER, at: AT } }).then([]);
  });

  it('commands on a segment that was never defined are NOT_FOUND', () => {
    spec.given([]).when({ type: 'ChangeSegmentRules', data: { rules: VIP, at: AT } }).thenThrows(NotFoundError);
    spec.given([]).when({ type: 'DeleteSegment', data: { referencedBy: [], at: AT } }).thenThrows(NotFoundError);
  });

  it('RenameSegment changes the name, keeps or replaces the description', () => {
    spec.given([defined]).when({ type: 'RenameSegment', data: { name: 'Best', at: AT } }).then([{ type: 'SegmentRenamed', data: { name: 'Best', description: null, renamedAt: AT } }]);
    spec.given([defined]).when({ type: 'RenameSegment', data: { name: 'VIPs', description: 'top spenders', at: AT } }).then([
      { type: 'SegmentRenamed', data: { name: 'VIPs', description: 'top spenders', renamedAt: AT } },
    ]);
    spec.given([defined]).when({ type: 'RenameSegment', data: { name: 'VIPs', at: AT } }).then([]);
  });

  it('DeleteSegment deletes; afterwards every command is an invalid transition', () => {
    spec.given([defined]).when({ type: 'DeleteSegment', data: { referencedBy: [], at: AT } }).then([deleted]);
    spec.given([defined, deleted]).when({ type: 'ChangeSegmentRules', data: { rules: NEWSLETTER, at: AT } }).thenThrows(InvalidTransitionError, /deleted/);
    spec.given([defined, deleted]).when({ type: 'RenameSegment', data: { name: 'x', at: AT } }).thenThrows(InvalidTransitionError, /deleted/);
    spec.given([defined, deleted]).when({ type: 'DeleteSegment', data: { referencedBy: [], at: AT } }).thenThrows(InvalidTransitionError, /deleted/);
    spec.given([defined, deleted]).when({ type: 'DefineSegment', data: { segmentId: 's1', name: 'x', description: null, rules: VIP, at: AT } }).thenThrows(InvalidTransitionError);
  });

  it('DeleteSegment is refused while active segments reference it, naming them', () => {
    spec
      .given([defined])
      .when({ type: 'DeleteSegment', data: { referencedBy: [{ id: 's2', name: 'Engaged VIPs' }], at: AT } })
      .thenThrows(SegmentInUseError, /"Engaged VIPs" \(s2\)/);
  });
});
