import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../functions/contract.ts';
import { OPENAPI_PATH, openApiDocument, openApiText } from '../../local/openapi.ts';
import { contractViolation, openApi, schemaErrors } from '../contract.ts';

const REDOCLY = fileURLToPath(new URL('../../node_modules/@redocly/cli/bin/cli.js', import.meta.url));
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** `redocly lint` with its strictest built-in ruleset (warnings are errors), offline. */
const lint = (path: string) =>
  spawnSync(process.execPath, [REDOCLY, 'lint', '--extends', 'recommended-strict', path], {
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    timeout: 60_000,
  });

/** The README's JSON examples: each fenced json block, split into its top-level values. */
const readmeExamples = (): unknown[] =>
  [...README.matchAll(/```json\n([\s\S]*?)```/g)].flatMap(([, block]) => block!.split(/\n\s*\n/).map((text) => JSON.parse(text)));

describe('openapi.json', () => {
  it('is what `npm run openapi` builds from the schemas (run it after changing them)', () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8'), 'openapi.json is stale: run npm run openapi').toBe(openApiText());
  });

  it('passes the Redocly linter (recommended-strict); a broken document does not', () => {
    const clean = lint(OPENAPI_PATH);
    expect(clean.status, clean.stdout + clean.stderr).toBe(0);
    const broken = openApiDocument() as Record<string, any>;
    delete broken.paths[HTTP_ROUTES.query.path].post.responses;
    const path = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'broken.json');
    writeFileSync(path, JSON.stringify(broken));
    expect(lint(path).status).not.toBe(0);
  });

  it('describes each route, with the request bodies the handler validates and every example valid', () => {
    const document = openApi() as any;
    for (const { method, path } of Object.values(HTTP_ROUTES)) expect(document.paths[path]?.[method.toLowerCase()], path).toBeDefined();
    let checked = 0;
    for (const item of Object.values(document.paths) as any[]) {
      for (const operation of Object.values(item) as any[]) {
        const media = [
          ...Object.values(operation.requestBody?.content ?? {}),
          ...Object.values(operation.responses).flatMap((r: any) => Object.values(r.content ?? {})),
        ] as any[];
        for (const { schema, examples } of media) {
          for (const [name, { value }] of Object.entries(examples ?? {}) as [string, { value: unknown }][]) {
            expect(schemaErrors(schema, value), name).toEqual([]);
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });

  it('declares a problem answer for every status and kind the README lists', () => {
    const document = openApi() as any;
    const errorsSection = README.slice(README.indexOf('## Errors'), README.indexOf('## Configuration'));
    const rows = [...errorsSection.matchAll(/^\| (\d{3}) +\| `([a-z-]+)` +\|/gm)].map(([, status, kind]) => ({
      status: status!,
      kind: kind!,
    }));
    expect(rows.length).toBeGreaterThanOrEqual(17);
    for (const { status, kind } of rows) {
      const response = document.components.responses[`Problem${status}`];
      // 405 (a method no operation has) is described once, for the whole API.
      const described = response?.description ?? (status === '405' ? document.info.description : '');
      expect(described, `${status} ${kind}`).toContain(`\`${kind}\``);
      if (response) expect(response.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    }
  });

  it("validates the README's answer examples", () => {
    const answers = readmeExamples().filter((example: any) => 'partial' in example && ('accounts' in example || 'tokens' in example));
    expect(answers.length).toBeGreaterThanOrEqual(4);
    for (const answer of answers) expect(schemaErrors({ $ref: '#/components/schemas/QueryAnswer' }, answer)).toEqual([]);
  });

  it('finds what does not match: an undeclared field, status or media type, a problem off the routes', () => {
    const query = { method: 'POST', path: HTTP_ROUTES.query.path };
    const ok = { accounts: [], partial: false, region: 'guangzhou', requestId: 'r' };
    expect(contractViolation(query, { status: 200, contentType: 'application/json', body: ok })).toBeUndefined();
    expect(contractViolation(query, { status: 200, contentType: 'application/json', body: { ...ok, extra: 1 } })).toMatch(
      /not as documented/,
    );
    expect(contractViolation(query, { status: 200, contentType: 'application/json', body: { ...ok, region: 'mars' } })).toMatch(
      /not as documented/,
    );
    expect(contractViolation(query, { status: 404, contentType: 'application/problem+json', body: {} })).toMatch(/declares no such answer/);
    expect(contractViolation(query, { status: 200, contentType: 'text/plain', body: ok })).toMatch(/declares no text\/plain answer/);
    const problem = { type: 'urn:tpns-bindings:problem:not-found', title: 'Not found', status: 404, detail: 'no route' };
    expect(
      contractViolation({ method: 'GET', path: '/nowhere' }, { status: 404, contentType: 'application/problem+json', body: problem }),
    ).toBeUndefined();
    expect(
      contractViolation(
        { method: 'GET', path: '/nowhere' },
        { status: 404, contentType: 'application/problem+json', body: { detail: 'x' } },
      ),
    ).toMatch(/not a problem/);
  });
});
