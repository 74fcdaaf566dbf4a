export * from './errors.js';
export * from './predicates.js';
export * from './statement.js';
export * from './schemas.js';
