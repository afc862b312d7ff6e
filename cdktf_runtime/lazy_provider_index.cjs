"use strict";
// Preloaded into the jsii kernel's node process by cdktf_runtime/provider_loader.py (NODE_OPTIONS=--require).
//
// @cdktf/provider-aws's lib/index.js is 2,135 lines `exports.dbInstance = require("./db-instance");`: loading the
// jsii assembly runs every one of them (about 250 MB of JavaScript, 1.8 s and 300 MB of node heap). This hook
// compiles that one file as getters that require each namespace on first access instead. The jsii kernel reaches
// every type through these exports (`closure.dbInstance.DbInstance`), so a namespace is loaded exactly when a type
// of it is first used. Any other file, or an index.js of another shape, is compiled unchanged.
const Module = require("module");
const path = require("path");

const TARGET = path.sep + path.join("@cdktf", "provider-aws", "lib", "index.js");
const REQUIRE_LINE = /^exports\.([A-Za-z_$][\w$]*) = require\("(\.\/[\w.-]+)"\);$/;
const VOID_LINE = /^exports\.[A-Za-z_$][\w$]*( = exports\.[A-Za-z_$][\w$]*)* = void 0;$/;
const KEPT_LINES = new Set(['"use strict";', 'Object.defineProperty(exports, "__esModule", { value: true });']);

// The lazy source for an index.js of the expected shape, or null (then the original is compiled).
function lazySource(content) {
  const namespaces = [];
  let inComment = false;
  for (const raw of content.split("\n")) {
    const line = raw.trim();
    if (inComment) {
      inComment = !line.endsWith("*/");
    } else if (line.startsWith("/*")) {
      inComment = !line.endsWith("*/");
    } else if (line === "" || line.startsWith("//") || KEPT_LINES.has(line) || VOID_LINE.test(line)) {
      continue;
    } else {
      const match = REQUIRE_LINE.exec(line);
      if (match === null) return null;
      namespaces.push([match[1], match[2]]);
    }
  }
  if (namespaces.length === 0) return null;
  return [
    '"use strict";',
    'Object.defineProperty(exports, "__esModule", { value: true });',
    "function lazy(name, request) {",
    "  Object.defineProperty(exports, name, { enumerable: true, configurable: true, get() {",
    "    const value = require(request);",
    "    Object.defineProperty(exports, name, { enumerable: true, configurable: true, writable: true, value });",
    "    return value;",
    "  } });",
    "}",
    ...namespaces.map(([name, request]) => `lazy(${JSON.stringify(name)}, ${JSON.stringify(request)});`),
    "",
  ].join("\n");
}

const compile = Module.prototype._compile;
Module.prototype._compile = function compileProviderIndexLazily(content, filename) {
  if (typeof filename === "string" && filename.endsWith(TARGET)) {
    const lazy = lazySource(content);
    if (lazy !== null) return compile.call(this, lazy, filename);
  }
  return compile.call(this, content, filename);
};
