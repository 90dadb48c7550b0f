import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes every Tollgate workflow carries, so an operator can
 * filter in the Temporal UI, e.g. `TollgateKind="promotion" AND
 * TollgateState="awaiting_approval" AND TollgateEnvironment="production"`.
 * Names are prefixed so they never collide on a shared cluster; the generic
 * ones (Type, RiskLevel, AssignmentGroup) serve every resource kind, because
 * SQL visibility stores only a handful of custom Keyword attributes. The
 * title is the one Text attribute (those slots are free): a readable name for
 * the UI's list, set at each start, e.g. "Promotion web-app 2.0.0 → prod".
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
  title: defineSearchAttributeKey('TollgateTitle', SearchAttributeType.TEXT),
} as const;

export type SearchAttributeKind = 'Keyword' | 'KeywordList' | 'Text';

const KIND_OF: Partial<Record<SearchAttributeType, SearchAttributeKind>> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.TEXT]: 'Text',
};

/** The CLI/operator-service spelling of each attribute's type, for registration. */
export const SEARCH_ATTRIBUTE_REGISTRATION: Record<string, SearchAttributeKind> = Object.fromEntries(
  Object.values(SA).map((key) => [key.name, KIND_OF[key.type]!]),
);
