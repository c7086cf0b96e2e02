/** The prompt cell language: parse, validate, build turns and templates. Pure (no IO, no model). */
export * from './magics';
export * from './parse';
export * from './templates';
export * from './conversation';
export * from './seed';
export * from './world';
