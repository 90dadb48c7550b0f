import { failuresAfter, restartDelay, RESTART_POLICY } from '../../scripts/stack/backoff';
import { chooseDataDir, type StackRecord } from '../../scripts/stack/registry';
import { createLogger } from '../../platform/logger';
import { coreLogFilter, PinoTemporalLogger } from '../../worker/temporal-logger';

/** The pure parts of `npm start`'s supervision and of its helpers. */

describe('restart back-off', () => {
  test('starts fast, doubles while the service keeps dying young, and is capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((n) => restartDelay(n))).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
  });

  test('a run that lasted past the stable threshold starts the streak over', () => {
    expect(failuresAfter(5, RESTART_POLICY.stableAfterMs)).toBe(1);
    expect(failuresAfter(5, RESTART_POLICY.stableAfterMs - 1)).toBe(6);
    expect(failuresAfter(0, 10)).toBe(1);
  });

  test('nonsense counts are read as the first failure', () => {
    expect(restartDelay(0)).toBe(500);
    expect(restartDelay(-3)).toBe(500);
  });
});

describe('which DATA_DIR a token is signed for', () => {
  const stack = (pid: number, dataDir: string, port: number): StackRecord => ({ pid, dataDir, port, apiUrl: `http://127.0.0.1:${port}`, startedAt: '' });
  const keys = new Set(['/data/a', '/data/b', '/repo/.data']);
  const base = { defaultDataDir: '/repo/.data', port: 3000, hasKey: (dir: string) => keys.has(dir) };

  test('an explicit DATA_DIR wins, and must hold a key', () => {
    expect(chooseDataDir({ ...base, explicitDataDir: '/data/b', stacks: [stack(10, '/data/a', 3000)] })).toMatchObject({ dataDir: '/data/b' });
    const refused = chooseDataDir({ ...base, explicitDataDir: '/nowhere', stacks: [] });
    expect(refused).toEqual({ error: expect.stringContaining('No dev signing key in /nowhere/keys') });
  });

  test('without one, the running stack is used, even on another port when it is the only one', () => {
    expect(chooseDataDir({ ...base, stacks: [stack(10, '/data/a', 4000)] })).toEqual({ dataDir: '/data/a', reason: expect.stringContaining('npm start pid 10') });
  });

  test('among several stacks, the one serving PORT; none serving it is refused with the list', () => {
    const stacks = [stack(10, '/data/a', 4000), stack(11, '/data/b', 3000)];
    expect(chooseDataDir({ ...base, stacks })).toMatchObject({ dataDir: '/data/b' });
    const refused = chooseDataDir({ ...base, port: 5000, stacks });
    expect(refused).toEqual({ error: expect.stringMatching(/Several npm start stacks[\s\S]*DATA_DIR=\/data\/a[\s\S]*DATA_DIR=\/data\/b/) });
  });

  test('with no stack running, the default directory only when it already has a key; never a new key', () => {
    expect(chooseDataDir({ ...base, stacks: [] })).toMatchObject({ dataDir: '/repo/.data' });
    const refused = chooseDataDir({ ...base, defaultDataDir: '/fresh/.data', stacks: [] });
    expect(refused).toEqual({ error: expect.stringMatching(/No dev signing key in \/fresh\/\.data\/keys .*no running npm start was found.*npm start/) });
  });
});

describe('native runtime log lines', () => {
  function capture() {
    const lines: Array<Record<string, any>> = [];
    const pino = createLogger('worker', 'debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    return { lines, pino };
  }
  const core = (n: number) => ({ sdkComponent: 'core', target: 'temporalio_client::retry', error: `tcp connect error ${n}` });

  test('a repeated core warning is logged once per window at its level, the repeats at debug, then counted', () => {
    const { lines, pino } = capture();
    const logger = new PinoTemporalLogger(pino, { coreRepeatWindowMs: 60_000 });
    const now = jest.spyOn(Date, 'now').mockReturnValue(1_000_000);
    try {
      for (let i = 1; i <= 5; i++) logger.warn(`gRPC call poll_workflow_task_queue retried ${i} times`, core(i));
      now.mockReturnValue(1_000_000 + 60_001);
      logger.warn('gRPC call poll_workflow_task_queue retried 9 times', core(9));
    } finally {
      now.mockRestore();
    }
    expect(lines.map((l) => l.level)).toEqual(['warn', 'debug', 'debug', 'debug', 'debug', 'warn']);
    expect(lines[5]).toMatchObject({ quietedRepeats: 4, target: 'temporalio_client::retry', msg: 'gRPC call poll_workflow_task_queue retried 9 times' });
  });

  test("the SDK's own and the workflows' lines are never quieted", () => {
    const { lines, pino } = capture();
    const logger = new PinoTemporalLogger(pino, { coreRepeatWindowMs: 60_000 });
    for (let i = 0; i < 3; i++) logger.warn('Workflow task failed', { sdkComponent: 'worker' });
    expect(lines.map((l) => l.level)).toEqual(['warn', 'warn', 'warn']);
  });

  test('the core filter follows LOG_LEVEL: warnings normally, detail when debugging', () => {
    expect(coreLogFilter('info')).toEqual({ core: 'WARN', other: 'ERROR' });
    expect(coreLogFilter('debug')).toEqual({ core: 'DEBUG', other: 'WARN' });
    expect(coreLogFilter('silent')).toEqual({ core: 'ERROR', other: 'ERROR' });
  });
});
