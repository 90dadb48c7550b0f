import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildDist } from '../../scripts/build';
import { startTestApp, type TestApp } from '../support/app';
import { ROOT } from '../support/processes';
import { reaches, scene, stage, type Scene, type Stage } from '../support/promotion-scene';

/**
 * The `tollgate` command line run as a pipeline runs it: a child process
 * against a real API (and worker), judged by its stdout, stderr and exit code.
 * Each test has its own config dir, so a stored login never leaks between them.
 */
let app: TestApp;
let home: string;

beforeAll(async () => {
  app = await startTestApp();
}, 120_000);
afterAll(() => app?.close());
beforeEach(() => {
  home = mkdtempSync(path.join(os.tmpdir(), 'tollgate-cli-'));
});
afterEach(() => rmSync(home, { recursive: true, force: true }));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

const FROM_SOURCES = ['--import', 'tsx', path.join(ROOT, 'cli/tollgate.ts')];

function tollgate(args: string[], env: Record<string, string> = {}, entry = FROM_SOURCES): Promise<Ran> {
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: home, XDG_CONFIG_HOME: path.join(home, 'config'), TOLLGATE_URL: app.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** Runs it and insists on the exit code, showing everything it printed when the code differs. */
async function expectExit(code: number, args: string[], env: Record<string, string> = {}, entry = FROM_SOURCES): Promise<Ran> {
  const ran = await tollgate(args, env, entry);
  if (ran.code !== code) throw new Error(`tollgate ${args.join(' ')}: exit ${ran.code}, expected ${code}\nstdout: ${ran.stdout}\nstderr: ${ran.stderr}`);
  return ran;
}

const as = (token: string) => ({ TOLLGATE_TOKEN: token });

/** The app behind a proxy whose first `failures` answers are 503 in the API's envelope (an API restarting). */
async function flakyProxy(failures: number): Promise<{ url: string; close(): void }> {
  let left = failures;
  const server = http.createServer(async (req, res) => {
    if (left-- > 0) {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'restarting' } }));
      return;
    }
    const answer = await fetch(`${app.url}${req.url}`, { method: req.method, headers: { authorization: req.headers.authorization ?? '' } });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe('login and whoami', () => {
  it('refuses a token the API refuses, with its code, and stores nothing', async () => {
    const good = await app.token('mallory@example.com');
    // The same claims under someone else's signature.
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${Buffer.from('not the signature').toString('base64url')}`;
    const ran = await expectExit(1, ['login', '--url', app.url, '--token', forged]);
    expect(ran.stderr).toMatch(/^tollgate: TOKEN_[A-Z_]+: .+\(HTTP 401\)$/m);
    expect(() => statSync(path.join(home, 'config', 'tollgate', 'config.json'))).toThrow();
    const garbage = await expectExit(1, ['whoami', '--token', 'not-a-jwt']);
    expect(garbage.stderr).toMatch(/^tollgate: TOKEN_INVALID: /m);
  });

  it('stores a good login 0600 and whoami uses it', async () => {
    const token = await app.token('rita@example.com', { roles: ['release-manager'], claims: { groups: ['release-managers'] } });
    const ran = await expectExit(0, ['login', '--url', app.url, '--token', token], { TOLLGATE_URL: '' });
    const file = path.join(home, 'config', 'tollgate', 'config.json');
    expect(ran.stdout).toContain(`logged in to ${app.url} as rita@example.com`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: app.url, token });

    // No flag, no environment: the stored URL and token.
    const who = await expectExit(0, ['whoami'], { TOLLGATE_URL: '' });
    expect(who.stdout).toMatch(/^user: +rita@example\.com$/m);
    expect(who.stdout).toMatch(new RegExp(`^tenant: +${app.tenant}$`, 'm'));
    expect(who.stdout).toMatch(/^roles: +release-manager$/m);
    const json = JSON.parse((await expectExit(0, ['whoami', '--json'], { TOLLGATE_URL: '' })).stdout);
    expect(json).toMatchObject({ url: app.url, user: 'rita@example.com', tenant: app.tenant, roles: ['release-manager'], groups: ['release-managers'] });
  });
});

describe('usage errors exit 2 with the usage', () => {
  it.each([
    [['promotions', 'reject', randomUUID()], /--reason is required/, /usage: tollgate promotions reject <id> --reason TEXT/],
    [['promotions', 'get'], /missing argument/, /usage: tollgate promotions get <id>/],
    [['promotions', 'wait', randomUUID(), '--for', 'shipped'], /--for must be one of pending, awaiting_approval/, /usage: tollgate promotions wait/],
    [['promotions', 'list', '--colour'], /Unknown option '--colour'/, /usage: tollgate promotions list/],
    [['runs', 'frobnicate'], /unknown command: runs frobnicate/, /tollgate runs has: start, get, watch/],
    [[], /^/, /usage: tollgate <command>/],
  ])('tollgate %j', async (args, message, usage) => {
    const ran = await expectExit(2, args as string[], as('unused'));
    expect(ran.stderr).toMatch(message);
    expect(ran.stderr).toMatch(usage);
    expect(ran.stdout).toBe('');
  });

  it('asks for a token before calling the API', async () => {
    const ran = await expectExit(2, ['inbox']);
    expect(ran.stderr).toContain('no token: pass --token, set TOLLGATE_TOKEN, or run tollgate login');
  });
});

describe('promotions from a pipeline', () => {
  const policy = { requiredApprovals: 1, approverGroups: ['approvers'], requireSeparationOfDuties: true };

  /** A tenant of its own (its environment first in its pipeline), a requester and an approver. */
  async function staged(): Promise<{ s: Scene; st: Stage; requester: string; approver: string }> {
    const s = await scene(app);
    return { s, st: await stage(s, { policy }), requester: await s.token('dev@example.com', { roles: ['developer'] }), approver: await s.member('ann@example.com', 'approvers') };
  }

  it('requested, in the approver’s inbox, approved, and waited for until deployed (exit 0); its evidence verifies', async () => {
    const { s, st, requester, approver } = await staged();
    const requested = await expectExit(0, ['promotions', 'request', '--release', st.release.id, '--env', st.env.id, '--reason', 'ship 1.0.0', '--json'], as(requester));
    const promotion = JSON.parse(requested.stdout);
    expect(promotion).toMatchObject({ releaseId: st.release.id, targetEnvironmentId: st.env.id, reason: 'ship 1.0.0', requestedBy: 'dev@example.com' });
    await reaches(s, promotion.id, 'awaiting_approval');

    const inbox = await expectExit(0, ['inbox'], as(approver));
    const row = inbox.stdout.split('\n').find((l) => l.includes(promotion.id));
    expect(row).toMatch(new RegExp(`^promotion +${promotion.id} +${st.release.name} to ${st.env.name} +dev@example\\.com .* 1 approval from approvers$`));
    expect(inbox.stdout.split('\n')[0]).toMatch(/^KIND +ID +WHAT +REQUESTED BY +SINCE +WAITING FOR$/);
    expect(JSON.parse((await expectExit(0, ['inbox', '--json'], as(approver))).stdout).map((i: any) => i.id)).toContain(promotion.id);

    // The requester may not approve: the API's code and message on stderr, exit 1.
    const refused = await expectExit(1, ['promotions', 'approve', promotion.id], as(requester));
    expect(refused.stderr).toMatch(/^tollgate: NOT_AN_APPROVER: .+\(HTTP 403\)$/m);

    const approved = await expectExit(0, ['promotions', 'approve', promotion.id, '--comment', 'LGTM'], as(approver));
    expect(approved.stdout).toMatch(/^approvals: +1\/1$/m);
    const waited = await expectExit(0, ['promotions', 'wait', promotion.id, '--for', 'deployed', '--timeout', '60s', '--interval', '250ms'], as(requester));
    expect(waited.stdout).toBe(`${promotion.id} deployed (no target in Production; nothing to deploy)\n`);
    expect(waited.stderr).toMatch(new RegExp(`^\\S+ \\S+ ${promotion.id} deployed `, 'm'));

    // Waiting for a status it has passed is met at once; a pipeline step rides out an API answering 503 meanwhile.
    const flaky = await flakyProxy(2);
    try {
      const through = await expectExit(0, ['promotions', 'wait', promotion.id, '--for', 'approved', '--interval', '100ms', '--url', flaky.url], as(requester));
      expect(through.stdout).toMatch(new RegExp(`^${promotion.id} deployed `));
      expect(through.stderr.match(/SERVICE_UNAVAILABLE: restarting; asking again$/gm)).toHaveLength(2);
    } finally {
      flaky.close();
    }

    const shown = await expectExit(0, ['promotions', 'get', promotion.id], as(requester));
    expect(shown.stdout).toMatch(/^GATE +RESULT +MESSAGE$/m);
    expect(shown.stdout).toMatch(/^security-gate +pass +/m);
    expect(shown.stdout).toMatch(/^ann@example\.com +approved +\S+ \S+ +LGTM$/m);
    const listed = JSON.parse((await expectExit(0, ['promotions', 'list', '--env', st.env.id, '--status', 'deployed', '--json'], as(requester))).stdout);
    expect(listed.map((p: any) => p.id)).toEqual([promotion.id]);

    const packets = await s.expect(200, 'GET', `/promotions/${promotion.id}/evidence?decision=deployed`);
    const listedPackets = await expectExit(0, ['evidence', 'list', '--promotion', promotion.id], as(requester));
    expect(listedPackets.stdout).toMatch(new RegExp(`^${packets.id} +deployed +${promotion.id} +${st.release.name} +Production +`, 'm'));
    expect(listedPackets.stdout).toMatch(new RegExp(` +approved +${promotion.id} `, 'm'));
    const file = path.join(home, 'packet.json');
    await expectExit(0, ['evidence', 'download', packets.id, '-o', file], as(requester));
    const verified = await expectExit(0, ['evidence', 'verify', file]);
    expect(verified.stdout).toMatch(new RegExp(`^${packets.id} +deployed +${promotion.id} +VALID \\(signed by \\S+\\)$`, 'm'));
    const tampered = JSON.parse(readFileSync(file, 'utf8'));
    tampered.content.reason = 'something else';
    writeFileSync(file, JSON.stringify(tampered));
    const invalid = await expectExit(1, ['evidence', 'verify', file, '--json']);
    expect(JSON.parse(invalid.stdout).results).toEqual([expect.objectContaining({ id: packets.id, valid: false })]);
    expect(invalid.stderr).toMatch(/^tollgate: EVIDENCE_INVALID: 1 of 1 packet did not verify$/m);
  }, 120_000);

  it('a rejected promotion ends a wait for deployed with exit 1; a wait that runs out of time exits 1 too', async () => {
    const { s, st, requester, approver } = await staged();
    const promotion = JSON.parse((await expectExit(0, ['promotions', 'request', '--release', st.release.id, '--env', st.env.id, '--reason', 'try it', '--json'], as(requester))).stdout);
    await reaches(s, promotion.id, 'awaiting_approval');

    const timedOut = await expectExit(1, ['promotions', 'wait', promotion.id, '--timeout', '1s', '--interval', '250ms'], as(requester));
    expect(timedOut.stderr).toMatch(new RegExp(`^tollgate: WAIT_TIMEOUT: promotion ${promotion.id} is still awaiting_approval after 1s; wanted deployed$`, 'm'));

    const noReason = await expectExit(2, ['promotions', 'reject', promotion.id], as(approver));
    expect(noReason.stderr).toContain('--reason is required');
    await expectExit(0, ['promotions', 'reject', promotion.id, '--reason', 'not this week'], as(approver));
    const waited = await expectExit(1, ['promotions', 'wait', promotion.id, '--for', 'deployed', '--timeout', '60s', '--interval', '250ms', '--json'], as(requester));
    expect(waited.stderr).toMatch(new RegExp(`^tollgate: PROMOTION_ENDED: promotion ${promotion.id} ended rejected \\(.*not this week.*\\), not deployed$`, 'm'));
    expect(JSON.parse(waited.stdout)).toMatchObject({ id: promotion.id, status: 'rejected' });
  }, 120_000);

  it('an unknown promotion is the API’s 404 with its code', async () => {
    const requester = await app.token('dev@example.com', { roles: ['developer'] });
    const ran = await expectExit(1, ['promotions', 'get', randomUUID()], as(requester));
    expect(ran.stderr).toMatch(/^tollgate: PROMOTION_NOT_FOUND: Promotion \S+ not found \(HTTP 404\)$/m);
    const invalid = await expectExit(1, ['promotions', 'get', 'nope'], as(requester));
    expect(invalid.stderr).toMatch(/^tollgate: VALIDATION_FAILED: .+\(HTTP 400\)$/m);
  });
});

describe('workflow runs', () => {
  it('starts a run with typed parameters and watches it to the end (exit 0)', async () => {
    const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
    const template = await app.http('POST', '/api/v1/workflow-templates', {
      token: admin,
      body: {
        name: `cli ${randomUUID().slice(0, 8)}`,
        parameters: [
          { name: 'note', type: 'string' },
          { name: 'count', type: 'integer', default: 1 },
        ],
        nodes: [{ id: 'pause', type: 'wait', inputs: { duration: '1s' } }],
      },
    });
    expect(template.status).toBe(201);
    const templateId = template.body.data.id;

    const wrong = await expectExit(2, ['runs', 'start', templateId, '-p', 'count=many'], as(admin));
    expect(wrong.stderr).toContain('-p count: the template declares it integer; many is not one');
    const unknown = await expectExit(1, ['runs', 'start', templateId, '-p', 'note=x', '-p', 'colour=red'], as(admin));
    expect(unknown.stderr).toMatch(/^tollgate: VALIDATION_FAILED: .+\(HTTP 400\)$/m);
    expect(unknown.stderr).toContain('parameters.colour');

    const run = JSON.parse((await expectExit(0, ['runs', 'start', templateId, '-p', 'note=1.0.0', '-p', 'count=2', '--json'], as(admin))).stdout);
    expect(run).toMatchObject({ templateId, parameters: { note: '1.0.0', count: 2 }, status: 'running' });

    const watched = await expectExit(0, ['runs', 'watch', run.id], as(admin));
    expect(watched.stdout).toMatch(new RegExp(`^run ${run.id} of ${template.body.data.name} \\(v1\\): \\w+$`, 'm'));
    expect(watched.stdout).toMatch(/ pause succeeded$/m);
    expect(watched.stdout.trimEnd().split('\n').at(-1)).toBe(`run ${run.id} succeeded`);
    expect(watched.stdout.match(/^.*\brun\b.*succeeded$/gm)).toEqual([`run ${run.id} succeeded`]);

    const shown = await expectExit(0, ['runs', 'get', run.id], as(admin));
    expect(shown.stdout).toMatch(/^status: +succeeded$/m);
    expect(shown.stdout).toMatch(/^pause +wait +main +succeeded +1 /m);
    const lines = (await expectExit(0, ['runs', 'watch', run.id, '--json'], as(admin))).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ type: 'snapshot', run: { id: run.id, status: 'succeeded' } });
  }, 120_000);

  it('a run that fails ends its watch with exit 1 and the failed node', async () => {
    const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
    // Nothing listens on port 1: the call fails at once, and one try means no retry.
    const nodes = [{ id: 'call', type: 'http', inputs: { url: 'http://127.0.0.1:1/health' }, retry: { attempts: 1 } }];
    const template = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: `cli failing ${randomUUID().slice(0, 8)}`, nodes } });
    expect(template.status).toBe(201);
    const watched = await expectExit(1, ['runs', 'start', template.body.data.id, '--watch'], as(admin));
    expect(watched.stdout).toMatch(/^run \S+ started$/m);
    expect(watched.stdout).toMatch(/ call failed \(\w+: .+\)$/m);
    expect(watched.stderr).toMatch(/^tollgate: RUN_FAILED: run \S+ failed/m);
  }, 120_000);

  it('a watch past its --timeout exits 1 while the run goes on', async () => {
    const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
    const template = await app.http('POST', '/api/v1/workflow-templates', { token: admin, body: { name: `cli long ${randomUUID().slice(0, 8)}`, nodes: [{ id: 'soak', type: 'wait', inputs: { duration: '1h' } }] } });
    const run = JSON.parse((await expectExit(0, ['runs', 'start', template.body.data.id, '--json'], as(admin))).stdout);
    const watched = await expectExit(1, ['runs', 'watch', run.id, '--timeout', '2s'], as(admin));
    expect(watched.stdout).toMatch(/ soak running \(waiting until \S+\)$/m);
    expect(watched.stderr).toMatch(new RegExp(`^tollgate: WATCH_TIMEOUT: run ${run.id} is still running after 2s$`, 'm'));
    expect((await expectExit(2, ['runs', 'start', template.body.data.id, '--timeout', '2s'], as(admin))).stderr).toContain('--timeout goes with --watch');
    expect((await app.http('POST', `/api/v1/workflow-runs/${run.id}/cancel`, { token: admin, body: {} })).status).toBe(200);
  }, 60_000);

  it('a run the API does not know is its 404, before any socket', async () => {
    const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
    const ran = await expectExit(1, ['runs', 'watch', randomUUID()], as(admin));
    expect(ran.stderr).toMatch(/^tollgate: \w+_NOT_FOUND: .+\(HTTP 404\)$/m);
  });
});

describe('read-only lists', () => {
  it('changes and incidents, as a table and as JSON', async () => {
    const sre = await app.token('sre@example.com', { roles: ['sre'] });
    const created = await app.http('POST', '/api/v1/incidents', { token: sre, body: { short_description: 'checkout is slow', impact: 'high', urgency: 'high', assignment_group: 'Platform' } });
    expect(created.status).toBe(201);
    const incident = created.body.data;
    const table = await expectExit(0, ['incidents', 'list', '--priority', 'P1'], as(sre));
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +PRIORITY +STATE +GROUP +ASSIGNED TO +CREATED +SUMMARY$/);
    expect(table.stdout).toMatch(new RegExp(`^${incident.id} +P1 +new +Platform +- +\\S+ \\S+ +checkout is slow$`, 'm'));
    const json = JSON.parse((await expectExit(0, ['incidents', 'list', '--json', '--search', 'checkout'], as(sre))).stdout);
    expect(json.map((i: any) => i.id)).toContain(incident.id);
    const bad = await expectExit(1, ['incidents', 'list', '--priority', 'P9'], as(sre));
    expect(bad.stderr).toMatch(/^tollgate: VALIDATION_FAILED: .+\(HTTP 400\)$/m);

    const changes = await expectExit(0, ['changes', 'list', '--json'], as(sre));
    expect(Array.isArray(JSON.parse(changes.stdout))).toBe(true);
    expect((await expectExit(0, ['changes', 'list'], as(sre))).stdout.split('\n')[0]).toMatch(/^ID +TYPE +STATE +RISK +REQUESTED BY +SCHEDULED +SUMMARY$/);
  });
});

describe('compiled (npm run build: node dist/tollgate.js)', () => {
  let appRoot: string;
  beforeAll(async () => {
    // An image-like folder: dist/ beside node_modules and package.json, no TypeScript sources.
    appRoot = mkdtempSync(path.join(os.tmpdir(), 'tollgate-cli-dist-'));
    for (const entry of ['node_modules', 'package.json']) symlinkSync(path.join(ROOT, entry), path.join(appRoot, entry));
    const quiet = () => undefined;
    await buildDist(path.join(appRoot, 'dist'), { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: console.error });
  }, 180_000);
  afterAll(() => rmSync(appRoot, { recursive: true, force: true }));

  it('answers as the sources do: whoami, an API refusal, a usage error', async () => {
    const entry = [path.join(appRoot, 'dist/tollgate.js')];
    const token = await app.token('rita@example.com', { roles: ['release-manager'] });
    expect((await expectExit(0, ['whoami'], as(token), entry)).stdout).toMatch(/^user: +rita@example\.com$/m);
    expect((await expectExit(1, ['promotions', 'get', randomUUID()], as(token), entry)).stderr).toMatch(/^tollgate: PROMOTION_NOT_FOUND: /m);
    expect((await expectExit(2, ['promotions', 'request'], as(token), entry)).stderr).toContain('--release is required');
  });
});
