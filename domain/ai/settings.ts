import { z } from 'zod';

/**
 * The AI query's environment variables (validated with the rest of the
 * configuration in platform/config.ts). The chat provider is used only when
 * both AI_BASE_URL and AI_MODEL are set; AI_API_KEY is a secret, never echoed.
 */

const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

export const DEFAULT_MIN_CONFIDENCE = 0.35;

export const AI_CONFIG_FIELDS = {
  AI_BASE_URL: z.preprocess(blankAsUnset, z.url({ message: 'must be the http(s) URL of an OpenAI-compatible API, e.g. http://127.0.0.1:11434/v1' }).optional()),
  AI_MODEL: z.preprocess(blankAsUnset, z.string().optional()),
  AI_API_KEY: z.preprocess(blankAsUnset, z.string().optional()),
  // With AI_BASE_URL: an embedding model (POST {AI_BASE_URL}/embeddings) that reranks the retrieved passages by meaning.
  AI_EMBEDDING_MODEL: z.preprocess(blankAsUnset, z.string().optional()),
  // Below this confidence the answer is "no answer": nothing retrieved is close enough to the question.
  AI_MIN_CONFIDENCE: z.preprocess(blankAsUnset, z.coerce.number().min(0).max(1).default(DEFAULT_MIN_CONFIDENCE)),
  AI_TIMEOUT_MS: z.preprocess(blankAsUnset, z.coerce.number().int().positive().default(20_000)),
};

interface AiConfig {
  AI_BASE_URL?: string;
  AI_MODEL?: string;
  AI_API_KEY?: string;
  AI_EMBEDDING_MODEL?: string;
  AI_MIN_CONFIDENCE: number;
  AI_TIMEOUT_MS: number;
}

export interface ChatProvider {
  baseUrl: string;
  model: string;
  apiKey?: string;
  timeoutMs: number;
}

export interface AiSettings {
  minConfidence: number;
  chat?: ChatProvider;
  embeddings?: ChatProvider;
}

export function aiSettings(config: AiConfig): AiSettings {
  const chat =
    config.AI_BASE_URL && config.AI_MODEL
      ? { baseUrl: config.AI_BASE_URL.replace(/\/+$/, ''), model: config.AI_MODEL, apiKey: config.AI_API_KEY, timeoutMs: config.AI_TIMEOUT_MS }
      : undefined;
  const embeddings =
    config.AI_BASE_URL && config.AI_EMBEDDING_MODEL
      ? { baseUrl: config.AI_BASE_URL.replace(/\/+$/, ''), model: config.AI_EMBEDDING_MODEL, apiKey: config.AI_API_KEY, timeoutMs: config.AI_TIMEOUT_MS }
      : undefined;
  return { minConfidence: config.AI_MIN_CONFIDENCE, chat, embeddings };
}
