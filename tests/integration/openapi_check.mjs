// SPDX-License-Identifier: Apache-2.0
// Helper of tests/integration/openapi.sh (env CACHE = node_modules parent, DOC = the document):
//   validate          docs/openapi.yaml against the official OpenAPI 3.x JSON schemas
//   routes            print "METHOD /path" for every documented operation ({x} written {})
//   responses TSV     check recorded responses (n, mode, method, path, status, prefix, request)
//                     against the documented status codes, media types, headers and schemas
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(process.env.CACHE + '/');
const load = async (name) => import(require.resolve(name));
const YAML = await load('yaml');
const text = readFileSync(process.env.DOC, 'utf8');
const doc = YAML.parse(text);
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function fail(msg) {
    console.error('openapi: ' + msg);
    process.exitCode = 1;
}

async function validate() {
    const { Validator } = await load('@seriousme/openapi-schema-validator');
    const v = new Validator();
    const res = await v.validate(doc);
    if (!res.valid) {
        fail('not a valid OpenAPI ' + (v.version ?? '3.x') + ' document:\n' +
             JSON.stringify(res.errors, null, 1));
        return;
    }
    if (!String(doc.openapi).startsWith('3.')) {
        fail('expected OpenAPI 3.x, found ' + doc.openapi);
        return;
    }
    // Every $ref must resolve (the schema check does not follow them).
    try {
        v.resolveRefs();
    } catch (e) {
        fail('unresolvable $ref: ' + e.message);
        return;
    }
    console.log('openapi: valid OpenAPI ' + doc.openapi);
}

function routes() {
    for (const [path, item] of Object.entries(doc.paths)) {
        for (const m of METHODS) {
            if (item[m]) {
                console.log(m.toUpperCase() + ' ' + path.replace(/\{[^}]+\}/g, '{}'));
            }
        }
    }
}

// The documented path template matching a concrete path, or undefined.
function template(path) {
    for (const t of Object.keys(doc.paths)) {
        const re = new RegExp('^' + t.split(/\{[^}]+\}/).map((s) =>
            s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^/]+') + '$');
        if (re.test(path)) {
            return t;
        }
    }
    return undefined;
}

