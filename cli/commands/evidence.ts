import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { verifyEvidence, type EvidencePacket } from '../../platform/evidence';
import { ApiClient } from '../client';
import { optional, type Command, type Context } from '../command';
import { ApiFailure, Outcome, UsageError } from '../errors';
import { printJson, table, when } from '../output';

/** A packet file as the API serves it: the bare packet, the envelope around one, or a list of either. */
function packetsIn(ctx: Context, file: string): EvidencePacket[] {
  if (!existsSync(file)) throw new UsageError(`${file}: no such file`, ctx.usage);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} is not JSON: ${(err as Error).message}`, ctx.usage);
  }
  const unwrapped = value && typeof value === 'object' && (value as { success?: unknown }).success === true ? (value as { data: unknown }).data : value;
  return (Array.isArray(unwrapped) ? unwrapped : [unwrapped]) as EvidencePacket[];
}

/** --jwks FILE|URL, else the API's public keys (no token needed). */
async function keysOf(ctx: Context): Promise<{ keys: JWK[]; source: string }> {
  const jwks = optional(ctx, 'jwks');
  let value: unknown;
  let source: string;
  if (jwks && !/^https?:\/\//.test(jwks)) {
    if (!existsSync(jwks)) throw new UsageError(`--jwks ${jwks}: no such file`, ctx.usage);
    value = JSON.parse(readFileSync(jwks, 'utf8'));
    source = jwks;
  } else if (jwks) {
    const res = await fetch(jwks).catch((err: Error) => {
      throw new ApiFailure(0, 'UNREACHABLE', `${jwks}: ${err.message}`);
    });
    if (!res.ok) throw new ApiFailure(res.status, `HTTP_${res.status}`, `${jwks} answered ${res.status}`);
    value = await res.json();
    source = jwks;
  } else {
    const client = new ApiClient(ctx.connection);
    value = await client.send('GET', '/evidence/jwks.json');
    source = client.url('/evidence/jwks.json');
  }
  if (!value || typeof value !== 'object' || !Array.isArray((value as { keys?: unknown }).keys)) throw new UsageError(`${source} is not a JSON Web Key Set ({"keys": [...]})`, ctx.usage);
  return { keys: (value as { keys: JWK[] }).keys, source };
}

interface PacketSummary {
  id: string;
  decision: string;
  promotionId: string;
  releaseName: string | null;
  environmentName: string | null;
  signerKeyRef: string;
  generatedAt: string;
}

export const evidenceCommands: Command[] = [
  {
    words: ['evidence', 'list'],
    synopsis: '[--promotion ID] [--decision approved|deployed|…] [--limit N]',
    summary: 'Signed evidence packets, newest first (their ids are what evidence download takes).',
    options: { promotion: { type: 'string' }, decision: { type: 'string' }, limit: { type: 'string' } },
    async run(ctx) {
      const page = await ctx.client().list<PacketSummary>('/evidence-packets', { promotionId: optional(ctx, 'promotion'), decision: optional(ctx, 'decision'), pageSize: optional(ctx, 'limit') ?? 50 });
      if (ctx.out.json) return printJson(ctx.out, page.items);
      ctx.out.write(table(['ID', 'DECISION', 'PROMOTION', 'RELEASE', 'ENV', 'KEY', 'GENERATED'], page.items.map((p) => [p.id, p.decision, p.promotionId, p.releaseName, p.environmentName, p.signerKeyRef, when(p.generatedAt)])));
    },
  },
  {
    words: ['evidence', 'download'],
    synopsis: '<packetId> [-o FILE]',
    summary: 'A signed evidence packet as a file (to stdout without -o); check it with tollgate evidence verify.',
    positionals: [1, 1],
    options: { output: { type: 'string', short: 'o' } },
    async run(ctx) {
      const bytes = await ctx.client().download(`/evidence-packets/${encodeURIComponent(ctx.positionals[0])}/download`);
      const file = optional(ctx, 'output');
      if (!file || file === '-') return ctx.out.write(bytes.toString('utf8'));
      writeFileSync(file, bytes);
      if (ctx.out.json) printJson(ctx.out, { file, bytes: bytes.length });
      else process.stderr.write(`saved ${file} (${bytes.length} bytes)\n`);
    },
  },
  {
    words: ['evidence', 'verify'],
    synopsis: '<file> [--jwks FILE|URL]',
    summary: 'Verifies packets in a file against the API’s public keys (or --jwks); exits 1 if any does not verify.',
    positionals: [1, 1],
    options: { jwks: { type: 'string' } },
    async run(ctx) {
      const packets = packetsIn(ctx, ctx.positionals[0]);
      const { keys, source } = await keysOf(ctx);
      const results = [];
      for (const packet of packets) {
        const outcome = await verifyEvidence(packet, { keys });
        const content = (packet?.content ?? {}) as Record<string, unknown>;
        results.push({ id: packet?.id ?? null, decision: content.decision ?? null, promotionId: content.promotionId ?? null, ...outcome });
      }
      if (ctx.out.json) printJson(ctx.out, { keys: source, results });
      else {
        ctx.out.write(`keys: ${source} (${keys.map((k) => k.kid).join(', ') || 'none'})\n`);
        ctx.out.write(table(['PACKET', 'DECISION', 'PROMOTION', 'RESULT'], results.map((r) => [r.id as string, r.decision as string, r.promotionId as string, r.valid ? `VALID (signed by ${r.kid})` : `INVALID: ${r.reason}`])));
      }
      const bad = results.filter((r) => !r.valid).length;
      if (bad) throw new Outcome('EVIDENCE_INVALID', `${bad} of ${results.length} packet${results.length === 1 ? '' : 's'} did not verify`);
    },
  },
];
