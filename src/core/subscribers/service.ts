// Subscribers and their services, by responsibility:
//   queries.ts    list, show, desired access for provisioning
//   create.ts     add (validated and inserted by prepare.ts, as import does for many)
//   edit.ts       edit (the same validation as add)
//   lifecycle.ts  remove, admin suspend and resume
//   repository.ts the rows of subscribers and services, and their conditional state changes
// A subscriber is found by account number (`S-000123`) or by a PPPoE username (resolve.ts).
export type { SubscriberInput } from './prepare.js';
export { ispToday, accessOf } from './resolve.js';
export { addSubscriber, type AddSubscriberResult } from './create.js';
export { LIST_STATES, listSubscribers, subscriberListPages, showSubscriber, desiredAccessForServices, type ListState, type SubscriberListFilter, type SubscriberListRow, type ServiceDetails, type SubscriberDetails } from './queries.js';
export { editSubscriber, type SubscriberChanges, type SubscriberEditResult } from './edit.js';
export { removeSubscriber, suspendSubscriber, resumeSubscriber, type RemoveSubscriberResult, type AdminChangeResult } from './lifecycle.js';
