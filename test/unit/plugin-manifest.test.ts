import { readManifest } from '../../domain/integrations/plugin-manifest';

/** What a plugin must export: every extension point it names is one the host calls plugins for, with its function. */
const base = { id: 'p', name: 'P', version: '1.0.0' };
const reason = (exported: unknown) => {
  const read = readManifest(exported);
  return read.ok ? null : read.reason;
};

describe('a plugin manifest', () => {
  it('loads a notifier with notify and an http gate with check', () => {
    expect(reason({ ...base, implements: ['notifier'], notify: () => ({ ok: true }) })).toBeNull();
    expect(reason({ default: { ...base, implements: ['http-gate', 'notifier'], check: () => ({ ok: true }), notify: () => ({ ok: true }) } })).toBeNull();
  });

  it('refuses an extension point the host never calls plugins for, saying which ones it can implement', () => {
    for (const kind of ['container-registry', 'metric-provider', 'traffic-provider', 'frobnicator']) {
      expect(reason({ ...base, implements: [kind] })).toBe(
        `not a Tollgate plugin: implements.0 "${kind}" is not an extension point plugins can implement today; they can implement notifier (exports notify), http-gate (exports check)`,
      );
    }
  });

  it('refuses an extension point without its function, naming each', () => {
    expect(reason({ ...base, implements: ['notifier', 'http-gate'], check: 'not a function' })).toBe('not a Tollgate plugin: check must be a function');
    expect(reason({ ...base, implements: ['notifier', 'http-gate'] })).toBe(
      'not a Tollgate plugin: implements.0 "notifier" needs the function notify, which the plugin does not export; implements.1 "http-gate" needs the function check, which the plugin does not export',
    );
  });
});
