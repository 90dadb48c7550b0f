import type { FaultReport } from './suite';

const secs = (ms?: number) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);

/** The human-readable summary; the JSON line after it carries the same numbers. */
export function table(r: FaultReport): string {
  const byTarget = new Map<string, number[]>();
  for (const t of r.trials) if (t.resumeMs !== undefined) byTarget.set(t.target, [...(byTarget.get(t.target) ?? []), t.resumeMs]);
  const retried = Object.entries(r.requests.notAcknowledged)
    .map(([cause, n]) => `${cause}×${n}`)
    .join(', ');
  const lines = [
    `fault suite: seed ${r.seed}, ${r.trials.length} kill -9 trials, ${r.seconds.toFixed(0)} s${r.replicas > 1 ? `, ${r.replicas} API and ${r.replicas} worker replicas` : ''}`,
    '',
    '  trial  target     pid → new pid        restarted     polling   serving again',
    ...r.trials.map(
      (t) =>
        `  ${String(t.n).padStart(5)}  ${t.target.padEnd(9)}  ${`${t.killedPid} → ${t.newPid ?? '—'}`.padEnd(19)}  ${secs(t.restartMs).padStart(9)}   ${secs(t.pollingMs).padStart(9)}   ${secs(t.resumeMs).padStart(13)}`,
    ),
    '',
    `  lifecycles            ${r.lifecycles.run} run, ${r.lifecycles.completed} completed, ${r.lifecycles.abandoned} abandoned`,
    `  requests              ${r.requests.acknowledged} acknowledged, ${r.requests.attempts} attempts (${r.requests.retried} retried: ${retried || 'none'})`,
    `  acknowledged lost     ${r.requests.lost}`,
    `  duplicate effects     ${r.duplicates.total} (changes ${r.duplicates.changes}, audit rows ${r.duplicates.auditRows}, risk assessments ${r.duplicates.riskAssessments})`,
    `  longest resume        ${secs(r.maxResumeMs)} (goal ≤ ${secs(r.maxResumeGoalMs)}); by target: ${[...byTarget].map(([t, v]) => `${t} ${secs(Math.max(...v))}`).join(', ') || '—'}`,
    `  resume by kind        ${Object.entries(r.resumeByKind).map(([k, v]) => `${k} ${secs(v.min)}–${secs(v.max)} (${v.trials})`).join(', ') || '—'}`,
    `  worker polling again  ${r.workerPolling ? `${secs(r.workerPolling.min)}–${secs(r.workerPolling.max)} after the kill (${r.workerPolling.trials}; restart included)` : '—'}`,
    `  stopped on SIGTERM    ${r.stop.clean ? 'yes, every port closed' : `no (exit ${r.stop.exitCode}, open: ${r.stop.openPorts.join(', ') || 'none'}, killed: ${r.stop.killed.join(', ') || 'none'})`}`,
    `  goal (0 lost, 0 duplicated, resume ≤ ${secs(r.maxResumeGoalMs)})   ${r.goalMet ? 'MET' : 'NOT MET'}`,
  ];
  if (r.problems.length) lines.push('', '  problems:', ...r.problems.slice(0, 40).map((p) => `    - ${p}`), ...(r.problems.length > 40 ? [`    … and ${r.problems.length - 40} more`] : []));
  return lines.join('\n');
}
