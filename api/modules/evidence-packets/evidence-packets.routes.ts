import { createRoute, z } from '@hono/zod-openapi';
import { instant } from '../../../domain/instant';
import { emptyIsNone } from '../../list-filters';
import { envelope, errorResponses, listEnvelope } from '../../openapi-helpers';
import { sortablePaginationQuery } from '../../pagination';
import { EVIDENCE_DECISIONS, EVIDENCE_PACKET_TYPES, EvidencePacketDetailSchema, EvidencePacketSummarySchema, IdParam, SignedPacketSchema } from './evidence-packets.responses';

/** RELEVI: the promotions' signed evidence packets, listed, read and downloaded as files. */

const tags = ['Release evidence'];
const PACKET_404 = 'No evidence packet with this id in your tenant (`EVIDENCE_NOT_FOUND`)';

export const PACKET_SORTS = ['generated_at'] as const;
export const PacketListQuery = sortablePaginationQuery(PACKET_SORTS).extend({
  releaseId: emptyIsNone(z.uuid()).openapi({ description: 'Packets of this release’s promotions' }),
  environmentId: emptyIsNone(z.uuid()).openapi({ description: 'Packets of promotions into this environment' }),
  promotionId: emptyIsNone(z.uuid()).openapi({ description: 'Packets of this promotion' }),
  type: emptyIsNone(z.enum(EVIDENCE_PACKET_TYPES)).openapi({ description: 'Packet type' }),
  decision: emptyIsNone(z.enum(EVIDENCE_DECISIONS)).openapi({ description: 'The decision recorded' }),
  from: instant().optional().openapi({ description: 'Packets generated at or after this instant' }),
  to: instant().optional().openapi({ description: 'Packets generated before this instant' }),
});

export const listPacketsRoute = createRoute({
  method: 'get',
  path: '/evidence-packets',
  operationId: 'listEvidencePackets',
  tags,
  summary: 'List signed evidence packets, newest first',
  request: { query: PacketListQuery },
  responses: {
    200: { description: 'A page of packets', content: { 'application/json': { schema: listEnvelope(EvidencePacketSummarySchema) } } },
    ...errorResponses([400, 403], { 400: 'A filter is malformed, or `to` is not after `from` (`VALIDATION_FAILED`)' }),
  },
});

export const getPacketRoute = createRoute({
  method: 'get',
  path: '/evidence-packets/{id}',
  operationId: 'getEvidencePacket',
  tags,
  summary: 'A signed evidence packet with the promotion, release and environment it belongs to',
  request: { params: IdParam },
  responses: {
    200: { description: 'The packet', content: { 'application/json': { schema: envelope(EvidencePacketDetailSchema) } } },
    ...errorResponses([400, 403, 404], { 404: PACKET_404 }),
  },
});

export const downloadPacketRoute = createRoute({
  method: 'get',
  path: '/evidence-packets/{id}/download',
  operationId: 'downloadEvidencePacket',
  tags,
  summary: 'The packet as a file: verify it offline with `npm run verify-evidence -- <file>` against GET /evidence/jwks.json',
  description:
    'The body is the signed packet itself (no envelope). Its signature also comes detached in `X-Evidence-Signature`, with the key id that verifies it in ' +
    '`X-Evidence-Key-Id` and the algorithm in `X-Evidence-Signature-Algorithm`; it signs the RFC 8785 canonical JSON of the packet without its `signature` field.',
  request: { params: IdParam },
  responses: {
    200: {
      description: 'The packet file',
      headers: {
        'Content-Disposition': { description: 'attachment; filename="evidence-<id>.json"', schema: { type: 'string' } },
        'X-Evidence-Signature': { description: 'The detached signature (base64)', schema: { type: 'string' } },
        'X-Evidence-Key-Id': { description: 'The kid of the key in GET /evidence/jwks.json that verifies it', schema: { type: 'string' } },
        'X-Evidence-Signature-Algorithm': { description: 'ECDSA-P256-SHA256', schema: { type: 'string' } },
      },
      content: { 'application/json': { schema: SignedPacketSchema } },
    },
    ...errorResponses([400, 403, 404], { 404: PACKET_404 }),
  },
});
