import type { RetryPolicy } from './client';
import type { Driver } from './driver';
import { isAlive } from '../../scripts/stack/processes';
import type { Target } from './replicas';
import { sleep } from './stack';

export interface TrialResult {
  n: number;
  target: Target;
  killedPid: number;
  /** The PID the supervisor wrote after restarting the service. */
  newPid?: number;
  /** From the kill until the pid file named a new live process. */
  restartMs?: number;
  /** From the kill until a keyed create sent after it was acknowledged: the whole path serves again. */
  resumeMs?: number;
  /** A worker: from the kill until Temporal saw the new process poll its task queue. */
  pollingMs?: number;
  problem?: string;
}

/**
 * One fault: `kill -9` of the PID the supervisor wrote for `target`, then two
 * clocks — until the pid file names a new live process, and until a probe (a
 * keyed create, retried with its key, through `probeApi` when given: the API
 * replica that was killed) is acknowledged. Both are bounded.
 */
export async function killAndResume(
  pidOf: (target: Target) => number | undefined,
  driver: Driver,
  n: number,
  target: Target,
  probe: RetryPolicy,
  probeApi?: string,
  /** The identities (`pid@host`) polling the orchestrator's task queue, to time a worker's return. */
  pollers?: () => Promise<string[]>,
): Promise<TrialResult> {
  const killedPid = pidOf(target);
  if (killedPid === undefined) {
    return { n, target, killedPid: -1, problem: `no live PID for ${target} (its supervisor writes one per service)` };
  }
  process.kill(killedPid, 'SIGKILL');
  const killedAt = Date.now();
  const result: TrialResult = { n, target, killedPid };

  const pollingAgain = async (pid: number, deadline: number) => {
    while (Date.now() < deadline) {
      if ((await pollers!().catch(() => [])).some((identity) => identity.startsWith(`${pid}@`))) {
        result.pollingMs = Date.now() - killedAt;
        return;
      }
      await sleep(100);
    }
  };
  const restarted = (async () => {
    const deadline = killedAt + probe.deadlineMs;
    while (Date.now() < deadline) {
      const pid = pidOf(target);
      if (pid !== undefined && pid !== killedPid && isAlive(pid)) {
        result.newPid = pid;
        result.restartMs = Date.now() - killedAt;
        if (pollers && target.startsWith('worker')) await pollingAgain(pid, deadline);
        return;
      }
      await sleep(100);
    }
  })();
  const record = await driver.probe(`probe-${n}-${target.replace('#', '-')}`, probe, probeApi);
  if (record.acks.length) result.resumeMs = Date.now() - killedAt;
  await restarted;
  const problems = [
    ...(result.restartMs === undefined ? [`${target} was not restarted within ${probe.deadlineMs / 1000} s (pid file still names ${pidOf(target) ?? 'nothing live'})`] : []),
    ...(result.resumeMs === undefined ? [`the probe was not acknowledged within ${probe.deadlineMs / 1000} s: ${record.problem}`] : []),
  ];
  if (problems.length) result.problem = problems.join('; ');
  return result;
}
