// Timing of the outbox that other modules share (the job gate in hold.ts reads it too).

/** A row claimed by a sender that died is taken again after this long. */
export const SENDING_TIMEOUT_MS = 10 * 60_000;
