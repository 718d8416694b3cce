// Preloaded (--require) by the store tests to make better-sqlite3 look uninstalled, as npm leaves
// it where it could not be built: requiring it fails with MODULE_NOT_FOUND.
const Module = require("node:module");

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === "better-sqlite3") {
    const err = new Error("Cannot find module 'better-sqlite3'");
    err.code = "MODULE_NOT_FOUND";
    throw err;
  }
  return resolve.call(this, request, ...rest);
};
