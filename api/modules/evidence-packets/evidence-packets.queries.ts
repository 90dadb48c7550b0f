import type { EvidencePacket } from '../../../platform/evidence';
import type { Pool } from '../../../platform/db';
import { iso } from '../../entity-writes';
import { listPage, type ListSpec } from '../../list-query';
import type { Page, PageRequest } from '../../pagination';

/** Reads of evidence_packets beside the promotion each belongs to; every query is scoped by tenant. */

export const PACKET_SORT_COLUMNS = { generated_at: { column: 'e.generated_at', cast: 'timestamptz' } } as const satisfies ListSpec['sortColumns'];

const FROM = 'evidence_packets e LEFT JOIN promotions p ON p.tenant_id = e.tenant_id AND p.id = e.promotion_id';
const SELECT = `e.id, e.promotion_id, e.decision, e.content_hash, e.signer_kid, e.generated_at,
  p.release_id, p.body->>'releaseName' AS release_name, p.target_environment_id, p.body->>'targetEnvironmentName' AS environment_name`;

type PacketRow = {
  id: string;
  promotion_id: string;
  decision: string;
  content_hash: string;
  signer_kid: string;
  generated_at: Date;
  release_id: string | null;
  release_name: string | null;
  target_environment_id: string | null;
  environment_name: string | null;
};

const present = (r: PacketRow) => ({
  id: r.id,
  type: 'release_decision' as const,
  decision: r.decision,
  promotionId: r.promotion_id,
  releaseId: r.release_id,
  releaseName: r.release_name,
  environmentId: r.target_environment_id,
  environmentName: r.environment_name,
  contentHash: r.content_hash,
  signerKeyRef: r.signer_kid,
  generatedAt: iso(r.generated_at)!,
});

export interface PacketFilters {
  releaseId?: string;
  environmentId?: string;
  promotionId?: string;
  type?: string;
  decision?: string;
  from?: string;
  to?: string;
}

/** The list's query: filters on the promotion go through its indexes (release, environment), the rest on the packet's. */
export function packetListSpec(tenantId: string, filters: PacketFilters): ListSpec {
  const where = ['e.tenant_id = $1'];
  const params: unknown[] = [tenantId];
  const add = (sql: (n: number) => string, value: unknown) => {
    params.push(value);
    where.push(sql(params.length));
  };
  if (filters.releaseId) add((n) => `p.release_id = $${n}`, filters.releaseId);
  if (filters.environmentId) add((n) => `p.target_environment_id = $${n}`, filters.environmentId);
  if (filters.promotionId) add((n) => `e.promotion_id = $${n}`, filters.promotionId);
  if (filters.type) add((n) => `e.packet->>'type' = $${n}`, filters.type);
  if (filters.decision) add((n) => `e.decision = $${n}`, filters.decision);
  if (filters.from) add((n) => `e.generated_at >= $${n}::timestamptz`, filters.from);
  if (filters.to) add((n) => `e.generated_at < $${n}::timestamptz`, filters.to);
  return { from: FROM, select: SELECT, where, params, sortColumns: PACKET_SORT_COLUMNS, idColumn: 'e.id::text' };
}

export async function listPackets(pool: Pool, tenantId: string, filters: PacketFilters, request: PageRequest) {
  return listPage<PacketRow, ReturnType<typeof present>>(pool, packetListSpec(tenantId, filters), request, present);
}

export async function findPacket(pool: Pool, tenantId: string, id: string): Promise<(ReturnType<typeof present> & { packet: EvidencePacket }) | undefined> {
  const { rows } = await pool.query<PacketRow & { packet: EvidencePacket }>(`SELECT ${SELECT}, e.packet FROM ${FROM} WHERE e.tenant_id = $1 AND e.id = $2`, [tenantId, id]);
  return rows[0] ? { ...present(rows[0]), packet: rows[0].packet } : undefined;
}

export type PacketPage = Page<ReturnType<typeof present>>;
