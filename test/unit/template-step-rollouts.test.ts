import { rolloutStepMove } from '../../domain/templates/step-rollouts';

const rollout = (state: string, abortReason: string | null = null) => ({ id: 'r1', name: 'myapp canary', state, abortReason });

test('a created rollout is started, a running or paused one waited for, a completed one succeeds', () => {
  expect(rolloutStepMove(rollout('created'))).toEqual({ kind: 'start' });
  expect(rolloutStepMove(rollout('running'))).toEqual({ kind: 'wait' });
  expect(rolloutStepMove(rollout('paused'))).toEqual({ kind: 'wait' });
  expect(rolloutStepMove(rollout('completed'))).toEqual({ kind: 'succeeded' });
});

test('aborted (a rollback) and failed fail the step with the reason', () => {
  expect(rolloutStepMove(rollout('aborted', 'rolled back by sre: error budget'))).toEqual({ kind: 'failed', code: 'ROLLOUT_ABORTED', message: 'Rollout r1 (myapp canary) ended aborted: rolled back by sre: error budget' });
  expect(rolloutStepMove(rollout('failed'))).toMatchObject({ kind: 'failed', code: 'ROLLOUT_FAILED' });
});
