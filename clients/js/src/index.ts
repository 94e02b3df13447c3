export { ContextRelay, DEFAULT_BASE_URL, parseAddress } from './client.js';
export type {
  ContextRelayOptions,
  PayloadInfo,
  PendingGroupClaim,
  PublishOptions,
  PushOptions,
  PushResult,
  QueueGroupInfo,
  QueueGroupMember,
  RequestOptions,
} from './client.js';
export { RelaySubscription, KEY_REVOKED_CLOSE_CODE, SUBPROTOCOL } from './subscription.js';
export type { RelayEvent, SubscribeOptions } from './subscription.js';
export {
  RelayError,
  RelayAuthError,
  RelayForbiddenError,
  RelayNotFoundError,
  RelayPayloadTooLargeError,
  RelayQuotaError,
  RelayUnavailableError,
  RelayDecryptionError,
} from './errors.js';
export type { RelayProblem } from './errors.js';
export * as fernet from './fernet.js';
