'use strict';

/**
 * An example Tollgate plugin implementing the http-gate extension point: an
 * approval policy's http gate that names an instance of it (pluginInstanceId)
 * passes when the instance's URL answers 2xx to a GET that says which release
 * goes to which environment (query parameters release, environment), and
 * fails with the status otherwise. The host bounds every call
 * (PLUGIN_CALL_TIMEOUT): a URL that never answers fails the gate with a
 * timeout, the promotion goes on being evaluated.
 */
module.exports = {
  id: 'example-gate',
  name: 'URL answers 2xx gate',
  version: '1.0.0',
  description: 'Passes a promotion when a GET of the instance’s URL answers 2xx, optionally with a bearer token.',
  implements: ['http-gate'],
  configSchema: (z) =>
    z.strictObject({
      url: z.url({ protocol: /^https?$/ }).max(2048).describe('Asked with GET ?release=<name>&environment=<name>'),
      token: z.string().min(1).max(4096).optional().describe('Sent as Authorization: Bearer … (write-only)'),
    }),
  secretFields: ['token'],

  async test(config) {
    return ask(config, {});
  },

  async check(config, context) {
    return ask(config, { release: context.release.name, environment: context.environment.name });
  },
};

async function ask(config, query) {
  const url = new URL(config.url);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const headers = config.token ? { authorization: `Bearer ${config.token}` } : {};
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  const body = (await res.text()).slice(0, 200);
  if (!res.ok) return { ok: false, reason: `${config.url} answered ${res.status}${body ? `: ${body}` : ''}`, details: { status: res.status } };
  return { ok: true, details: { status: res.status } };
}
