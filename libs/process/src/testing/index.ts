export * from './memory-logger.js';
