import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { isUpdateOutlivedByWorkflow, mapTemporalError } from '../../api/temporal-errors';

/**
 * The server fails an update it accepted when the workflow ends before answering it (a terminated workflow, or one
 * whose next command passed the payload limit). That failure is Temporal's, not a business rule: it was shown to
 * users as a 422 named AcceptedUpdateCompletedWorkflow.
 */
const outlived = () =>
  new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message: 'Workflow Update failed because the Workflow completed before the Update completed.', type: 'AcceptedUpdateCompletedWorkflow' }));

test('an update the workflow outlived is a 409 WORKFLOW_ENDED, never the server’s failure type as a 422', () => {
  expect(isUpdateOutlivedByWorkflow(outlived())).toBe(true);
  expect(mapTemporalError(outlived())).toMatchObject({ status: 409, code: 'WORKFLOW_ENDED', message: expect.stringContaining('ended') });
});

test('a business failure from a handler keeps its own answer', () => {
  const business = new WorkflowUpdateFailedError('failed', ApplicationFailure.create({ message: 'nope', type: 'INVALID_STATE_TRANSITION', details: [{ kind: 'invalid_state' }] }));
  expect(isUpdateOutlivedByWorkflow(business)).toBe(false);
  expect(mapTemporalError(business)).toMatchObject({ status: 409, code: 'INVALID_STATE_TRANSITION' });
});
