/** The version of stoopt, written once: `--version` and the "stoopt" field of every result. test/layout.test.ts checks it against package.json. */
export const VERSION = "0.1.0";
