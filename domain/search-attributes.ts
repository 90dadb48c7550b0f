import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes every Tollgate workflow carries, so an operator can
 * filter in the Temporal UI, e.g. `TollgateKind="promotion" AND
 * TollgateState="awaiting_approval" AND TollgateEnvironment="production"`.
 * Names are prefixed so they never collide on a shared cluster; the generic
 * ones (Type, RiskLevel, AssignmentGroup) serve every resource kind, because
 * SQL visibility stores only a handful of custom Keyword attributes.
 */
export const SA = {
  tenant: defineSearchAttributeKey('TollgateTenant', SearchAttributeType.KEYWORD),
  kind: defineSearchAttributeKey('TollgateKind', SearchAttributeType.KEYWORD),
  resourceId: defineSearchAttributeKey('TollgateResourceId', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('TollgateState', SearchAttributeType.KEYWORD),
  environment: defineSearchAttributeKey('TollgateEnvironment', SearchAttributeType.KEYWORD),
  release: defineSearchAttributeKey('TollgateRelease', SearchAttributeType.KEYWORD),
  type: defineSearchAttributeKey('TollgateType', SearchAttributeType.KEYWORD),
  riskLevel: defineSearchAttributeKey('TollgateRiskLevel', SearchAttributeType.KEYWORD),
  assignmentGroup: defineSearchAttributeKey('TollgateAssignmentGroup', SearchAttributeType.KEYWORD),
  priority: defineSearchAttributeKey('TollgatePriority', SearchAttributeType.KEYWORD),
  flags: defineSearchAttributeKey('TollgateFlags', SearchAttributeType.KEYWORD_LIST),
} as const;

/** The CLI/operator-service spelling of each attribute's type, for registration. */
export const SEARCH_ATTRIBUTE_REGISTRATION: Record<string, 'Keyword' | 'KeywordList'> = Object.fromEntries(
  Object.values(SA).map((key) => [key.name, key.type === SearchAttributeType.KEYWORD_LIST ? 'KeywordList' : 'Keyword']),
);
