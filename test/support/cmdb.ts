import type { TestApp } from './app';

/** CMDB scenes for API tests: CIs and relationships made through the StackFlow dialect. */

let seq = 0;

export async function createCi(app: TestApp, token: string, body: Record<string, unknown>): Promise<any> {
  const res = await app.http('POST', '/prod/api/cmdb/cis', { token, body });
  if (res.status !== 201) throw new Error(`create CI: ${res.status} ${res.text}`);
  return res.body;
}

/** A CI with a name no other test uses. */
export async function someCi(app: TestApp, token: string, body: Record<string, unknown> = {}): Promise<any> {
  seq += 1;
  return createCi(app, token, { name: `ci-${Date.now().toString(36)}-${seq}`, class: 'service', ...body });
}

/** `sourceId` needs `targetId`: when the target goes down, the source is affected. */
export async function relate(app: TestApp, token: string, sourceId: string, type: string, targetId: string): Promise<any> {
  const res = await app.http('POST', `/prod/api/cmdb/cis/${sourceId}/relationships`, { token, body: { type, target_id: targetId } });
  if (res.status !== 201) throw new Error(`relate: ${res.status} ${res.text}`);
  return res.body;
}
