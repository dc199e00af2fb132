export { createPool, matchIds, queryTables, transaction, quoteIdent, type Pool, type PoolClient, type Queryable, type PoolOptions } from './pool.ts';
export { migrate, listMigrations, migrationsDir, MigrationError, type Migration, type MigrateResult } from './migrate.ts';
