import { chatMessages, checkCitations, type Passage } from '../../../domain/ai/answer';
import type { ChatProvider } from '../../../domain/ai/settings';

/**
 * An OpenAI-compatible chat endpoint (POST {AI_BASE_URL}/chat/completions)
 * writing the answer from the retrieved passages. What it answers is used only
 * if it cites the passages properly; otherwise the caller is told why not.
 */
export type ChatOutcome = { ok: true; answer: string } | { ok: false; note: string };

export async function chatAnswer(provider: ChatProvider, question: string, passages: readonly Passage[]): Promise<ChatOutcome> {
  let content: unknown;
  try {
    const res = await fetch(`${provider.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(provider.apiKey ? { authorization: `Bearer ${provider.apiKey}` } : {}) },
      body: JSON.stringify({ model: provider.model, messages: chatMessages(question, passages), temperature: 0 }),
      signal: AbortSignal.timeout(provider.timeoutMs),
    });
    if (!res.ok) return { ok: false, note: `The model answered HTTP ${res.status}; this answer is the passages’ own words.` };
    const body = (await res.json()) as { choices?: Array<{ message?: { content?: unknown } }> };
    content = body.choices?.[0]?.message?.content;
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `did not answer within ${provider.timeoutMs} ms` : 'could not be reached';
    return { ok: false, note: `The model ${why}; this answer is the passages’ own words.` };
  }
  if (typeof content !== 'string' || !content.trim()) return { ok: false, note: 'The model’s answer was empty; this answer is the passages’ own words.' };
  const check = checkCitations(content, passages.length);
  if (!check.ok) return { ok: false, note: `The model’s answer was refused: ${check.reason}. This answer is the passages’ own words.` };
  return { ok: true, answer: content.trim() };
}
