// API-mode provisioning: desired state, diff, executor, the job driver and sync.
export * from './naming.js';
export * from './types.js';
export { buildDesiredState, desiredStateFromRows, planRates, queueLimits, routerFacts, type DesiredScope } from './desired.js';
export * from './diff.js';
export * from './read.js';
export * from './execute.js';
export { apiDriver, connectRouter, runApiJobs } from './driver.js';
export * from './sync.js';
