import { releaseDifferences } from '../../domain/promotions/release-diff';

const api = { componentId: 'c-api', name: 'api', version: '1.2.0', digest: 'sha256:aa' };
const web = { componentId: 'c-web', name: 'web', version: '3.0.0', digest: null };
const worker = { componentId: 'c-worker', name: 'worker', version: '0.9.1', digest: 'sha256:bb' };

test('two releases with the same components at the same versions and digests do not differ', () => {
  expect(releaseDifferences([api, web], [web, api])).toEqual([]);
});

test('each component that differs is named once, in the first release’s order then the other’s', () => {
  const other = [{ ...api, version: '1.3.0', digest: 'sha256:cc' }, { ...web, digest: 'sha256:dd' }, worker];
  expect(releaseDifferences([api, web], other)).toEqual([
    { componentId: 'c-api', name: 'api', change: 'version', version: '1.2.0', otherVersion: '1.3.0', digest: 'sha256:aa', otherDigest: 'sha256:cc' },
    { componentId: 'c-web', name: 'web', change: 'digest', version: '3.0.0', otherVersion: '3.0.0', digest: null, otherDigest: 'sha256:dd' },
    { componentId: 'c-worker', name: 'worker', change: 'added', version: null, otherVersion: '0.9.1', digest: null, otherDigest: 'sha256:bb' },
  ]);
});

test('a component only the first release has is removed', () => {
  expect(releaseDifferences([api, worker], [api])).toEqual([
    { componentId: 'c-worker', name: 'worker', change: 'removed', version: '0.9.1', otherVersion: null, digest: 'sha256:bb', otherDigest: null },
  ]);
});
