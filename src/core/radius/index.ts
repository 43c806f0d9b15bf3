// RADIUS codec and UDP transport (RFC 2865, 2866, 3579, 5176) for CoA/Disconnect, the lab NAS and
// tests.

export * from './codes.js';
export * from './dictionary.js';
export * from './errors.js';
export * from './crypto.js';
export * from './attributes.js';
export * from './packet.js';
export * from './validate.js';
export * from './client.js';
export * from './server.js';
