export * from './cluster.js';
export * from './connection-limits.js';
export * from './crash-backoff.js';
export * from './environment.js';
export * from './error-code.js';
export * from './lru-map.js';
export * from './request-id.js';
export * from './shutdown.js';
