export {
  type GitFailure,
  isMiyabiError,
  type MergeConflict,
  MiyabiError,
  type MiyabiErrorCode,
} from './errors.js';
export { type Logger, silentLogger } from './log.js';
