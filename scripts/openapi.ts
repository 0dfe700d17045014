import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/platform/config.js';
import { connect } from '../src/platform/db/client.js';

/** The OpenAPI document as the routes declare it; no database is contacted (postgres.js connects lazily). */
export async function generateOpenapi(): Promise<string> {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused' });
  const database = connect(config.DATABASE_URL!, 1);
  const secrets = { authSecret: 'x'.repeat(32), dataEncryptionKeys: `k1:${Buffer.alloc(32).toString('base64')}`, dataHashKey: 'x'.repeat(32), voucherPinKey: 'x'.repeat(32) };
  const { app } = await buildApp({ config, database, secrets });
  await app.ready();
  const doc = JSON.stringify(app.swagger(), null, 2) + '\n';
  await app.close();
  await database.close();
  return doc;
}

export const openapiPath = path.resolve(import.meta.dirname, '../openapi/openapi.json');

if (process.argv[1] && import.meta.filename === path.resolve(process.argv[1])) {
  mkdirSync(path.dirname(openapiPath), { recursive: true });
  writeFileSync(openapiPath, await generateOpenapi());
  console.log(`wrote ${path.relative(process.cwd(), openapiPath)}`);
}
