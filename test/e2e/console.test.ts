import { CONSOLE_CSP } from '../../api/modules/console';
import { startTestApp, type TestApp } from '../support/app';
import { auroraChange } from '../support/changes';
import { until } from '../support/eventually';
import { launchBrowser, type TestBrowser, type WatchedPage } from '../support/browser';
import { approve, awaiting, reaches, request, scene, stage, type Scene } from '../support/promotion-scene';

/**
 * The web console in Debian's chromium against the real stack: sign in with a
 * pasted token, approve from the inbox, get a separation-of-duties refusal in
 * the page, watch the live feed (and its resume after a drop), and be told why
 * a token is refused. Every page is checked for console errors other than the
 * refusals the test provokes on purpose.
 */
let app: TestApp;
let browser: TestBrowser;
// Each test has a tenant of its own (environment names are unique per tenant).
let s: Scene;
const POLICY = { requiredApprovals: 1, approverGroups: ['sre-team'], requireSeparationOfDuties: true };
const requesterIn = (groups: string[] = []) => s.token('dev@example.com', { roles: ['developer'], claims: { groups } });

beforeAll(async () => {
  app = await startTestApp();
  browser = await launchBrowser();
}, 120_000);
beforeEach(async () => {
  s = await scene(app);
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

async function signedIn(token: string, hash = '#/inbox'): Promise<WatchedPage> {
  const watched = await browser.page();
  const { page } = watched;
  await page.goto(`${app.url}/console`);
  await page.waitForSelector('#sign-in textarea#token');
  await page.type('#token', token);
  await page.click('#sign-in button[type="submit"]');
  await page.waitForSelector('#main[data-loaded="inbox"]');
  if (hash !== '#/inbox') await go(page, hash);
  return watched;
}

/** Opens a page of the console by its address and waits until it has loaded (#/runs/<id> is the page "run"). */
async function go(page: WatchedPage['page'], hash: string): Promise<void> {
  const [first, second] = hash.slice(2).split('?')[0]!.split('/');
  const name = second ? first!.replace(/s$/, '') : first;
  // The mark is taken off first, so the wait cannot be answered by the page being left.
  await page.evaluate(`delete document.getElementById('main').dataset.loaded; location.hash = ${JSON.stringify(hash)}`);
  await page.waitForSelector(`#main[data-loaded="${name}"]`);
}

/** The page's console errors, less the failed loads of the statuses the test provoked (Chromium logs each as an error). */
const unexpected = (errors: string[], ...statuses: number[]) =>
  errors.filter((e) => !statuses.some((st) => e.includes(`status of ${st}`) || e.includes(`response code: ${st}`)));

test('GET /console serves the page without a token, under a strict CSP, with content types and revalidation', async () => {
  const page = await fetch(`${app.url}/console`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
  expect(CONSOLE_CSP).toContain("script-src 'self'");
  expect(CONSOLE_CSP).not.toContain('unsafe-inline');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  const html = await page.text();
  expect(html).toContain('<script type="module" src="/console/app.js"></script>');
  // No inline script: every <script> has a src.
  expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g)).toBeNull();

  const js = await fetch(`${app.url}/console/app.js`);
  expect([js.status, js.headers.get('content-type'), js.headers.get('x-content-type-options')]).toEqual([200, 'text/javascript; charset=utf-8', 'nosniff']);
  const again = await fetch(`${app.url}/console/app.js`, { headers: { 'if-none-match': js.headers.get('etag')! } });
  expect(again.status).toBe(304);
  expect((await fetch(`${app.url}/console/console.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');

  const missing = await fetch(`${app.url}/console/secrets.json`);
  expect(missing.status).toBe(404);
  expect(await missing.json()).toMatchObject({ success: false, error: { code: 'ROUTE_NOT_FOUND' } });
});

test('an approver signs in, sees the promotion in the inbox, approves it there, and it leaves the inbox and deploys', async () => {
  const st = await stage(s, { policy: POLICY });
  const p = await awaiting(s, await requesterIn(), st);
  const approver = await s.member('sre@example.com', 'sre-team');
  const { page, errors } = await signedIn(approver);

  const card = `#inbox-items [data-promotion-id="${p.id}"]`;
  await page.waitForSelector(card);
  expect(await page.$eval(`${card} h3`, (el) => el.textContent)).toBe(`${st.release.name} → ${st.env.name}`);
  expect(await page.$eval('#who-name', (el) => el.textContent)).toContain('sre@example.com');
  await page.click(`${card} button.approve`);
  await page.waitForSelector(card, { hidden: true });

  const deployed = await reaches(s, p.id, 'deployed');
  expect(deployed.approvals.map((a: any) => [a.approverEmail, a.decision])).toEqual([['sre@example.com', 'approved']]);

  // A promotion requested now appears in the open inbox by itself: the live feed says something moved.
  await page.waitForSelector('html[data-live="live"]');
  const next = await request(s, await requesterIn(), st);
  await page.waitForSelector(`#inbox-items [data-promotion-id="${next.id}"] button.approve`, { timeout: 30_000 });

  // The detail view shows the gates and the approval just given.
  await page.evaluate(`location.hash = '#/promotions/${p.id}'`);
  await page.waitForSelector('#main[data-loaded="promotion"]');
  const gates = await page.$$eval('#gates tbody tr', (rows) => rows.map((r) => [r.getAttribute('data-gate'), r.querySelector('td')?.textContent]));
  expect(gates).toEqual(expect.arrayContaining([['approval-gate', 'passed'], ['separation-of-duties-gate', 'passed']]));
  expect(await page.$eval('#approvals', (el) => el.textContent)).toContain('approved by sre@example.com');
  expect(await page.$eval('#evidence', (el) => el.textContent)).toMatch(/approved, signed/);

  // The list, filtered by status: the promotion under "deployed", none left "awaiting approval".
  const filtered = async (status: string) => {
    await page.select('#status-filter', status);
    await page.waitForFunction(`document.querySelector('#main[data-loaded="promotions"] caption')?.textContent === 'Promotions ${status.replace(/_/g, ' ')}'`);
    return page.$$eval('#promotion-rows tr', (rows) => rows.map((r) => r.getAttribute('data-promotion-id')));
  };
  await page.evaluate(`location.hash = '#/promotions'`);
  await page.waitForSelector(`#main[data-loaded="promotions"] tr[data-promotion-id="${p.id}"]`);
  expect(await filtered('deployed')).toEqual([p.id]);
  expect(await filtered('awaiting_approval')).toEqual([next.id]);
  expect(await filtered('rejected')).toEqual([]);
  expect(await page.$eval('#main [role="status"]', (el) => el.textContent)).toBe('No promotions.');
  expect(errors).toEqual([]);
  await page.close();
});

test('the requester under separation of duties gets the API’s refusal next to the buttons, and nothing is recorded', async () => {
  const st = await stage(s, { policy: POLICY });
  const requester = await requesterIn(['sre-team']);
  const p = await awaiting(s, requester, st);
  const { page, errors } = await signedIn(requester, `#/promotions/${p.id}`);

  // The gates say what holds it: the approval gate, failed without blocking, with what it waits for.
  const approvalGate = await page.$eval('#gates tr[data-gate="approval-gate"]', (tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent));
  expect(approvalGate).toEqual(['failed (holding)', p.gates.find((g: any) => g.gateName === 'approval-gate').message]);
  await page.click(`[data-promotion-id="${p.id}"] button.approve`);
  await page.waitForSelector('.decision-error:not(:empty)');
  const refusal = await s.refuse(403, 'POST', `/promotions/${p.id}/approve`, requester, {});
  expect(await page.$eval('.decision-error', (el) => el.textContent)).toBe(`Not allowed (SOD_VIOLATION): ${refusal.message}`);

  // Rejecting asks for a reason first, and is refused the same way.
  await page.click(`[data-promotion-id="${p.id}"] button.reject`);
  await page.waitForSelector('.reject-form:not([hidden]) input[name="reason"]');
  await page.type('.reject-form input[name="reason"]', 'not mine to judge');
  await page.click('.reject-form button.confirm-reject');
  await page.waitForSelector('.decision-error:not(:empty)');
  expect(await page.$eval('.decision-error', (el) => el.textContent)).toMatch(/^Not allowed \(SOD_VIOLATION\): /);
  expect(await s.expect(200, 'GET', `/promotions/${p.id}/approvals`)).toEqual([]);
  expect((await reaches(s, p.id, 'awaiting_approval')).approvalCount).toBe(0);
  expect(unexpected(errors, 403)).toEqual([]);
  await page.close();
});

test('an approver rejects from the inbox with a reason: the card leaves and the promotion is rejected with it', async () => {
  const st = await stage(s, { policy: POLICY });
  const p = await awaiting(s, await requesterIn(), st);
  const { page, errors } = await signedIn(await s.member('sre@example.com', 'sre-team'));
  const card = `#inbox-items [data-promotion-id="${p.id}"]`;
  await page.click(`${card} button.reject`);
  // The reason is asked before anything is sent; its field is labelled and takes the focus.
  expect(await page.$eval(`${card} .reject-form`, (form) => form.querySelector('label')?.textContent)).toBe(`Why reject ${st.release.name} to ${st.env.name}?`);
  await page.waitForSelector(`${card} .reject-form input[name="reason"]:focus`);
  await page.keyboard.type('the scan is stale');
  await page.click(`${card} button.confirm-reject`);
  await page.waitForSelector(card, { hidden: true });
  const rejected = await reaches(s, p.id, 'rejected');
  expect(rejected.approvals.map((a: any) => [a.approverEmail, a.decision])).toEqual([['sre@example.com', 'rejected']]);
  expect(JSON.stringify(rejected)).toContain('the scan is stale');
  expect(errors).toEqual([]);
  await page.close();
});

test('the live feed shows an event made through the API, and after a drop resumes from the last event it showed', async () => {
  const viewer = await s.token('watcher@example.com', { roles: ['viewer'] });
  const { page, errors } = await signedIn(viewer, '#/live');
  await page.waitForSelector('#live-state[data-state="live"]');
  expect(await page.$eval('#live-feed', (el) => el.getAttribute('aria-live'))).toBe('polite');

  const st = await stage(s, { policy: POLICY });
  const first = await request(s, await requesterIn(), st);
  await page.waitForSelector(`#live-feed li[data-event="promotion.status"][data-subject="${first.id}"]`);

  // The socket drops and the stream cannot be reached for a while (the browser blocks it): the feed says it is
  // reconnecting; an approval made meanwhile appears once it is back, sent from the last event it had shown.
  const cdp = await page.createCDPSession();
  await cdp.send('Network.enable');
  await cdp.send('Network.setBlockedURLs', { urls: ['*/dashboard/stream*'] });
  const sockets = await page.queryObjects(await page.evaluateHandle(() => WebSocket.prototype));
  await page.evaluate((all) => all.forEach((ws) => ws.close(4000, 'dropped by the test')), sockets);
  await page.waitForSelector('#live-state[data-state="reconnecting"]');
  await reaches(s, first.id, 'awaiting_approval');
  await approve(s, first.id, await s.member('sre@example.com', 'sre-team'));
  await cdp.send('Network.setBlockedURLs', { urls: [] });
  await page.waitForSelector(`#live-feed li[data-event="promotion.approval"][data-subject="${first.id}"]`, { timeout: 30_000 });
  await page.waitForSelector('#live-state[data-state="live"]');
  const ids = await page.$$eval('#live-feed li[data-event-id]', (items) => items.map((li) => li.getAttribute('data-event-id')));
  expect(new Set(ids).size).toBe(ids.length);
  // Besides the socket, the plain request that asks why it failed is blocked too.
  expect(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED|ERR_BLOCKED_BY_CLIENT/.test(e))).toEqual([]);
  await page.close();
});

test('a token the API refuses signs out and shows the API’s 401 message; sign-out forgets the token', async () => {
  const { page, errors } = await browser.page();
  await page.goto(`${app.url}/console`);
  await page.waitForSelector('#token');
  await page.type('#token', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJl');
  await page.click('#sign-in button[type="submit"]');
  await page.waitForSelector('#sign-in-message:not(:empty)');
  expect(await page.$eval('#sign-in-message', (el) => el.textContent)).toMatch(/^Your token was refused \(TOKEN_[A-Z_]+\): ./);
  expect(await page.evaluate('sessionStorage.getItem("tollgate.token")')).toBeNull();
  expect(unexpected(errors, 401)).toEqual([]);

  // A good token, then sign-out: back to the form, the token gone from the tab.
  await page.type('#token', await s.token('viewer@example.com', { roles: ['viewer'] }));
  await page.click('#sign-in button[type="submit"]');
  await page.waitForSelector('#main[data-loaded="inbox"]');
  await page.click('#sign-out');
  await page.waitForSelector('#main[data-loaded="sign-in"]');
  expect(await page.$eval('#sign-in-message', (el) => el.textContent)).toBe('Signed out.');
  expect(await page.evaluate('sessionStorage.getItem("tollgate.token")')).toBeNull();
  await page.close();
});

test('a token without the permission a page needs gets the API’s 403 message on that page', async () => {
  const token = await s.token('ops@example.com', { roles: [], permissions: ['incident:read'] });
  const refusal = await s.refuse(403, 'GET', '/my/pending-approvals', token);
  const { page, errors } = await signedIn(token);
  expect(await page.$eval('#main [role="alert"]', (el) => el.textContent)).toBe(`Not allowed (${refusal.code}): ${refusal.message}`);
  expect(unexpected(errors, 403)).toEqual([]);
  await page.close();
});

async function changeInCab(requester: string, overrides: Record<string, unknown> = {}) {
  const created = await s.expect(201, 'POST', '/prod/api/changes', requester, auroraChange(overrides));
  await s.expect(200, 'POST', `/prod/api/changes/${created.id}/submit`, requester);
  return s.expect(200, 'POST', `/prod/api/changes/${created.id}/submit-cab`, requester, {});
}

test('a CAB member approves one change and rejects another with a reason from the inbox; the API records both', async () => {
  const requester = await s.token('alice@example.com', { roles: ['engineer'] });
  const one = await changeInCab(requester);
  const two = await changeInCab(requester, { short_description: 'Rotate the TLS certificates' });
  const { page, errors } = await signedIn(await s.token('erin@example.com', { roles: ['cab-member'] }));

  const first = `#inbox-items [data-change-id="${one.id}"]`;
  await page.waitForSelector(`${first} button.approve`);
  expect(await page.$eval(`${first} h3`, (el) => el.textContent)).toBe(`Change ${one.number}: ${one.short_description}`);
  expect(await page.$eval(`${first} button.approve`, (el) => el.getAttribute('aria-label'))).toBe(`Approve change ${one.number}`);
  await page.click(`${first} button.approve`);
  await page.waitForSelector(first, { hidden: true });
  const approved = await s.expect(200, 'GET', `/prod/api/changes/${one.id}`);
  expect([approved.state, approved.approvals.map((a: any) => a.approver)]).toEqual(['scheduled', ['erin@example.com']]);

  const second = `#inbox-items [data-change-id="${two.id}"]`;
  await page.click(`${second} button.reject`);
  await page.waitForSelector(`${second} .reject-form input[name="reason"]:focus`);
  await page.keyboard.type('no rollback tested');
  await page.click(`${second} button.confirm-reject`);
  await page.waitForSelector(second, { hidden: true });
  const rejected = await s.expect(200, 'GET', `/prod/api/changes/${two.id}`);
  expect([rejected.state, rejected.rejection_reason]).toEqual(['rejected', 'no rollback tested']);
  await page.waitForFunction(`document.getElementById('inbox-status')?.textContent === 'Nothing waits on your decision.'`);
  expect(errors).toEqual([]);
  await page.close();
});

test('the inbox pages: with a small page size, “Show more” loads the next page, and a decision keeps the pages shown', async () => {
  const requester = await s.token('alice@example.com', { roles: ['engineer'] });
  const changes = [];
  for (const n of [1, 2, 3]) changes.push(await changeInCab(requester, { short_description: `Patch the hosts, batch ${n}` }));
  const { page, errors } = await signedIn(await s.token('erin@example.com', { roles: ['cab-member'] }));
  await go(page, '#/inbox?pageSize=2');
  const shown = () => page.$$eval('#inbox-items [data-change-id]', (cards) => cards.map((c) => c.getAttribute('data-change-id')));
  await page.waitForSelector('#inbox-more:not([hidden])');
  expect(await shown()).toEqual([changes[0].id, changes[1].id]);
  expect(await page.$eval('#inbox-status', (el) => el.textContent)).toBe('3 items waiting on your decision; showing 2.');

  await page.click('#inbox-more');
  await page.waitForSelector('#inbox-more[hidden]');
  expect(await shown()).toEqual(changes.map((c) => c.id));
  await page.click(`[data-change-id="${changes[0].id}"] button.approve`);
  await page.waitForSelector(`[data-change-id="${changes[0].id}"]`, { hidden: true });
  expect(await shown()).toEqual([changes[1].id, changes[2].id]);
  expect(await page.$eval('#inbox-more', (el) => el.hidden)).toBe(true);
  expect(errors).toEqual([]);
  await page.close();
});

test('a workflow run’s approval step: refused to its requester on the run page, approved from the inbox, and the run page follows it live to success', async () => {
  // Rita is in the approvers' group too, so only separation of duties keeps her from deciding her own run's step.
  const rita = await s.token('rita@example.com', { roles: ['release-manager'], claims: { groups: ['release-leads'] } });
  const bob = await s.token('bob@example.com', { roles: ['viewer'], claims: { groups: ['release-leads'] } });
  const template = await s.expect(201, 'POST', '/workflow-templates', rita, {
    name: 'sign then soak',
    nodes: [
      { id: 'sign_off', type: 'approval', inputs: { approvals: 1, groups: ['release-leads'], expiresIn: '1h', message: 'ship 2.4?' } },
      { id: 'soak', type: 'wait', dependsOn: ['sign_off'], inputs: { duration: '2s' } },
    ],
  });
  const run = await s.expect(201, 'POST', '/workflow-runs', rita, { templateId: template.id, parameters: {} });
  await until('the step in Bob’s inbox', async () => ((await s.expect(200, 'GET', '/my/pending-approvals?kind=workflow-step', bob)).length ? true : undefined), 30_000);

  // Rita, who requested the run, watches it: the list links to it, its page shows the node waiting.
  const watcher = await signedIn(rita, '#/runs?status=running');
  const rp = watcher.page;
  await rp.click(`#run-rows tr[data-run-id="${run.id}"] a`);
  await rp.waitForSelector(`#main[data-loaded="run"] tr[data-node="sign_off"][data-status="running"]`);
  await rp.waitForSelector('#run-live[data-state="live"]');
  expect(await rp.$eval('tr[data-node="soak"]', (tr) => tr.getAttribute('data-status'))).toBe('pending');
  expect(await rp.$eval('tr[data-node="sign_off"]', (tr) => tr.textContent)).toContain('“ship 2.4?”');
  // The step keeps separation of duties: her approval is refused in the API’s words, next to the buttons.
  await rp.click('tr[data-node="sign_off"] button.approve');
  await rp.waitForSelector('tr[data-node="sign_off"] .decision-error:not(:empty)');
  const refusal = await s.refuse(403, 'POST', `/workflow-runs/${run.id}/steps/sign_off/approve`, rita, {});
  expect(await rp.$eval('tr[data-node="sign_off"] .decision-error', (el) => el.textContent)).toBe(`Not allowed (SOD_VIOLATION): ${refusal.message}`);

  // The run page's socket drops: it reconnects and is live again.
  const sockets = await rp.queryObjects(await rp.evaluateHandle(() => WebSocket.prototype));
  await rp.evaluate((all) => all.forEach((ws) => ws.url.includes('/workflow-runs/') && ws.close(4000, 'dropped by the test')), sockets);
  await rp.waitForSelector('#run-live[data-state="reconnecting"]');
  await rp.waitForSelector('#run-live[data-state="live"]', { timeout: 30_000 });

  // Bob approves from his inbox.
  const { page, errors } = await signedIn(bob);
  const card = `#inbox-items [data-step-id="${run.id}/sign_off"]`;
  await page.waitForSelector(`${card} button.approve`);
  expect(await page.$eval(`${card} h3`, (el) => el.textContent)).toBe('Approval step sign_off of a sign then soak run');
  expect(await page.$eval(`${card} h3 a`, (a) => a.getAttribute('href'))).toBe(`#/runs/${run.id}`);
  await page.click(`${card} button.approve`);
  await page.waitForSelector(card, { hidden: true });

  // Rita's page, never reloaded, follows the run: the approval, the soak, the end.
  const section = await rp.$('#main section[data-run-id]');
  await rp.waitForSelector('tr[data-node="sign_off"][data-status="succeeded"]', { timeout: 30_000 });
  expect(await rp.$eval('tr[data-node="sign_off"]', (tr) => tr.textContent)).toContain('approved by bob@example.com');
  expect(await rp.$('tr[data-node="sign_off"] button.approve')).toBeNull();
  await rp.waitForSelector('tr[data-node="soak"][data-status="succeeded"]', { timeout: 30_000 });
  await rp.waitForSelector('#main section[data-status="succeeded"]');
  await rp.waitForSelector('#run-live[data-state="ended"]');
  expect(await section!.evaluate((el) => el.isConnected)).toBe(true);
  expect(await rp.$eval('#run-announce', (el) => [el.getAttribute('aria-live'), el.textContent])).toEqual(['polite', expect.stringMatching(/run succeeded/)]);
  expect((await s.expect(200, 'GET', `/workflow-runs/${run.id}`)).status).toBe('succeeded');
  expect(errors).toEqual([]);
  expect(unexpected(watcher.errors, 403)).toEqual([]);
  await page.close();
  await rp.close();
});

test('an approver rejects a run’s step on the run page with a reason: the node shows its error and the run fails', async () => {
  const rita = await s.token('rita@example.com', { roles: ['release-manager'] });
  const bob = await s.token('bob@example.com', { roles: ['viewer'], claims: { groups: ['release-leads'] } });
  const template = await s.expect(201, 'POST', '/workflow-templates', rita, {
    name: 'gated soak',
    nodes: [
      { id: 'sign_off', type: 'approval', inputs: { approvals: 1, groups: ['release-leads'] } },
      { id: 'soak', type: 'wait', dependsOn: ['sign_off'], inputs: { duration: '1s' } },
    ],
  });
  const run = await s.expect(201, 'POST', '/workflow-runs', rita, { templateId: template.id, parameters: {} });
  const { page, errors } = await signedIn(bob, `#/runs/${run.id}`);
  await page.waitForSelector('tr[data-node="sign_off"][data-status="running"] button.reject', { timeout: 30_000 });
  await page.click('tr[data-node="sign_off"] button.reject');
  await page.waitForSelector('tr[data-node="sign_off"] .reject-form input[name="reason"]:focus');
  await page.keyboard.type('the soak window is wrong');
  await page.click('tr[data-node="sign_off"] button.confirm-reject');
  await page.waitForSelector('tr[data-node="sign_off"][data-status="failed"]', { timeout: 30_000 });
  await page.waitForSelector('#main section[data-status="failed"]', { timeout: 30_000 });
  const failed = (await s.expect(200, 'GET', `/workflow-runs/${run.id}`)).nodes.find((n: any) => n.nodeId === 'sign_off');
  const shown = await page.$eval('tr[data-node="sign_off"]', (tr) => tr.textContent);
  expect(shown).toContain(`${failed.error.code}: ${failed.error.message}`);
  expect(shown).toContain('rejected by bob@example.com: “the soak window is wrong”');
  expect(await page.$eval('tr[data-node="soak"]', (tr) => tr.getAttribute('data-status'))).not.toBe('succeeded');
  expect(errors).toEqual([]);
  await page.close();
});

test('a token that may read no event is told the live feed is not for it (403), and the feed stops trying', async () => {
  const token = await s.token('cab@example.com', { roles: [], permissions: ['change:read'] });
  const refusal = await s.refuse(403, 'GET', '/dashboard/stream', token);
  const { page, errors } = await signedIn(token, '#/live');
  await page.waitForSelector('#live-state[data-state="refused"]');
  expect(await page.$eval('#live-state', (el) => el.textContent)).toBe(`The live feed is not available to you: Not allowed (${refusal.code}): ${refusal.message}`);
  expect(await page.evaluate('document.documentElement.dataset.live')).toBe('refused');
  expect(unexpected(errors, 403)).toEqual([]);
  await page.close();
});
