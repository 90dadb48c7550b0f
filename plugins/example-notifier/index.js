'use strict';

/**
 * An example Tollgate plugin. It implements the notifier extension point:
 * each notification becomes one plain-text line POSTed to the instance's URL
 * (what simple chat bridges and log collectors take). Tollgate hands
 * `configSchema` its own zod, so the plugin needs no dependency; every call
 * is bounded by the host (PLUGIN_CALL_TIMEOUT), so a slow receiver makes a
 * call time out, never the worker hang.
 */
module.exports = {
  id: 'example-notifier',
  name: 'Plain-text line notifier',
  version: '1.0.0',
  description: 'POSTs each notification as one text/plain line, optionally with a bearer token.',
  implements: ['notifier'],
  configSchema: (z) =>
    z.strictObject({
      url: z.url({ protocol: /^https?$/ }).max(2048).describe('Where lines are POSTed'),
      prefix: z.string().max(64).default('[tollgate]').describe('Put before every line'),
      token: z.string().min(1).max(4096).optional().describe('Sent as Authorization: Bearer … (write-only)'),
    }),
  secretFields: ['token'],

  async health() {
    return { ok: true, details: { fetch: typeof fetch === 'function' } };
  },

  async test(config) {
    return post(config, `${config.prefix} test line from Tollgate`);
  },

  async notify(config, notification) {
    return post(config, `${config.prefix} ${notification.title}: ${notification.text}`);
  },
};

async function post(config, line) {
  const headers = { 'content-type': 'text/plain; charset=utf-8' };
  if (config.token) headers.authorization = `Bearer ${config.token}`;
  const res = await fetch(config.url, { method: 'POST', headers, body: line, signal: AbortSignal.timeout(5000) });
  if (!res.ok) return { ok: false, reason: `${config.url} answered ${res.status}` };
  return { ok: true, details: { status: res.status } };
}
