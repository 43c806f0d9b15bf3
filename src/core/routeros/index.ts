// RouterOS API client: wire protocol, connection, query building, menu helpers.

export * from './errors.js';
export {
  DEFAULT_FALLBACK_ENCODING,
  DEFAULT_MAX_WORD_BYTES,
  MAX_WORD_LENGTH,
  SentenceDecoder,
  decodeText,
  encodeLength,
  encodeSentence,
  encodeTaggedSentence,
  encodeWord,
  lengthPrefixSize,
  makeFallbackDecoder,
  parseSentence,
  type DecoderOptions,
  type ParsedSentence,
} from './protocol.js';
export {
  DEFAULT_PORT,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_TLS_PORT,
  RouterOSClient,
  type CloseListener,
  type CommandHandle,
  type CommandOptions,
  type CommandResult,
  type RouterOSConnectOptions,
  type RouterOSTlsOptions,
  type Row,
  type WriteOptions,
} from './client.js';
export {
  COMMAND_PATTERN,
  NAME_PATTERN,
  assertCommand,
  assertName,
  attributeWord,
  attributeWords,
  formatValue,
  isQueryWord,
  proplistWord,
  q,
  queryWords,
  type Params,
  type Query,
  type QueryWord,
  type WordValue,
} from './query.js';
export * as menu from './menu.js';
export type { PrintOptions, RouterOSWriter } from './menu.js';
