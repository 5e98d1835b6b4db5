/**
 * One database handle for both modes: embedded PGlite (no configuration) or PostgreSQL through postgres.js.
 * Both are drizzle PgDatabase instances over the same tables, so workflows never know which one they have.
 */
import { type SQL, sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";

/**
 * A database or a transaction: workflows accept either. Built without drizzle's relational API (`db.query.*`, unused):
 * given the schema, drizzle builds a query builder for every table on each transaction it opens — on the message
 * path, a batch's transaction (docs/performance.md).
 */
export type Db = PgDatabase<PgQueryResultHKT>;

export type Database = {
  db: Db;
  kind: "pglite" | "postgres";
  /** Throws when the database cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/**
 * What sits between the bot and PostgreSQL (DATABASE_POOLER): nothing or a session pooler (a client connection is
 * one server session), or a pooler in transaction mode (PgBouncer `pool_mode = transaction` and the like: each
 * transaction, or lone statement, runs on whichever server connection is free).
 */
export type Pooler = "none" | "session" | "transaction";

export type DatabaseOptions = {
  url?: string;
  dataDir?: string;
  poolSize?: number;
  pooler?: Pooler;
  /** Embedded only: start from this data directory, as PGlite's dumpDataDir wrote it, instead of an empty one. */
  loadDataDir?: Blob;
};

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  if (opts.url) {
    const pooled = opts.pooler === "transaction";
    const client = postgres(opts.url, {
      max: opts.poolSize ?? 10,
      onnotice: () => {},
      connection: { application_name: "haolin" },
      // Behind a transaction pooler nothing may outlive a transaction on a client connection. A prepared statement
      // stays on the server connection that parsed it (the next use lands elsewhere: "does not exist", or a hang
      // with PgBouncer 1.18), so none are made. Queries pipelined behind another one outside a transaction arrive
      // after the pooler has handed the server connection back (PgBouncer drops the connection, the query never
      // answers), so none are pipelined — inside a transaction postgres.js waits for each answer then, too.
      ...(pooled ? { prepare: false, max_pipeline: 0 } : {}),
    });
    const db = drizzlePostgres(pooled ? client : preparedStatements(client), { casing: "snake_case" }) as unknown as Db;
    return {
      db,
      kind: "postgres",
      ping: async () => {
        await client`select 1`;
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  // dataDir undefined → in-memory (tests); otherwise a directory kept across restarts. Loaded only in embedded mode.
  const { openPglite } = await import("./pglite.js");
  const { drizzle: drizzlePglite } = await import("drizzle-orm/pglite");
  const client = await openPglite(opts.dataDir, opts.loadDataDir);
  const db = drizzlePglite(client, { casing: "snake_case" }) as unknown as Db;
  return {
    db,
    kind: "pglite",
    ping: async () => {
      await client.query("select 1");
    },
    close: () => client.close(),
  };
}

/**
 * Connection errors waiting cannot fix: a rejected password or role (SQLSTATE class 28) or a database that does not
 * exist (3D000). Everything else (refused, unknown host, "the database system is starting up") is worth a retry.
 */
export function isPermanentConnectError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("28") || code === "3D000");
}

/**
 * drizzle hands every query to postgres.js with `prepare: false` unless the query was given a name. Unprepared,
 * a query with parameters costs two round trips (postgres.js first asks the server for the parameter types) and
 * a parse and plan on the server every time; prepared, it is one round trip and the plan is kept per connection.
 * This asks for prepared statements on the client, in its transactions and savepoints. Not used behind a
 * transaction pooler (DATABASE_POOLER=transaction), where a prepared statement does not survive its transaction.
 */
function preparedStatements(sql: postgres.Sql): postgres.Sql {
  type Run = (inner: postgres.Sql) => unknown;
  const wrapLast = (args: unknown[]) => {
    const fn = args[args.length - 1] as Run;
    return [...args.slice(0, -1), (inner: postgres.Sql) => fn(preparedStatements(inner))];
  };
  return new Proxy(sql, {
    get(target, prop) {
      if (prop === "unsafe")
        return (query: string, params?: unknown[], options?: postgres.UnsafeQueryOptions) =>
          target.unsafe(query, params as postgres.ParameterOrJSON<never>[], { ...options, prepare: true });
      if (prop === "begin" || prop === "savepoint")
        return (...args: unknown[]) => (Reflect.get(target, prop) as (...a: unknown[]) => unknown)(...wrapLast(args));
      return Reflect.get(target, prop);
    },
  });
}

/** Rows of a raw query, whichever driver ran it (postgres.js returns an array, PGlite `{ rows }`). */
export async function queryRows<T>(db: Db, query: SQL): Promise<T[]> {
  const res = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(res) ? res : res.rows;
}

/**
 * Many strings as one `text[]` parameter (an array literal): a list of thousands costs one bound parameter instead
 * of thousands (each a chunk to build and a value to send), the same on both drivers.
 */
export function textArray(values: readonly string[]): SQL {
  const quoted = values.map((v) => `"${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
  return sql`${`{${quoted.join(",")}}`}::text[]`;
}

export { sql };
