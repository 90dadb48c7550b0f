import { z } from '@hono/zod-openapi';

/** What the evidence-packet routes answer (Stella: camelCase). */

export const EVIDENCE_PACKET_TYPES = ['release_decision'] as const;
export const EVIDENCE_DECISIONS = ['approved', 'rejected', 'expired', 'cancelled', 'deployed', 'failed', 'rolled_back'] as const;

/** The packet as signed: what a download holds and `npm run verify-evidence` checks. */
export const SignedPacketSchema = z
  .object({
    id: z.string(),
    type: z.enum(EVIDENCE_PACKET_TYPES),
    version: z.enum(['1.0', '1.1']).openapi({ description: '1.1 signs the whole packet (envelope and content); 1.0, issued before, signed its content only' }),
    content: z.record(z.string(), z.unknown()),
    contentHash: z.string(),
    signature: z.string().openapi({ description: 'ECDSA P-256 / SHA-256 (IEEE P1363 r‖s), base64' }),
    signatureAlgorithm: z.literal('ECDSA-P256-SHA256'),
    signerKeyRef: z.string().openapi({ description: 'The key id (kid) in GET /evidence/jwks.json that verifies it' }),
    generatedAt: z.string(),
  })
  .openapi('SignedEvidencePacket');

const summaryFields = {
  id: z.string(),
  type: z.enum(EVIDENCE_PACKET_TYPES),
  decision: z.string().openapi({ description: `The decision it records: ${EVIDENCE_DECISIONS.join(', ')}` }),
  promotionId: z.string(),
  releaseId: z.string().nullable(),
  releaseName: z.string().nullable(),
  environmentId: z.string().nullable().openapi({ description: 'The promotion’s target environment' }),
  environmentName: z.string().nullable(),
  contentHash: z.string(),
  signerKeyRef: z.string(),
  generatedAt: z.string(),
};

export const EvidencePacketSummarySchema = z.object(summaryFields).openapi('EvidencePacketSummary');

export const EvidencePacketDetailSchema = z
  .object({
    ...summaryFields,
    packet: SignedPacketSchema,
    download: z.string().openapi({ description: 'Where the packet is served as a file' }),
  })
  .openapi('EvidencePacketDetail');

export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: 'id', in: 'path' } }) });
