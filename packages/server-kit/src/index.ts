export * from './connection-limits.js';
export * from './environment.js';
export * from './error-code.js';
export * from './request-id.js';
export * from './shutdown.js';
