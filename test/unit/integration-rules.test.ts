import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { checkConfig, secretsShown } from '../../domain/integrations/config';
import { backoffMs, notificationBody, retryableStatus } from '../../domain/integrations/notifications';
import { nextPage, parseAuthenticate, tokenUrl } from '../../domain/integrations/oci';
import { readManifest } from '../../domain/integrations/plugin-manifest';
import { INTEGRATION_TYPES } from '../../domain/integrations/types';
import { openSecrets, parseSecretKeys, sealSecrets } from '../../store/integrations-secrets';

/** The pure rules of integrations: configs and their secrets, notifier payloads, the registry's auth challenge, plugin manifests, sealed secrets. */

const n = { event: 'promotion.approved', title: 'web 2.0 approved', text: 'to production', link: 'https://tollgate/p/1', at: '2026-01-01T00:00:00.000Z' };

test('a config splits into clear fields and secrets; a secret left out keeps the stored one; every bad field is reported', () => {
  const { config, secretFields } = INTEGRATION_TYPES['oci-registry'];
  const first = checkConfig(config, secretFields, { url: 'https://r.example', username: 'ci', password: 'p1' });
  expect(first).toEqual({ ok: true, value: { config: { url: 'https://r.example', username: 'ci', timeoutMs: 5000 }, secrets: { password: 'p1' } } });
  const kept = checkConfig(config, secretFields, { url: 'https://r.example' }, { password: 'p1' });
  expect(kept.ok && kept.value.secrets).toEqual({ password: 'p1' });
  const bad = checkConfig(config, secretFields, { url: 'ftp://x', timeoutMs: 1, other: true });
  expect(bad.ok).toBe(false);
  if (!bad.ok) expect(bad.error.issues.map((i) => i.path.join('.') || (i as { keys?: string[] }).keys?.join(',')).sort()).toEqual(['other', 'timeoutMs', 'url']);
  expect(secretsShown(['password', 'token'], ['password'])).toEqual({ password: { secretSet: true }, token: { secretSet: false } });
});

test('notifications are shaped for Slack, Teams and generic receivers; retries only for busy or down receivers', () => {
  expect(notificationBody('slack', n)).toMatchObject({ text: 'web 2.0 approved: to production', blocks: [{ type: 'section', text: { type: 'mrkdwn' } }] });
  expect(notificationBody('teams', n)).toMatchObject({ '@type': 'MessageCard', title: 'web 2.0 approved', potentialAction: [{ targets: [{ uri: n.link }] }] });
  expect(notificationBody('generic', n)).toEqual({ event: n.event, title: n.title, text: n.text, link: n.link, at: n.at });
  expect([408, 429, 500, 503].map(retryableStatus)).toEqual([true, true, true, true]);
  expect([400, 401, 404].map(retryableStatus)).toEqual([false, false, false]);
  expect([2, 3, 10].map(backoffMs)).toEqual([200, 400, 5000]);
});

test('a bearer challenge becomes the token URL with the scope the request needs; Link headers page', () => {
  const challenge = parseAuthenticate('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"');
  expect(challenge).toEqual({ scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } });
  expect(tokenUrl(challenge!, 'registry:catalog:*')).toBe('https://auth.example/token?service=registry.example&scope=registry%3Acatalog%3A*');
  expect(parseAuthenticate('Basic realm="r"')?.scheme).toBe('basic');
  expect(parseAuthenticate(null)).toBeUndefined();
  expect(nextPage('</v2/_catalog?last=b&n=100>; rel="next"')).toBe('/v2/_catalog?last=b&n=100');
  expect(nextPage(null)).toBeUndefined();
});

test('a plugin manifest names its extension points and its config schema (written with the host zod); anything else is refused with why', () => {
  const notify = () => ({ ok: true });
  const ok = readManifest({ default: { id: 'p1', name: 'P', version: '1', implements: ['notifier'], notify, configSchema: (host: typeof z) => host.strictObject({ url: host.string() }) } });
  expect(ok.ok && ok.config.shape).toHaveProperty('url');
  expect(readManifest({ id: 'P 1', name: 'P', version: '1', implements: [] })).toEqual({ ok: false, reason: expect.stringMatching(/id must be lower-case.*implements must name at least one/) });
  expect(readManifest({ id: 'p', name: 'P', version: '1', implements: ['ftp'] }).ok).toBe(false);
  expect(readManifest({ id: 'p', name: 'P', version: '1', implements: ['notifier'], notify, configSchema: () => 'nope' })).toEqual({ ok: false, reason: expect.stringContaining('zod object schema') });
  expect(readManifest({ id: 'p', name: 'P', version: '1', implements: ['notifier'], notify, configSchema: () => { throw new Error('boom'); } })).toEqual({ ok: false, reason: 'its configSchema threw: boom' });
});

test('sealed secrets open only with a listed key and only on the row they were sealed for', () => {
  const keys = parseSecretKeys(`k1:${randomBytes(32).toString('base64')},k0:${randomBytes(32).toString('base64')}`);
  const sealed = sealSecrets(keys, 'integrations:t:1', { password: 'p' })!;
  expect(sealed).toMatch(/^v1\.k1\./);
  expect(sealed).not.toContain('p"');
  expect(openSecrets(keys, 'integrations:t:1', sealed)).toEqual({ password: 'p' });
  expect(() => openSecrets(keys, 'integrations:t:2', sealed)).toThrow();
  expect(() => openSecrets(keys.slice(1), 'integrations:t:1', sealed)).toThrow(/key "k1"/);
  expect(sealSecrets(keys, 'x', {})).toBeNull();
  expect(() => parseSecretKeys('k1:short')).toThrow(/32 bytes/);
});
