import path from 'node:path';
import { DEFAULTS, runFaultSuite } from '../../bench/faults/suite';
import { testEnv } from '../support/env';

/**
 * The short version of `npm run bench:faults`: `npm start` on its own
 * DATA_DIR, keyed change lifecycles through the API, and one `kill -9` each of
 * the worker, the Postgres postmaster and the Temporal dev server. Every
 * acknowledged request must be in Postgres and Temporal exactly once, and the
 * system must serve again within the bench's bound. `npm start`'s output is
 * kept in .bench/faults/.
 */

test('kill -9 of the worker, Postgres and Temporal mid-lifecycle: nothing acknowledged is lost or applied twice, and service resumes', async () => {
  const progress: string[] = [];
  const report = await runFaultSuite({
    ...DEFAULTS,
    trials: 3,
    plan: ['worker', 'postgres', 'temporal'],
    seed: 20_240_601,
    lanes: 2,
    pauseMs: [1_000, 2_000],
    requestDeadlineMs: 90_000,
    // The stack must find the CLI this run uses, without rebuilding it.
    env: { PATH: `${path.dirname(testEnv.temporalCli)}:${process.env.PATH}` },
    say: (msg) => void progress.push(msg),
  });
  const summary = {
    // On failure the run's progress lines follow the problems, to say when and where.
    problems: report.problems.length ? [...report.problems, ...progress.map((l) => `progress: ${l}`)] : [],
    lost: report.requests.lost,
    duplicates: report.duplicates.total,
    trials: report.trials.map((t) => ({ target: t.target, restarted: t.newPid !== undefined, resumedInTime: t.resumeMs !== undefined && t.resumeMs <= DEFAULTS.maxResumeMs })),
    stoppedOnSigterm: report.stop.clean,
  };
  expect(summary).toEqual({
    problems: [],
    lost: 0,
    duplicates: 0,
    trials: [
      { target: 'worker', restarted: true, resumedInTime: true },
      { target: 'postgres', restarted: true, resumedInTime: true },
      { target: 'temporal', restarted: true, resumedInTime: true },
    ],
    stoppedOnSigterm: true,
  });
  // The checks above mean something only if requests were in flight around the kills.
  expect(report.requests.acknowledged).toBeGreaterThan(10);
  expect(report.lifecycles.completed).toBeGreaterThan(0);
}, 360_000);

test('scale-out: two APIs and two workers on one Postgres and Temporal, every replica killed once mid-lifecycle: nothing lost or applied twice', async () => {
  const progress: string[] = [];
  const report = await runFaultSuite({
    ...DEFAULTS,
    trials: 4,
    replicas: 2,
    plan: ['worker#2', 'api', 'api#2', 'worker'],
    seed: 20_261_205,
    lanes: 2,
    pauseMs: [1_000, 2_000],
    requestDeadlineMs: 90_000,
    // A task Temporal handed to a worker just before its kill -9 waits out its start-to-close timeout (30 s for the
    // persistence activities) before the other worker retries it: a request waiting on it resumes after that.
    maxResumeMs: 60_000,
    env: { PATH: `${path.dirname(testEnv.temporalCli)}:${process.env.PATH}` },
    say: (msg) => void progress.push(msg),
  });
  expect({
    problems: report.problems.length ? [...report.problems, ...progress.map((l) => `progress: ${l}`)] : [],
    lost: report.requests.lost,
    duplicates: report.duplicates.total,
    trials: report.trials.map((t) => ({ target: t.target, restarted: t.newPid !== undefined, resumed: t.resumeMs !== undefined })),
  }).toEqual({
    problems: [],
    lost: 0,
    duplicates: 0,
    trials: ['worker#2', 'api', 'api#2', 'worker'].map((target) => ({ target, restarted: true, resumed: true })),
  });
  // The driver sends requests to the two APIs in turn; they must have been in flight around the kills.
  expect(report.requests.acknowledged).toBeGreaterThan(10);
  expect(report.lifecycles.completed).toBeGreaterThan(0);
}, 420_000);
