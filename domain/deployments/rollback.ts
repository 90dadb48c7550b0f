import type { DeploymentTask, JobPlan, PlanRelease, PlanTarget } from './model';
import { latestTasks } from './progress';
import { mayHaveUpdated } from './task-errors';

/** One target and the release a task is to bring it to. */
export interface TargetWork {
  target: PlanTarget;
  release: PlanRelease;
}

export interface RollbackWork {
  /** The targets to return, by name, each to the release its sticker named before the job. */
  work: TargetWork[];
  /** Targets the job changed that have no earlier release on record, by name: they stay as they are. */
  leftAsIs: string[];
}

/**
 * What compensating a failed job must undo: every target whose newest deploy
 * task may have changed it — not only the ones that succeeded: a hook that ran
 * and then failed its health check left the new release running too.
 */
export function rollbackWork(tasks: readonly DeploymentTask[], plan: JobPlan): RollbackWork {
  const updated = [...latestTasks(tasks, 'deploy').values()].filter(mayHaveUpdated).map((t) => plan.targets.find((target) => target.id === t.targetId)!);
  const work: TargetWork[] = [];
  const leftAsIs: string[] = [];
  for (const target of [...updated].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const release = target.previous ? plan.previousReleases[target.previous.releaseId] : undefined;
    if (release) work.push({ target, release });
    else leftAsIs.push(target.name);
  }
  return { work, leftAsIs };
}
