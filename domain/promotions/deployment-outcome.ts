/**
 * How a promotion ends with its deployment job: as the job ended, in the job's
 * own words. A job cancelled by an operator ends the promotion cancelled, not
 * failed: nothing failed, someone stopped it. A job that ended any other way
 * (or no way the promotion knows) is a failure.
 */

export type DeploymentOutcome = 'deployed' | 'failed' | 'rolled_back' | 'cancelled';

export function promotionOutcomeOf(job: { id: string; status: string; statusReason: string | null }): { outcome: DeploymentOutcome; message: string | null } {
  switch (job.status) {
    case 'deployed':
    case 'rolled_back':
      return { outcome: job.status, message: job.statusReason };
    case 'cancelled':
      return { outcome: 'cancelled', message: job.statusReason ?? `deployment job ${job.id} was cancelled` };
    default:
      return { outcome: 'failed', message: job.statusReason ?? `deployment job ${job.id} ended ${job.status}` };
  }
}
