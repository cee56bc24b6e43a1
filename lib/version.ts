/**
 * The module's version, the same as deno.json's "version" (a test checks it), so that it is known
 * however the module is reached (JSR, a URL, a local path).
 *
 * @module
 */

/** The version of @x/fcn. */
export const VERSION = "0.1.0";
