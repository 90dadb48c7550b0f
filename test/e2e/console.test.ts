import { CONSOLE_CSP } from '../../api/modules/console';
import { startTestApp, type TestApp } from '../support/app';
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
  if (hash !== '#/inbox') {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await page.waitForSelector(`#main[data-loaded="${hash.startsWith('#/promotions/') ? 'promotion' : hash.slice(2)}"]`);
  }
  return watched;
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
  expect(errors.filter((e) => !/WebSocket|ERR_INTERNET_DISCONNECTED/.test(e))).toEqual([]);
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
