import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP receiver that keeps every body it is sent (with its Authorization header): what the example notifier plugin posts to. */
export interface LineReceiver {
  url: string;
  lines: Array<{ line: string; auth: string | undefined }>;
  close(): Promise<void>;
}

export async function startLineReceiver(): Promise<LineReceiver> {
  const lines: LineReceiver['lines'] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    lines.push({ line: Buffer.concat(chunks).toString(), auth: req.headers.authorization });
    res.writeHead(200).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/lines`,
    lines,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
