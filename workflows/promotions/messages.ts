import type { SearchAttributePair } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CommandMeta } from '../../domain/actor';
import type { CreatePromotionInput } from '../../domain/promotions/commands';
import type { Promotion, PromotionSettings } from '../../domain/promotions/model';
import type { ApprovePromotionBody, CancelPromotionBody, RejectPromotionBody } from '../../domain/promotions/requests';
import { SA } from '../../domain/search-attributes';

/** Messages of the `promotion` workflow; the API imports these definitions. */

export const PROMOTION_WORKFLOW_TYPE = 'promotion';

export interface PromotionWorkflowInput {
  tenantId: string;
  promotionId: string;
  /** From the API's configuration at the request; absent in workflows started before settings existed. */
  settings?: PromotionSettings;
  /** State carried across continue-as-new. */
  carried?: Promotion;
  maxHistoryEvents?: number;
}

export interface PromotionWorkflowResult {
  id: string;
  status: string;
}

/**
 * A promotion's search attributes, one list for both ends: the API sets it at
 * the start and the workflow upserts what moved after every change. Running
 * workflows replay their upserts, so a new value or order needs `patched()`.
 * The title is given at starts only (the workflow never upserts it).
 */
export function searchAttributesOf(tenantId: string, p: Pick<Promotion, 'id' | 'status' | 'targetEnvironmentName' | 'releaseName'>, title?: string): SearchAttributePair[] {
  const attributes: SearchAttributePair[] = [
    { key: SA.tenant, value: tenantId },
    { key: SA.kind, value: 'promotion' },
    { key: SA.resourceId, value: p.id },
    { key: SA.state, value: p.status },
    { key: SA.environment, value: p.targetEnvironmentName },
    { key: SA.release, value: p.releaseName },
  ];
  return title === undefined ? attributes : [...attributes, { key: SA.title, value: title }];
}

export const createPromotion = defineUpdate<Promotion, [CreatePromotionInput, CommandMeta]>('create');
export const approvePromotion = defineUpdate<Promotion, [ApprovePromotionBody, CommandMeta]>('approve');
export const rejectPromotion = defineUpdate<Promotion, [RejectPromotionBody, CommandMeta]>('reject');
export const cancelPromotion = defineUpdate<Promotion, [CancelPromotionBody, CommandMeta]>('cancel');
/** Something an approval is bound to moved (a new scan, a policy edit, a new digest): regate and recount. */
export const promotionInputsChanged = defineSignal<[{ what: string }]>('inputsChanged');

export const getPromotion = defineQuery<Promotion | null>('getPromotion');
