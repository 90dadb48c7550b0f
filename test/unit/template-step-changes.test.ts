import { changeBodyOf, changeStepMove } from '../../domain/templates/step-changes';

const change = (state: string, type = 'normal', rejection_reason: string | null = null) => ({ id: 'CHG0000007', state, type, rejection_reason });

test('a draft is submitted, a submitted normal change goes to CAB, the others wait for their move', () => {
  expect(changeStepMove(change('draft'))).toEqual({ kind: 'submit' });
  expect(changeStepMove(change('submitted'))).toEqual({ kind: 'submit_cab' });
  expect(changeStepMove(change('submitted', 'standard'))).toMatchObject({ kind: 'wait' });
  expect(changeStepMove(change('cab_review'))).toEqual({ kind: 'wait', waitingFor: 'the CAB' });
});

test('scheduled or any later state is what the step waits for', () => {
  for (const state of ['scheduled', 'in_progress', 'completed', 'failed', 'post_review', 'closed'] as const) expect(changeStepMove(change(state))).toEqual({ kind: 'succeeded' });
});

test('a rejected or cancelled change fails the step, with the CAB’s reason', () => {
  expect(changeStepMove(change('rejected', 'normal', 'no backout'))).toEqual({ kind: 'failed', code: 'CHANGE_REJECTED', message: 'Change CHG0000007 was rejected by the CAB: no backout' });
  expect(changeStepMove(change('cancelled'))).toMatchObject({ kind: 'failed', code: 'CHANGE_CANCELLED' });
});

test('the step’s inputs become the body POST /changes takes, absent fields left out', () => {
  expect(changeBodyOf({ title: 'Ship', type: 'normal', scheduledStart: 'a', scheduledEnd: 'b', cabApprovers: ['x@example.com'] }, 'from run r')).toEqual({
    type: 'normal',
    short_description: 'Ship',
    description: 'from run r',
    scheduled_start: 'a',
    scheduled_end: 'b',
    cab_approvers: ['x@example.com'],
  });
});
