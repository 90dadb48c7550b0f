import { evidenceCell, evidenceOf, findingsOf, summaryOf, type CheckedPacket } from '../../domain/evidence/findings';
import type { ReportPromotion } from '../../domain/evidence/model';
import { auditReportScopeSchema, MAX_REPORT_DAYS } from '../../domain/evidence/requests';

const packet = (decision: string, valid: boolean, reason: string | null = null): CheckedPacket => ({
  packetId: `p-${decision}`,
  decision,
  generatedAt: '2026-03-01T10:00:00.000Z',
  signerKeyRef: 'k1',
  valid,
  reason,
});

const promotion = (over: Partial<ReportPromotion> = {}): ReportPromotion => ({
  id: 'prom-1',
  releaseId: 'r1',
  releaseName: 'shop-1.0.0',
  targetEnvironmentId: 'e1',
  targetEnvironmentName: 'Production',
  status: 'deployed',
  requestedBy: 'dev@example.com',
  requestedAt: '2026-03-01T09:00:00.000Z',
  decidedAt: '2026-03-01T09:30:00.000Z',
  changeId: null,
  gates: [{ gateName: 'security-gate', passed: false, blocking: false, message: 'x' }],
  approvals: [{ approverId: 'sre', decision: 'approved', comment: null, approvedAt: '2026-03-01T09:30:00.000Z', invalidated: false }],
  expectedDecision: 'deployed',
  evidence: [],
  ...over,
});

describe('evidence verdicts of an audit report', () => {
  test('each packet is valid or invalid with its reason; the expected decision without a packet is missing', () => {
    const entries = evidenceOf(promotion(), [packet('approved', false, 'signature does not verify')]);
    expect(entries.map((e) => [e.decision, e.verdict, e.reason])).toEqual([
      ['approved', 'invalid', 'signature does not verify'],
      ['deployed', 'missing', 'no signed packet records its deployed decision'],
    ]);
    expect(evidenceOf(promotion(), [packet('approved', true), packet('deployed', true)]).every((e) => e.verdict === 'valid')).toBe(true);
    // A promotion still on its way expects no packet yet.
    expect(evidenceOf(promotion({ status: 'awaiting_approval', expectedDecision: null }), [])).toEqual([]);
  });

  test('findings name every flagged packet; the summary counts them; the table cell says the worst', () => {
    const flagged = promotion({ evidence: evidenceOf(promotion(), [packet('approved', false, 'contentHash does not match the content')]) });
    const clean = promotion({ id: 'prom-2', evidence: evidenceOf(promotion(), [packet('deployed', true)]) });
    expect(findingsOf([flagged, clean])).toEqual([
      { promotionId: 'prom-1', releaseName: 'shop-1.0.0', packetId: 'p-approved', decision: 'approved', verdict: 'invalid', reason: 'contentHash does not match the content' },
      { promotionId: 'prom-1', releaseName: 'shop-1.0.0', packetId: null, decision: 'deployed', verdict: 'missing', reason: 'no signed packet records its deployed decision' },
    ]);
    expect(summaryOf({ promotions: [flagged, clean], deploymentJobs: [], changes: [], incidents: [] })).toEqual({
      promotions: 2,
      approvals: 2,
      failedGates: 2,
      deploymentJobs: 0,
      changes: 0,
      incidents: 0,
      packets: 2,
      packetsVerified: 1,
      packetsFailed: 1,
      packetsMissing: 1,
    });
    expect(evidenceCell(flagged)).toBe('SIGNATURE FAILED');
    expect(evidenceCell(promotion({ evidence: evidenceOf(promotion(), []) }))).toBe('MISSING');
    expect(evidenceCell(clean)).toBe('verified');
    expect(evidenceCell(promotion({ expectedDecision: null }))).toBe('none yet');
  });
});

describe('an audit report’s scope', () => {
  const scope = { environmentIds: ['8d5e2c1a-3b4f-4c6d-9e8f-0a1b2c3d4e5f'], from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00+01:00' };
  const problems = (value: unknown) => {
    const parsed = auditReportScopeSchema.safeParse(value);
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  test('normalises its period to UTC', () => {
    expect(auditReportScopeSchema.parse(scope)).toEqual({ ...scope, from: '2026-01-01T00:00:00.000Z', to: '2026-01-31T23:00:00.000Z' });
  });

  test('needs environments named once, a period that ends after it starts and spans at most the maximum, storable instants', () => {
    expect(problems({ ...scope, environmentIds: [] })).toEqual(['environmentIds: name at least one environment']);
    expect(problems({ ...scope, environmentIds: [scope.environmentIds[0], scope.environmentIds[0].toUpperCase()] })).toEqual(['environmentIds: must not name an environment twice']);
    expect(problems({ ...scope, to: scope.from })).toEqual(['to: must be after from']);
    expect(problems({ ...scope, to: new Date(Date.parse(scope.from) + (MAX_REPORT_DAYS + 1) * 86_400_000).toISOString() })).toEqual([`to: the period may span at most ${MAX_REPORT_DAYS} days`]);
    expect(problems({ ...scope, from: '0000-06-01T00:00:00Z' })).toHaveLength(1);
    expect(problems({ ...scope, extra: 1 })).toHaveLength(1);
  });
});
