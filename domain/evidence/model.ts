/**
 * Audit reports: what one gathers, in the shapes its activities write to
 * Postgres and the API and the rendered files read. The report's records stay
 * in Postgres; the workflow carries ids and counts only.
 */

export const AUDIT_REPORT_STATUSES = ['queued', 'gathering', 'verifying', 'rendering', 'ready', 'failed'] as const;
export type AuditReportStatus = (typeof AUDIT_REPORT_STATUSES)[number];

export const AUDIT_REPORT_FORMATS = ['pdf', 'json'] as const;
export type AuditReportFormat = (typeof AUDIT_REPORT_FORMATS)[number];

/** The most promotions one report lists; a scope with more says so (truncated) and should be narrowed. */
export const MAX_REPORT_PROMOTIONS = 500;

export type PacketVerdict = 'valid' | 'invalid' | 'missing';

export interface ReportEvidence {
  /** Null for a decision that should have a packet and has none. */
  packetId: string | null;
  decision: string;
  generatedAt: string | null;
  signerKeyRef: string | null;
  verdict: PacketVerdict;
  /** Why it failed (invalid) or what is missing. */
  reason: string | null;
}

export interface ReportGate {
  gateName: string;
  passed: boolean;
  blocking: boolean;
  message: string;
}

export interface ReportApproval {
  approverId: string;
  decision: string;
  comment: string | null;
  approvedAt: string;
  invalidated: boolean;
}

export interface ReportPromotion {
  id: string;
  releaseId: string;
  releaseName: string;
  targetEnvironmentId: string;
  targetEnvironmentName: string;
  status: string;
  requestedBy: string;
  requestedAt: string;
  decidedAt: string | null;
  changeId: string | null;
  gates: ReportGate[];
  approvals: ReportApproval[];
  /** The decision a finished promotion's packet must record, or null while it is on its way. */
  expectedDecision: string | null;
  evidence: ReportEvidence[];
}

export interface ReportJob {
  id: string;
  kind: string;
  promotionId: string | null;
  environmentId: string;
  releaseId: string;
  status: string;
  createdAt: string;
  updatedAt: string;
}

export interface ReportChange {
  id: string;
  type: string;
  state: string;
  shortDescription: string;
  riskLevel: string;
}

export interface ReportIncident {
  id: string;
  changeId: string | null;
  shortDescription: string;
  priority: string;
  state: string;
  createdAt: string;
}

export interface ReportScope {
  environments: { id: string; name: string | null }[];
  from: string;
  to: string;
  release: { id: string; name: string | null } | null;
}

export interface EvidenceFinding {
  promotionId: string;
  releaseName: string;
  packetId: string | null;
  decision: string;
  verdict: Exclude<PacketVerdict, 'valid'>;
  reason: string;
}

export interface ReportSummary {
  promotions: number;
  approvals: number;
  failedGates: number;
  deploymentJobs: number;
  changes: number;
  incidents: number;
  packets: number;
  packetsVerified: number;
  packetsFailed: number;
  packetsMissing: number;
}

export interface AuditReportDocument {
  title: string;
  reportId: string;
  tenantId: string;
  scope: ReportScope;
  generatedAt: string;
  /** More promotions were in scope than one report lists (MAX_REPORT_PROMOTIONS). */
  truncated: boolean;
  promotions: ReportPromotion[];
  deploymentJobs: ReportJob[];
  changes: ReportChange[];
  incidents: ReportIncident[];
  findings: EvidenceFinding[];
  summary: ReportSummary;
}

export const REPORT_TITLE = 'Tollgate audit report';

export interface ReportFileDigest {
  sha256: string;
  size: number;
}

/**
 * The signed manifest of a report's files, in the evidence packets' format
 * (version 1.1: everything but `signature` signed as RFC 8785 JSON, ECDSA
 * P-256 / SHA-256), so the evidence key set and its verifier check it too.
 */
export interface SignedReportManifest {
  id: string;
  type: 'audit_report';
  version: '1.1';
  content: { tenantId: string; reportId: string; scope: unknown; summary: unknown; files: { json: ReportFileDigest; pdf: ReportFileDigest } };
  contentHash: string;
  signature: string;
  signatureAlgorithm: 'ECDSA-P256-SHA256';
  signerKeyRef: string;
  generatedAt: string;
}
