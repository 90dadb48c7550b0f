import PDFDocument from 'pdfkit';
import { evidenceCell } from '../../domain/evidence/findings';
import type { AuditReportDocument } from '../../domain/evidence/model';

/**
 * The report as a PDF (A4 landscape, pdfkit's built-in Helvetica): title and
 * scope, the summary, a table row per promotion with its evidence verdict, the
 * flagged packets, then the deployment jobs, changes and incidents.
 */

const MARGIN = 40;
const ROW = 14;
const PROMOTION_COLUMNS = [
  { title: 'Release', width: 150 },
  { title: 'Environment', width: 100 },
  { title: 'Status', width: 70 },
  { title: 'Requested', width: 105 },
  { title: 'Decided', width: 105 },
  { title: 'Approvals', width: 55 },
  { title: 'Failed gates', width: 65 },
  { title: 'Evidence', width: 105 },
];
const JOB_COLUMNS = [
  { title: 'Job', width: 240 },
  { title: 'Kind', width: 70 },
  { title: 'Status', width: 90 },
  { title: 'Promotion', width: 240 },
  { title: 'Created', width: 115 },
];

/** The standard fonts encode WinAnsi only: anything else is shown as "?" rather than as a wrong glyph. */
const printable = (text: string) => text.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
const shortTime = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-');

export function renderReportPdf(report: AuditReportDocument): Promise<Buffer> {
  const doc = new PDFDocument({ size: 'A4', layout: 'landscape', margin: MARGIN, info: { Title: `${report.title} ${report.reportId}`, Author: 'Tollgate' } });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
  const bottom = () => doc.page.height - MARGIN - ROW;
  const line = (text: string, options: { bold?: boolean; size?: number } = {}) => {
    if (doc.y > bottom()) doc.addPage();
    doc.font(options.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(options.size ?? 10).text(printable(text), MARGIN, doc.y, { width: doc.page.width - 2 * MARGIN });
  };
  const heading = (text: string) => {
    doc.moveDown(0.8);
    line(text, { bold: true, size: 13 });
    doc.moveDown(0.3);
  };
  const table = (columns: { title: string; width: number }[], rows: string[][]) => {
    const row = (cells: string[], bold: boolean) => {
      if (doc.y > bottom()) doc.addPage();
      const y = doc.y;
      let x = MARGIN;
      doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(8);
      cells.forEach((cell, i) => {
        doc.text(printable(cell), x, y, { width: columns[i].width - 4, height: ROW, lineBreak: false, ellipsis: true });
        x += columns[i].width;
      });
      doc.x = MARGIN;
      doc.y = y + ROW;
    };
    row(
      columns.map((c) => c.title),
      true,
    );
    for (const cells of rows) row(cells, false);
  };

  const { scope, summary } = report;
  line(report.title, { bold: true, size: 20 });
  doc.moveDown(0.5);
  line(`Report ${report.reportId}, generated ${shortTime(report.generatedAt)}`);
  line(`Scope: environments ${scope.environments.map((e) => `${e.name ?? 'unknown'} (${e.id})`).join(', ')}`);
  line(`Period: ${shortTime(scope.from)} to ${shortTime(scope.to)}`);
  line(`Release: ${scope.release ? `${scope.release.name ?? 'unknown'} (${scope.release.id})` : 'all releases'}`);
  if (report.truncated) line(`Truncated: only the first ${report.promotions.length} promotions of the scope are listed; narrow the scope for the rest.`, { bold: true });

  heading('Summary');
  line(
    `${summary.promotions} promotions, ${summary.approvals} approvals, ${summary.failedGates} failed gates, ${summary.deploymentJobs} deployment jobs, ` +
      `${summary.changes} changes, ${summary.incidents} incidents`,
  );
  line(`Evidence: ${summary.packets} packets, ${summary.packetsVerified} verified, ${summary.packetsFailed} failed signature checks, ${summary.packetsMissing} missing`, {
    bold: summary.packetsFailed + summary.packetsMissing > 0,
  });

  heading('Promotions');
  table(
    PROMOTION_COLUMNS,
    report.promotions.map((p) => [
      p.releaseName,
      p.targetEnvironmentName,
      p.status,
      shortTime(p.requestedAt),
      shortTime(p.decidedAt),
      String(p.approvals.filter((a) => a.decision === 'approved' && !a.invalidated).length),
      String(p.gates.filter((g) => !g.passed).length),
      evidenceCell(p),
    ]),
  );

  heading('Evidence findings');
  if (report.findings.length === 0) line('Every evidence packet verified; no decision is missing its packet.');
  for (const f of report.findings) {
    const what = f.verdict === 'invalid' ? 'SIGNATURE FAILED' : 'MISSING';
    line(`${what}: ${f.decision} decision of ${f.releaseName} (promotion ${f.promotionId})${f.packetId ? `, packet ${f.packetId}` : ''}: ${f.reason}`);
  }

  heading('Deployment jobs');
  if (report.deploymentJobs.length === 0) line('None.');
  else table(JOB_COLUMNS, report.deploymentJobs.map((j) => [j.id, j.kind, j.status, j.promotionId ?? '-', shortTime(j.createdAt)]));

  heading('Changes');
  if (report.changes.length === 0) line('None.');
  for (const c of report.changes) line(`${c.id} (${c.type}, ${c.state}, risk ${c.riskLevel}): ${c.shortDescription}`);

  heading('Incidents');
  if (report.incidents.length === 0) line('None.');
  for (const i of report.incidents) line(`${i.id} (${i.priority}, ${i.state}) on ${i.changeId ?? '-'}: ${i.shortDescription}`);

  doc.end();
  return done;
}
