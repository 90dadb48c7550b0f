import { DomainError } from '../errors';
import { attributeIssues, type AttributeIssue } from './classes';
import type { ConfigurationItem } from './model';
import type { PatchCiInput } from './requests';

/** A write whose result breaks the class's attribute schema: a 400 naming each field, in the API and in a bulk record alike. */
export class CiValidationError extends DomainError {
  constructor(readonly issues: AttributeIssue[]) {
    super('invalid_input', 'VALIDATION_FAILED', 'The configuration item is invalid');
  }
}

/**
 * A PATCH applied to a CI: attributes merge key by key (null removes one), and
 * the merged attributes must fit the class the CI has afterwards, so changing
 * a CI's class without fixing its attributes is refused, naming them.
 */
export function applyCiPatch(current: ConfigurationItem, patch: PatchCiInput, now: string): ConfigurationItem {
  const attributes = { ...current.attributes };
  for (const [key, value] of Object.entries(patch.attributes ?? {})) {
    if (value === null) delete attributes[key];
    else attributes[key] = value;
  }
  const next: ConfigurationItem = {
    ...current,
    name: patch.name ?? current.name,
    class: patch.class ?? current.class,
    environment: patch.environment === undefined ? current.environment : patch.environment,
    owner_group: patch.owner_group === undefined ? current.owner_group : patch.owner_group,
    lifecycle_state: patch.lifecycle_state ?? current.lifecycle_state,
    description: patch.description === undefined ? current.description : patch.description,
    attributes,
    updated_at: now,
    version: current.version + 1,
  };
  const issues = attributeIssues(next.class, next.attributes);
  if (issues.length) throw new CiValidationError(issues);
  return next;
}
