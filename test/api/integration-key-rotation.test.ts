import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../support/app';
import { openSecrets, parseSecretKeys, sealedKeyId, secretOwner } from '../../store/integrations-secrets';

/**
 * `npm run rotate-integration-key` re-encrypts stored secrets under the first
 * key of TOLLGATE_INTEGRATION_KEYS, so the old key can then be dropped; rows
 * under a key it does not hold make it fail naming the key.
 */
const run = promisify(execFile);
const key = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;
const OLD = key('old');
const NEW = key('new');
let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ worker: false, env: { TOLLGATE_INTEGRATION_KEYS: OLD, INTEGRATION_HEALTH_INTERVAL: '1h' } });
});
afterAll(() => app.close());

const rotate = (keys: string) =>
  // Scoped to this file's tenant: other files' rows in the shared database are under their own keys.
  run('npx', ['tsx', 'scripts/rotate-integration-key.ts', '--tenant', app.tenant], { env: { ...process.env, DATABASE_URL: app.config.DATABASE_URL, DATA_DIR: app.config.DATA_DIR, TOLLGATE_INTEGRATION_KEYS: keys } });

test('rotation re-seals every secret under the new key; the old key can then go; a second run changes nothing', async () => {
  const admin = await app.token('rita@example.com', { roles: ['release-manager'] });
  const created = await app.http('POST', '/api/v1/integrations', { token: admin, body: { typeId: 'webhook', name: 'rotated', config: { url: 'http://127.0.0.1:9/hook', signingSecret: 'rotate-me' } } });
  expect(created.status).toBe(201);
  const id = created.body.data.id;
  const sealed = async () => (await app.pool.query('SELECT secrets FROM integrations WHERE id = $1', [id])).rows[0].secrets as string;
  expect(sealedKeyId(await sealed())).toBe('old');

  const first = await rotate(`${NEW},${OLD}`);
  expect(first.stdout).toMatch(/re-encrypted 1 row\(s\) under key "new"/);
  expect(sealedKeyId(await sealed())).toBe('new');
  // Only the new key is needed now.
  expect(openSecrets(parseSecretKeys(NEW), secretOwner(app.tenant, 'integrations', id), await sealed())).toEqual({ signingSecret: 'rotate-me' });

  const again = await rotate(`${NEW},${OLD}`);
  expect(again.stdout).toMatch(/re-encrypted 0 row\(s\)/);

  const lost = await rotate(key('other')).catch((err: { code: number; stderr: string }) => err);
  expect(lost).toMatchObject({ code: 1, stderr: expect.stringContaining('key "new"') });
}, 60_000);
