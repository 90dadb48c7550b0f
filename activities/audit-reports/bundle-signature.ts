import { createHash, webcrypto } from 'node:crypto';
import { importJWK, type JWK } from 'jose';
import { canonicalJson } from '../../domain/canonical-json';
import { contentHashOf, EVIDENCE_VERSION, SIGNATURE_ALGORITHM } from '../../platform/evidence';
import { nameUuid } from '../../platform/name-uuid';
import type { SignedReportManifest } from '../../domain/evidence/model';

const fileEntry = (bytes: Buffer) => ({ sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });

/** Signs a report's files with the evidence key: the manifest's format is the packets' (see SignedReportManifest). */
export async function signReportBundle(
  privateJwk: JWK,
  report: { tenantId: string; reportId: string; generatedAt: string; scope: unknown; summary: unknown },
  files: { json: Buffer; pdf: Buffer },
): Promise<SignedReportManifest> {
  const content = {
    tenantId: report.tenantId,
    reportId: report.reportId,
    scope: report.scope,
    summary: report.summary,
    files: { json: fileEntry(files.json), pdf: fileEntry(files.pdf) },
  };
  const unsigned: Omit<SignedReportManifest, 'signature'> = {
    id: nameUuid(`audit-report:${report.tenantId}:${report.reportId}`),
    type: 'audit_report',
    version: EVIDENCE_VERSION,
    content,
    contentHash: contentHashOf(content),
    signatureAlgorithm: SIGNATURE_ALGORITHM,
    signerKeyRef: privateJwk.kid ?? 'evidence',
    generatedAt: report.generatedAt,
  };
  const key = (await importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256')) as webcrypto.CryptoKey;
  const bytes = new TextEncoder().encode(canonicalJson(unsigned));
  const signature = Buffer.from(await webcrypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, bytes)).toString('base64');
  return { ...unsigned, signature };
}
