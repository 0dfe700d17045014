import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateOpenapi, openapiPath } from '../../scripts/openapi.js';

describe('OpenAPI document', () => {
  it('is committed and current: run `npm run openapi` after changing a route', async () => {
    const generated = await generateOpenapi();
    expect(readFileSync(openapiPath, 'utf8') === generated, 'openapi/openapi.json is stale: run npm run openapi').toBe(true);
  });

  it('gives every operation an operationId, a tag, a documented 4xx and security unless public', async () => {
    const doc = JSON.parse(await generateOpenapi());
    const open: string[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Record<string, unknown>>>)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${path}`).toBeTruthy();
        expect((op.tags as string[]).length, `${method} ${path}`).toBeGreaterThan(0);
        expect(Object.keys(op.responses as object).some((c) => c.startsWith('4')), `${method} ${path}`).toBe(true);
        if (!op.security) open.push(`${method} ${path}`);
      }
    }
    expect(open.sort()).toEqual(['get /healthz', 'get /readyz', 'get /v1/csat/{token}', 'get /v1/help/articles', 'get /v1/help/articles/{language}/{slug}', 'get /v1/outages', 'get /v1/unsubscribe/{token}', 'post /v1/auth/login', 'post /v1/csat/{token}', 'post /v1/unsubscribe/{token}']);
  });
});
