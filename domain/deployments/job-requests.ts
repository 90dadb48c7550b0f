import { z } from 'zod';
import { labelsSchema } from '../inventory-fields';
import { DOCUMENTED_NON_BLANK_TEXT, storableText } from '../text';

/** Request bodies of the deployment-job commands and of rollbacks (Stella spec: camelCase field names). */

// The length limit is on the text as sent, as the documents state it; trimming comes after.
const text = (max: number) => storableText().max(max).trim();
const required = (why: string) => text(2_000).min(1, { message: `is required: ${why}` }).meta({ allOf: [{ pattern: DOCUMENTED_NON_BLANK_TEXT }] });
const uuid = z.uuid({ message: 'must be a UUID' });
const taskId = uuid.meta({ description: 'The failed task the paused job waits on (job.pausedOn.taskId): it names the failure, so two operators cannot both answer it' });

/** retry / skip: the reason is optional. */
export const operatorActionSchema = z.strictObject({ taskId, reason: text(2_000).nullable().optional() }).meta({ id: 'DeploymentOperatorAction' });
/** rollback / abort undo or stop work, so they must say why. */
export const operatorActionWithReasonSchema = z.strictObject({ taskId, reason: required('say why') }).meta({ id: 'DeploymentOperatorActionWithReason' });
export const cancelDeploymentJobSchema = z.strictObject({ reason: text(2_000).nullable().optional() }).meta({ id: 'DeploymentJobCancel' });

export const createRollbackSchema = z
  .strictObject({
    environmentId: uuid,
    releaseId: uuid.optional().meta({ description: 'The release to go back to; by default the one deployed to the environment before its current one' }),
    reason: required('say why the environment goes back'),
    labels: labelsSchema()
      .optional()
      .meta({ description: 'Roll back only the targets carrying all these labels; absent: the environment’s targetLabels, else every target' }),
  })
  .meta({ id: 'RollbackInput' });

export type OperatorActionInput = z.infer<typeof operatorActionSchema>;
export type CancelDeploymentJobInput = z.infer<typeof cancelDeploymentJobSchema>;
export type CreateRollbackInput = z.infer<typeof createRollbackSchema>;
