// Reads JSON lines {"expression", "resource"} on stdin and writes one JSON line
// per input: {"result": [...]} or {"error": "..."}, evaluated by the reference
// engine (npm fhirpath) with the FHIR R4 model. Used by the differential test.
'use strict';
const readline = require('readline');
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (!line.trim()) return;
  let output;
  try {
    const { expression, resource } = JSON.parse(line);
    const result = fhirpath.evaluate(resource, expression, {}, r4);
    output = { result: JSON.parse(JSON.stringify(result)) };
  } catch (e) {
    output = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(output) + '\n');
});
