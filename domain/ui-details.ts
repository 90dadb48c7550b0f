/**
 * The Temporal UI's "current details" panel shows only its first lines
 * without scrolling, so every workflow puts the same three there: the state,
 * what it waits for, and the next deadline; anything else follows. The UI
 * renders the text as Markdown, so lines are paragraphs.
 */
export interface UiDetails {
  /** What the resource is and its state, e.g. "**web-app 2.0.0 → production** · **awaiting_approval**". */
  state: string;
  /** What must happen before it moves on; null when it waits for nothing. */
  missing: string | null;
  /** The next time something happens on its own (an expiry, a freeze's end, an SLA due time); null when none. */
  deadline: string | null;
  more?: readonly (string | null | undefined | false)[];
}

export function uiDetails(d: UiDetails): string {
  const more = (d.more ?? []).filter((line): line is string => typeof line === 'string' && line.length > 0);
  return [d.state, `Waiting for: ${d.missing ?? 'nothing'}`, `Next deadline: ${d.deadline ?? 'none'}`, ...more].join('\n\n');
}
