// The worker's workflow entry: every export here becomes a workflow type, so export workflows only.
export { changeLifecycle } from './changes/change-lifecycle';