function deref(obj) {
    while (obj && obj.$ref) {
        obj = obj.$ref.slice(2).split('/').reduce((o, k) =>
            o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    }
    return obj;
}

function parseHead(raw) {
    // curl -D may hold several responses (100 Continue); the last one counts.
    const blocks = raw.split(/\r?\n\r?\n/).filter((b) => b.trim() !== '');
    const lines = blocks[blocks.length - 1].split(/\r?\n/);
    const h = {};
    for (const l of lines.slice(1)) {
        const i = l.indexOf(':');
        if (i > 0) {
            h[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
        }
    }
    return h;
}

async function responses(tsv) {
    const { default: Ajv2020 } = await load('ajv/dist/2020.js');
    const { default: addFormats } = await load('ajv-formats');
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(ajv);
    // The components become one schema resource; "#/components/..." refs point into it.
    const ID = 'urn:sekisho:openapi';
    const abs = JSON.parse(JSON.stringify(doc).replaceAll('"#/components/', `"${ID}#/components/`));
    ajv.addSchema({ $id: ID, components: abs.components });
    const compiled = new Map();
    const check = (schema, value, what) => {
        const key = JSON.stringify(schema);
        if (!compiled.has(key)) {
            const s = JSON.parse(key.replaceAll('"#/components/', `"${ID}#/components/`));
            compiled.set(key, ajv.compile(s));
        }
        const fn = compiled.get(key);
        if (!fn(value)) {
            fail(what + ': ' + ajv.errorsText(fn.errors, { separator: '; ' }));
            return false;
        }
        return true;
    };

    const seen = new Map(); // "METHOD template" -> {ok, err}
    let count = 0;
    for (const line of readFileSync(tsv, 'utf8').split('\n').filter(Boolean)) {
        const [n, mode, method, path, status, prefix, request] = line.split('\t');
        const what = `case ${n} (${method} ${path} -> ${status})`;
        const head = parseHead(readFileSync(prefix + '.head', 'utf8'));
        const body = readFileSync(prefix + '.body', 'utf8');
        const ctype = (head['content-type'] ?? '').split(';')[0].trim();
        count++;
        if (mode === 'route') {
            // An unknown path or method: a problem, never a documented operation.
            const t = template(path);
            if (t && doc.paths[t][method.toLowerCase()]) {
                fail(what + ': documented, so it must be an "op" case');
            }
            if (ctype !== 'application/problem+json') {
                fail(what + ': content type ' + ctype);
            }
            check(doc.components.schemas.Problem, JSON.parse(body), what);
            continue;
        }
        const t = template(path);
        const op = t && doc.paths[t][method.toLowerCase()];
        if (!op) {
            fail(what + ': no documented operation');
            continue;
        }
        const key = method + ' ' + t;
        const s = seen.get(key) ?? { ok: 0, err: 0 };
        seen.set(key, s);
        if (status.startsWith('2')) {
            s.ok++;
        } else {
            s.err++;
        }
        const resp = deref(op.responses?.[status]);
        if (!resp) {
            fail(what + ': status not documented (documented: ' +
                 Object.keys(op.responses ?? {}).join(', ') + ')');
            continue;
        }
        for (const [name, h] of Object.entries(resp.headers ?? {})) {
            const v = head[name.toLowerCase()];
            if (v === undefined) {
                fail(what + ': header ' + name + ' missing');
            } else if (h.schema) {
                check(h.schema, v, what + ' header ' + name);
            }
        }
        if (!resp.content) {
            if (body.length > 0) {
                fail(what + ': a body where none is documented');
            }
            continue;
        }
        const media = resp.content[ctype];
        if (!media) {
            fail(what + ': content type "' + ctype + '" not documented (' +
                 Object.keys(resp.content).join(', ') + ')');
            continue;
        }
        let value = body;
        if (/[/+]json$/.test(ctype)) {
            try {
                value = JSON.parse(body);
            } catch (e) {
                fail(what + ': body is not JSON: ' + e.message);
                continue;
            }
        }
        if (media.schema) {
            check(media.schema, value, what + ' body');
        }
        // The token's claims are documented as EarClaims.
        if (t === '/v1/attest/sev-snp' && status === '200') {
            const claims = JSON.parse(Buffer.from(value.token.split('.')[1], 'base64url'));
            if (check(doc.components.schemas.EarClaims, claims, what + ' token claims') &&
                claims.submods.cpu0['ear.status'] !== value.status) {
                fail(what + ': status differs from the token\'s ear.status');
            }
        }
        // A successful request's body must match the documented request body.
        if (request !== '-' && status.startsWith('2') && op.requestBody) {
            const rb = deref(op.requestBody);
            const rs = rb.content?.['application/json']?.schema;
            if (rs) {
                check(rs, JSON.parse(readFileSync(request, 'utf8')), what + ' request body');
            }
        }
    }
    for (const [path, item] of Object.entries(doc.paths)) {
        for (const m of METHODS) {
            if (!item[m]) {
                continue;
            }
            const s = seen.get(m.toUpperCase() + ' ' + path) ?? { ok: 0, err: 0 };
            if (s.ok === 0 || s.err === 0) {
                fail(`${m.toUpperCase()} ${path}: needs a success and an error case ` +
                     `(has ${s.ok} and ${s.err})`);
            }
        }
    }
    if (process.exitCode !== 1) {
        console.log(`openapi: ${count} responses match the document`);
    }
}

const [cmd, arg] = process.argv.slice(2);
if (cmd === 'validate') {
    await validate();
} else if (cmd === 'routes') {
    routes();
} else if (cmd === 'responses') {
    await responses(arg);
} else {
    fail('usage: openapi_check.mjs validate|routes|responses FILE');
}
