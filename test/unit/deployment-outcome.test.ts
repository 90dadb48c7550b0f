import { compensationOutcome } from '../../domain/deployments/outcome';

/** How a job that compensated for a failure ends: rolled_back only when a target actually went back. */
const rollback = (targetName: string, status: 'succeeded' | 'failed' | 'cancelled', error: { code: string; message: string } | null = null) => ({ targetName, status, error });

describe('compensation outcome', () => {
  it('ends failed, not rolled_back, when the failures touched no target (no agent, agent offline): nothing went back', () => {
    expect(compensationOutcome({ reason: 'web-2 failed: NO_AGENT: target web-2 has no agent to run its deployment', rollbacks: [], leftAsIs: [] })).toEqual({
      status: 'failed',
      statusReason: 'web-2 failed: NO_AGENT: target web-2 has no agent to run its deployment; no target was changed, so nothing was rolled back',
    });
    expect(compensationOutcome({ reason: null, rollbacks: [], leftAsIs: [] })).toEqual({ status: 'failed', statusReason: 'the job failed; no target was changed, so nothing was rolled back' });
  });

  it('ends failed when the changed targets had no earlier release to go back to, naming them', () => {
    expect(compensationOutcome({ reason: 'b failed: HOOK_FAILED: exit 1', rollbacks: [], leftAsIs: ['a', 'b'] })).toEqual({
      status: 'failed',
      statusReason: 'b failed: HOOK_FAILED: exit 1; nothing was rolled back; left as is (no earlier release on record): a, b',
    });
  });

  it('ends rolled_back once every rollback task succeeded, counting them and naming those left as is', () => {
    expect(compensationOutcome({ reason: 'c failed: HEALTH_CHECK_FAILED: 503', rollbacks: [rollback('a', 'succeeded'), rollback('c', 'succeeded')], leftAsIs: ['b'] })).toEqual({
      status: 'rolled_back',
      statusReason: 'c failed: HEALTH_CHECK_FAILED: 503; rolled back 2 targets; left as is (no earlier release on record): b',
    });
    expect(compensationOutcome({ reason: null, rollbacks: [rollback('a', 'succeeded')], leftAsIs: [] })).toEqual({ status: 'rolled_back', statusReason: 'rolled back; rolled back 1 target' });
  });

  it('ends failed naming each target that did not return', () => {
    const end = compensationOutcome({ reason: 'b failed: X: y', rollbacks: [rollback('a', 'failed', { code: 'HOOK_FAILED', message: 'exit 2' }), rollback('b', 'cancelled')], leftAsIs: [] });
    expect(end).toEqual({ status: 'failed', statusReason: 'rollback incomplete: a (HOOK_FAILED: exit 2); b (failed); after b failed: X: y' });
  });
});
