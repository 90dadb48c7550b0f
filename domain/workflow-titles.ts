/**
 * Readable titles for the Temporal UI's workflow list (the `TollgateTitle`
 * search attribute), so an operator sees "Promotion web-app 2.0.0 → prod"
 * instead of a bare UUID. Each is set once, at the workflow's start, from what
 * the starter knows; the Keyword attributes (state, priority, ...) carry what
 * moves later.
 */

/** Text search attributes take at most this much in the UI's column before it is cut; a title never needs more. */
export const TITLE_MAX_LENGTH = 120;

/**
 * A release as people say it: its name, then its version unless the name
 * already ends with it (releases are often named "web-app 2.0.0").
 */
export function releaseLabel(name: string, version?: string | null): string {
  const trimmed = name.trim();
  if (!version || trimmed === version || trimmed.endsWith(` ${version}`) || trimmed.endsWith(`@${version}`) || trimmed.endsWith(`:${version}`)) return trimmed;
  return `${trimmed} ${version}`;
}

export function promotionTitle(p: { releaseName: string; targetEnvironmentName: string }): string {
  return fit(`Promotion ${p.releaseName} → ${p.targetEnvironmentName}`);
}

export function deploymentTitle(j: { kind: 'promotion' | 'rollback' | 'rollout'; releaseName: string; environmentName: string; targetCount?: number }): string {
  const targets = j.targetCount === undefined ? '' : ` (${j.targetCount} ${j.targetCount === 1 ? 'target' : 'targets'})`;
  const what =
    j.kind === 'rollback' ? `Roll back ${j.environmentName} to ${j.releaseName}` : j.kind === 'rollout' ? `Deploy ${j.releaseName} to the canary targets of ${j.environmentName}` : `Deploy ${j.releaseName} to ${j.environmentName}`;
  return fit(`${what}${targets}`);
}

export function changeTitle(c: { id: string; short_description?: string | null }): string {
  return fit(c.short_description ? `${c.id}: ${oneLine(c.short_description)}` : c.id);
}

/** No priority: it moves after the start, and the title would keep the first one; `TollgatePriority` is current. */
export function incidentTitle(i: { id: string; short_description: string }): string {
  return fit(`${i.id}: ${oneLine(i.short_description)}`);
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Cut at a code point, never inside a surrogate pair, and say that it was cut. */
function fit(title: string): string {
  const chars = Array.from(title);
  return chars.length <= TITLE_MAX_LENGTH ? title : `${chars.slice(0, TITLE_MAX_LENGTH - 1).join('')}…`;
}

export function rolloutTitle(r: { name: string; canaryReleaseName: string; environmentName: string }): string {
  return fit(`Rollout ${oneLine(r.name)}: ${r.canaryReleaseName} in ${r.environmentName}`);
}

export function templateRunTitle(r: { templateName: string; templateVersion: number }): string {
  return fit(`Run of ${oneLine(r.templateName)} v${r.templateVersion}`);
}
