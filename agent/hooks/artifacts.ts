import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentApiClient, StoredArtifact } from '../runtime/api-client';
import { retryTransient } from '../runtime/retry';

export const ARTIFACT_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Read whole into memory to upload; anything larger is refused here rather than by the API after the transfer. */
const LARGEST_UPLOAD = 256 * 1024 * 1024;
/** How long one artifact may keep retrying an unreachable API. */
const UPLOAD_RETRY_MS = 30_000;

export interface UploadOptions {
  api: Pick<AgentApiClient, 'uploadArtifact'>;
  taskId: string;
  dir: string;
  /** Lines for the task log. */
  log: (line: string) => void;
  signal?: AbortSignal;
}

/**
 * Uploads every regular file the hook left in its artifacts dir. A file that cannot be stored is reported in the
 * task log and skipped: artifacts document a deployment, they do not decide its outcome.
 */
export async function uploadArtifacts(options: UploadOptions): Promise<StoredArtifact[]> {
  let names: string[];
  try {
    names = (await readdir(options.dir)).sort();
  } catch {
    return [];
  }
  const stored: StoredArtifact[] = [];
  for (const name of names) {
    const file = path.join(options.dir, name);
    const stat = await lstat(file).catch(() => undefined);
    if (!stat?.isFile()) {
      options.log(`[tollgate] artifact ${name} skipped: not a regular file`);
      continue;
    }
    if (!ARTIFACT_NAME.test(name)) {
      options.log(`[tollgate] artifact ${JSON.stringify(name)} skipped: names may use only A-Z a-z 0-9 . _ - (at most 128)`);
      continue;
    }
    if (stat.size > LARGEST_UPLOAD) {
      options.log(`[tollgate] artifact ${name} skipped: ${stat.size} bytes is more than the agent uploads (${LARGEST_UPLOAD})`);
      continue;
    }
    try {
      const bytes = await readFile(file);
      const artifact = await retryTransient(() => options.api.uploadArtifact(options.taskId, name, bytes, options.signal), {
        signal: options.signal,
        deadline: Date.now() + UPLOAD_RETRY_MS,
      });
      stored.push(artifact);
      options.log(`[tollgate] artifact ${name} stored (${artifact.size} bytes, sha256 ${artifact.sha256})`);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      options.log(`[tollgate] artifact ${name} not stored: ${(error as Error).message}`);
    }
  }
  return stored;
}
