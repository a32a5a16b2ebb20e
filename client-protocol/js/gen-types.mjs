// Generates, from client-protocol/schema/rookery.schema.json, the wire-message section of
// rookery.d.ts and protocol.js (the protocol's numbers: close codes, limits, timers, from
// $defs/Constants), so the SDK's types and constants come from the same source as the Rust
// types and constants (client-protocol/src/constants.rs).
//
//   node gen-types.mjs          rewrite the generated section of rookery.d.ts, and protocol.js
//   node gen-types.mjs --check  exit 1 if either is out of date
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const SCHEMA_PATH = fileURLToPath(new URL("../schema/rookery.schema.json", import.meta.url));
export const DTS_PATH = fileURLToPath(new URL("./rookery.d.ts", import.meta.url));
export const PROTOCOL_PATH = fileURLToPath(new URL("./protocol.js", import.meta.url));
export const BEGIN = "// ---- BEGIN GENERATED from client-protocol/schema/rookery.schema.json (npm run gen-types): do not edit ----";
export const END = "// ---- END GENERATED ----";

const refName = (ref) => ref.replace("#/$defs/", "");

function doc(description, indent = "") {
  if (!description) return "";
  const lines = description.split("\n");
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}`.trimEnd()).join("\n")}\n${indent} */\n`;
}

function scalar(type) {
  switch (type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    default:
      throw new Error(`unsupported schema type ${type}`);
  }
}

function union(parts) {
  return [...new Set(parts)].join(" | ");
}

/** A TypeScript type expression for a (sub)schema. */
function tsType(schema) {
  if (schema.$ref) return refName(schema.$ref);
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.enum) return union(schema.enum.map((v) => JSON.stringify(v)));
  if (schema.anyOf) return union(schema.anyOf.map(tsType));
  if (schema.oneOf) return union(schema.oneOf.map(tsType));
  if (Array.isArray(schema.type)) return union(schema.type.map((t) => (t === "array" ? arrayType(schema) : scalar(t))));
  if (schema.type === "array") return arrayType(schema);
  if (schema.type === "object") return `{ ${fields(schema, "").join(" ")} }`;
  return scalar(schema.type);
}

function arrayType(schema) {
  const inner = tsType(schema.items);
  return inner.includes(" ") ? `Array<${inner}>` : `${inner}[]`;
}

function fields(schema, indent, skip = []) {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties ?? {})
    .filter(([name]) => !skip.includes(name))
    .map(([name, prop]) => {
      const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
      const optional = required.has(name) ? "" : "?";
      return `${doc(prop.description, indent)}${indent}${key}${optional}: ${tsType(prop)};`;
    });
}

function messageName(type) {
  const [namespace, name] = type.split("/");
  const pascal = (s) => s.toLowerCase().replace(/(^|_)([a-z0-9])/g, (_, __, c) => c.toUpperCase());
  return `${pascal(namespace)}${pascal(name)}Message`;
}

/** One frame union (ClientFrame or ServerFrame): an interface per message, the union, a map. */
function frames(name, schema, mapName) {
  const refField = schema.properties?.ref;
  const out = [];
  const entries = [];
  for (const variant of schema.oneOf) {
    const type = variant.properties.type.const;
    const typeName = messageName(type);
    entries.push([type, typeName]);
    const head = [`type: ${JSON.stringify(type)};`];
    if (refField) head.push(`/** Echoed on replies to a message that carried it. */`, `ref?: ${tsType(refField)};`);
    if (variant.$ref) {
      out.push(`/** \`${type}\` */\nexport type ${typeName} = { ${head.filter((l) => !l.startsWith("/**")).join(" ")} } & ${refName(variant.$ref)};\n`);
    } else {
      const body = [...head.map((l) => `  ${l}`), ...fields(variant, "  ", ["type"])];
      out.push(`/** \`${type}\` */\nexport interface ${typeName} {\n${body.join("\n")}\n}\n`);
    }
  }
  out.push(`${doc(schema.description)}export type ${name} =\n${entries.map(([, t]) => `  | ${t}`).join("\n")};\n`);
  out.push(`/** Each \`${name}\` type by its wire \`type\`. */\nexport interface ${mapName} {\n${entries.map(([ty, t]) => `  ${JSON.stringify(ty)}: ${t};`).join("\n")}\n}\n`);
  return out;
}

