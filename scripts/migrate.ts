import { loadConfig } from '../src/platform/config.js';
import { migrateDatabase } from '../src/platform/db/migrate.js';
import { openDatabase } from '../src/platform/db/open.js';

// `npm run migrate`: apply migrations to DATABASE_URL, or to the embedded Postgres under DATA_DIR.
const config = loadConfig();
const { database, embedded } = await openDatabase(config, () => {});
try {
  await migrateDatabase(database);
  console.log('migrations applied');
} finally {
  await database.close();
  await embedded?.stop();
}
