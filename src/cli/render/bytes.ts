// One rendering of sizes for the library's messages and the CLI's views.
export { formatBytes } from '../../internal.js';
