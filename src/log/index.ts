export * from './errors.js';
export * from './hash.js';
export * from './proof.js';
export * from './tile.js';
export * from './tree.js';
export * from './note.js';
export * from './checkpoint.js';
