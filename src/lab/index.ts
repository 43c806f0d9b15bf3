// The lab router: a simulated MikroTik speaking the RouterOS API, for trying ispctl without
// hardware and for tests.

export { startLabRouter } from './api-server.js';
export type { LabRouter, LabRouterOptions, LabRouterTlsOptions } from './api-server.js';
export { defaultEmptyReply, defaultLoginMode, handleSentence, parseSentence, runCommand } from './commands.js';
export type { CommandResult, CommandSession, LabCommandHandler, LoginMode, ParsedSentence } from './commands.js';
export { createFaults, resetFaults } from './faults.js';
export { startLabFleet } from './fleet.js';
export type { LabFleet, LabFleetOptions } from './fleet.js';
export type { Faults } from './faults.js';
export { DialRejectedError, LabNas, terminateCause } from './nas.js';
export type { DialAuth, DialRejectReason, DialRequest, LabNasOptions, LabSession } from './nas.js';
export { COA_ERROR_CAUSES, coaReply, handleCoaRequest, normalizeAcctSessionId } from './nas-coa.js';
export type { CoaContext, CoaOutcome, CoaSessionView } from './nas-coa.js';
export { labNasCommands, sessionRow } from './nas-commands.js';
export { compileQuery } from './query.js';
export { ApiSession, tagSentence } from './session.js';
export type { ApiSessionOptions, SessionIO, TagPlacement } from './session.js';
export {
  DEFAULT_ENCRYPTION_PROFILE_ID,
  DEFAULT_PROFILE_ID,
  DEFAULT_VERSION,
  ListMenu,
  RouterState,
  SingletonMenu,
  challengeResponse,
  poolContains,
} from './state.js';
export type {
  ActiveSession,
  ActiveSessionInput,
  ApiCredentials,
  ApiUser,
  ChangeEvent,
  DisconnectReason,
  LabStateSnapshot,
  PppUserLookup,
  RenderedRow,
  RouterStateOptions,
  SessionDownEvent,
  StateEvents,
  WriteOptions,
} from './state.js';
export { RouterTrap, TrapCategory } from './trap.js';
export type * from './types.js';
