import { ValidationFailed, NotFound } from '../../errors';
import { pageRequest, parseSort } from '../../pagination';
import { requirePermission } from '../../principal';
import { ok, okList } from '../../respond';
import { createRouter } from '../../router';
import { findPacket, listPackets } from './evidence-packets.queries';
import * as routes from './evidence-packets.routes';

/** The promotions' signed evidence packets, read-only: the promotions' activities write them with each decision. */
export function evidencePacketsRouter() {
  const router = createRouter();

  router.openapi(routes.listPacketsRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'evidence:read');
    const query = c.req.valid('query');
    if (query.from && query.to && Date.parse(query.to) <= Date.parse(query.from)) throw new ValidationFailed([{ field: 'to', message: 'must be after from', code: 'invalid_period' }]);
    const sort = parseSort(query, [...routes.PACKET_SORTS], { field: 'generated_at', direction: 'desc' });
    return okList(c, await listPackets(c.get('deps').pool, tenantId, query, pageRequest(c.get('dialect'), query, sort)));
  });

  router.openapi(routes.getPacketRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'evidence:read');
    const { id } = c.req.valid('param');
    const found = await findPacket(c.get('deps').pool, tenantId, id);
    if (!found) throw new NotFound(`Evidence packet ${id} not found`, 'EVIDENCE_NOT_FOUND');
    return ok(c, { ...found, download: `${c.req.path.replace(/\/$/, '')}/download` });
  });

  router.openapi(routes.downloadPacketRoute, async (c) => {
    const { tenantId } = requirePermission(c, 'evidence:read');
    const { id } = c.req.valid('param');
    const found = await findPacket(c.get('deps').pool, tenantId, id);
    if (!found) throw new NotFound(`Evidence packet ${id} not found`, 'EVIDENCE_NOT_FOUND');
    const { packet } = found;
    return c.json(packet, 200, {
      'Content-Disposition': `attachment; filename="evidence-${found.id}.json"`,
      'X-Evidence-Signature': packet.signature,
      'X-Evidence-Key-Id': packet.signerKeyRef,
      'X-Evidence-Signature-Algorithm': packet.signatureAlgorithm,
    });
  });

  return router;
}
