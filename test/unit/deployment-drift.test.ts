import { compareDrift, type DriftReport } from '../../domain/deployments/drift';

/** Drift: the sticker against the agent's last report; in_sync only from a fresh report of a target that answers. */
const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const OFFLINE_AFTER = 30_000;
const sticker = { releaseId: 'rel-2', releaseName: 'shop', version: '2.0.0' };
const report = (over: Partial<DriftReport> = {}): DriftReport => ({ releaseId: 'rel-2', version: '2.0.0', healthy: true, reportedAt: new Date(NOW - 5_000).toISOString(), ...over });
const compare = (actual: DriftReport | null, over: { hasAgent?: boolean; sticker?: typeof sticker | null } = {}) =>
  compareDrift({ hasAgent: over.hasAgent ?? true, sticker: over.sticker === undefined ? sticker : over.sticker, actual, staleAfterMs: OFFLINE_AFTER, nowMs: NOW });

describe('drift', () => {
  it('is in_sync when a fresh report of a target that answers names the sticker’s release and version (or it has no URL to probe)', () => {
    expect(compare(report())).toEqual({ status: 'in_sync', reasons: [] });
    expect(compare(report({ healthy: null }))).toEqual({ status: 'in_sync', reasons: [] });
  });

  it('is drifted, "not answering", when the target’s health probe failed, even when the agent remembers deploying the sticker’s release', () => {
    const { status, reasons } = compare(report({ healthy: false }));
    expect(status).toBe('drifted');
    expect(reasons).toEqual([expect.stringMatching(/^Not answering: the agent's health probe of the target failed at /)]);
    expect(compare(report({ healthy: false, version: '1.9.0' })).reasons).toEqual([expect.stringMatching(/^Not answering/), 'Version: the sticker says 2.0.0, the agent reports 1.9.0']);
  });

  it('is unknown once the report is older than AGENT_OFFLINE_AFTER (not twice it)', () => {
    expect(compare(report({ reportedAt: new Date(NOW - OFFLINE_AFTER).toISOString() })).status).toBe('in_sync');
    const stale = compare(report({ reportedAt: new Date(NOW - OFFLINE_AFTER - 1_000).toISOString() }));
    expect(stale).toEqual({ status: 'unknown', reasons: ['The last report is 31s old, older than 30s (AGENT_OFFLINE_AFTER): the agent is offline or not reporting'] });
    // A stale report of a failing target says nothing about now either.
    expect(compare(report({ healthy: false, reportedAt: new Date(NOW - 45_000).toISOString() })).status).toBe('unknown');
  });

  it('is drifted when release or version differ, no_sticker before any deployment, unknown without an agent or a report', () => {
    expect(compare(report({ releaseId: 'rel-1', version: '1.0.0' }))).toEqual({
      status: 'drifted',
      reasons: ['Release: the sticker says shop (rel-2), the agent reports rel-1', 'Version: the sticker says 2.0.0, the agent reports 1.0.0'],
    });
    expect(compare(report(), { sticker: null }).status).toBe('no_sticker');
    expect(compare(null)).toEqual({ status: 'unknown', reasons: ['The agent has not reported what this target runs yet'] });
    expect(compare(report(), { hasAgent: false })).toEqual({ status: 'unknown', reasons: ['The target has no agent to report what it runs'] });
  });
});
