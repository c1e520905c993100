export * from './account.js';
export * from './goal.js';
export * from './passkey.js';
export * from './problem.js';
