export * from './goal.js';
export * from './problem.js';
