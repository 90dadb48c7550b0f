import { evidenceDecisionOf } from '../../domain/promotions/evidence-decision';
import { uiDetails } from '../../domain/ui-details';
import { changeTitle, deploymentTitle, incidentTitle, promotionTitle, releaseLabel, templateRunTitle, TITLE_MAX_LENGTH } from '../../domain/workflow-titles';

describe('workflow titles', () => {
  test('name each kind as an operator says it', () => {
    expect(promotionTitle({ releaseName: 'web-app 2.0.0', targetEnvironmentName: 'prod' })).toBe('Promotion web-app 2.0.0 → prod');
    expect(deploymentTitle({ kind: 'promotion', releaseName: 'web-app 2.0.0', environmentName: 'prod', targetCount: 12 })).toBe('Deploy web-app 2.0.0 to prod (12 targets)');
    expect(deploymentTitle({ kind: 'promotion', releaseName: 'web-app 2.0.0', environmentName: 'prod', targetCount: 1 })).toBe('Deploy web-app 2.0.0 to prod (1 target)');
    expect(deploymentTitle({ kind: 'rollback', releaseName: 'web-app 1.9.0', environmentName: 'prod' })).toBe('Roll back prod to web-app 1.9.0');
    expect(changeTitle({ id: 'CHG0000123', short_description: 'Upgrade  Aurora\nto 3.05' })).toBe('CHG0000123: Upgrade Aurora to 3.05');
    expect(changeTitle({ id: 'CHG0000123', short_description: '' })).toBe('CHG0000123');
    expect(incidentTitle({ id: 'INC0000042', short_description: 'Card payments failing' })).toBe('INC0000042: Card payments failing');
  });

  test('a long title is cut at a character, not inside one, and says so', () => {
    const title = changeTitle({ id: 'CHG0000123', short_description: '🚀'.repeat(200) });
    expect(Array.from(title)).toHaveLength(TITLE_MAX_LENGTH);
    expect(title.endsWith('🚀…')).toBe(true);
  });

  test('a release whose name already ends with its version is not printed with it twice', () => {
    expect(releaseLabel('web-app 2.0.0', '2.0.0')).toBe('web-app 2.0.0');
    expect(releaseLabel('web-app@2.0.0', '2.0.0')).toBe('web-app@2.0.0');
    expect(releaseLabel('2.0.0', '2.0.0')).toBe('2.0.0');
    expect(releaseLabel('web-app', '2.0.0')).toBe('web-app 2.0.0');
    // Only a whole trailing version counts: 12.0.0 is not 2.0.0.
    expect(releaseLabel('web-app 12.0.0', '2.0.0')).toBe('web-app 12.0.0 2.0.0');
    expect(releaseLabel('web-app', null)).toBe('web-app');
  });
});

describe('UI details', () => {
  test('the first three lines are the state, what it waits for and the next deadline, whatever is known', () => {
    expect(uiDetails({ state: '**x** · **queued**', missing: null, deadline: null }).split('\n\n')).toEqual(['**x** · **queued**', 'Waiting for: nothing', 'Next deadline: none']);
    expect(uiDetails({ state: 's', missing: '1 more approval', deadline: 'approval expires at 2026-12-06T10:00:00.000Z', more: [null, false, '', 'Reason: r'] }).split('\n\n')).toEqual([
      's',
      'Waiting for: 1 more approval',
      'Next deadline: approval expires at 2026-12-06T10:00:00.000Z',
      'Reason: r',
    ]);
  });
});

describe('evidence in activity summaries', () => {
  test('only a decision makes a signed packet: the statuses on the way make none', () => {
    for (const status of ['pending', 'awaiting_approval', 'deploying'] as const) expect(evidenceDecisionOf({ status, statusReason: null })).toBeUndefined();
    expect(evidenceDecisionOf({ status: 'approved', statusReason: null })).toBe('approved');
    expect(evidenceDecisionOf({ status: 'cancelled', statusReason: 'approval_expired' })).toBe('expired');
  });
});

it('names a template run by its template and the version it keeps, on one line', () => {
  expect(templateRunTitle({ templateName: 'release\n pipeline', templateVersion: 3 })).toBe('Run of release pipeline v3');
});
