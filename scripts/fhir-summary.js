'use strict';
// Demo helper: GET a FHIR search URL on the loopback test server and print each resource briefly
// (type/id/version, AIAST label, identifiers, and for a Provenance its targets and agents).
//   node scripts/fhir-summary.js http://127.0.0.1:PORT/fhir/R4 'DocumentReference?identifier=...'
const http = require('http');
const [base, query] = process.argv.slice(2);
http.get(`${base}/${query}`, (res) => {
  let body = '';
  res.on('data', (c) => { body += c; });
  res.on('end', () => {
    const bundle = JSON.parse(body);
    const entries = bundle.entry || [];
    if (!entries.length) { console.log('  (none)'); return; }
    for (const { resource: r } of entries) {
      const labels = (r.meta?.security || []).map((s) => s.code).join(',') || '-';
      console.log(`  ${r.resourceType}/${r.id} version ${r.meta?.versionId}  security=${labels}  status=${r.status ?? '-'}`);
      for (const i of r.identifier || []) console.log(`    identifier ${i.system}|${i.value}`);
      if (r.description) console.log(`    description: ${r.description}`);
      if (r.resourceType === 'Provenance') {
        for (const t of r.target || []) console.log(`    target ${t.reference}`);
        for (const a of r.agent || []) {
          const type = a.type?.coding?.[0]?.code ?? '?';
          console.log(`    agent ${type}: ${a.who?.reference ?? ''} ${a.who?.display ?? ''}`);
        }
        console.log(`    recorded ${r.recorded}`);
      }
    }
  });
}).on('error', (e) => { console.error(e.message); process.exit(1); });