/** A doc comment wrapped to 100 columns, for hand-read generated files. */
function wrappedDoc(description, width = 100) {
  const lines = [];
  for (const paragraph of description.split("\n")) {
    let line = "";
    for (const word of paragraph.split(" ")) {
      if (line && line.length + 1 + word.length > width - 3) {
        lines.push(line);
        line = word;
      } else {
        line = line ? `${line} ${word}` : word;
      }
    }
    lines.push(line);
  }
  if (lines.length === 1 && lines[0].length <= width - 7) return `/** ${lines[0]} */`;
  return `/**\n${lines.map((l) => ` * ${l}`).join("\n")}\n */`;
}

/** `$defs/Constants` as `[name, value, description]`, in the order of constants.rs. */
export function constants(schema) {
  const def = schema.$defs.Constants;
  if (!def) throw new Error("the schema has no $defs/Constants");
  return def.required.map((name) => [name, def.properties[name].const, def.properties[name].description]);
}

/** The text of protocol.js. */
export function generateProtocol(schema) {
  const lines = [
    "// protocol.js: the numbers of the rookery wire protocol (close codes, limits, timers).",
    "// GENERATED by gen-types.mjs (npm run gen-types) from $defs/Constants of",
    "// client-protocol/schema/rookery.schema.json, itself generated from",
    "// client-protocol/src/constants.rs: do not edit, change the Rust constants and regenerate.",
  ];
  for (const [name, value, description] of constants(schema)) {
    const literal = JSON.stringify(value);
    lines.push("", wrappedDoc(description));
    lines.push(`export const ${name} = ${Array.isArray(value) ? `Object.freeze(${literal})` : literal};`);
  }
  return `${lines.join("\n")}\n`;
}

/** Declarations of the constants (re-exported by rookery.js), with their literal types. */
function constantDeclarations(schema) {
  const out = ["// The protocol's numbers (protocol.js, from client-protocol/src/constants.rs)."];
  for (const [name, value, description] of constants(schema)) {
    const type = Array.isArray(value) ? `readonly [${value.map((v) => JSON.stringify(v)).join(", ")}]` : JSON.stringify(value);
    out.push(`${doc(description).trimEnd()}\nexport declare const ${name}: ${type};`);
  }
  return `${out.join("\n")}\n`;
}

/** The generated section, without the markers. */
export function generate(schema) {
  const out = [];
  for (const [name, def] of Object.entries(schema.$defs)) {
    if (name === "ClientFrame" || name === "ServerFrame" || name === "Constants") continue;
    if (def.type === "object" && def.properties) {
      const body = fields(def, "  ");
      out.push(`${doc(def.description)}export interface ${name} {\n${body.join("\n")}\n}\n`);
    } else {
      out.push(`${doc(def.description)}export type ${name} = ${tsType(def)};\n`);
    }
  }
  out.push(...frames("ClientFrame", schema.$defs.ClientFrame, "ClientMessageMap"));
  out.push(...frames("ServerFrame", schema.$defs.ServerFrame, "ServerMessageMap"));
  out.push(constantDeclarations(schema));
  return out.join("\n");
}

export function currentSection(dts) {
  const start = dts.indexOf(BEGIN);
  const end = dts.indexOf(END);
  if (start < 0 || end < start) throw new Error("rookery.d.ts has no generated section markers");
  return dts.slice(start + BEGIN.length + 1, end);
}

function main() {
  const schema = JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));
  const dts = readFileSync(DTS_PATH, "utf8");
  const fresh = generate(schema);
  const protocol = generateProtocol(schema);
  if (process.argv.includes("--check")) {
    let stale = false;
    if (currentSection(dts) !== fresh) {
      console.error("rookery.d.ts is out of date with the schema: run `npm run gen-types` in client-protocol/js");
      stale = true;
    }
    if (readFileSync(PROTOCOL_PATH, "utf8") !== protocol) {
      console.error("protocol.js is out of date with the schema: run `npm run gen-types` in client-protocol/js");
      stale = true;
    }
    if (stale) process.exit(1);
    return;
  }
  const start = dts.indexOf(BEGIN);
  const end = dts.indexOf(END);
  writeFileSync(DTS_PATH, `${dts.slice(0, start + BEGIN.length + 1)}${fresh}${dts.slice(end)}`);
  writeFileSync(PROTOCOL_PATH, protocol);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
