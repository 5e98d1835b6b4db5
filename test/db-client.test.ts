/**
 * Transactions on PostgreSQL through src/db/client.ts (BEGIN sent with the first statement, on a reserved
 * connection): atomic, nested through savepoints, a COMMIT that answers ROLLBACK is an error, and a connection killed
 * mid-transaction fails that transaction only — the pool goes on with sound connections. Always on a real
 * PostgreSQL (DATABASE_URL, else the local one), whatever the rest of the suite uses.
 */
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { queryRows } from "../src/db/client.js";
import { scratchPostgres, type ScratchDatabase } from "./helpers/db.js";

const BASE = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
let database: ScratchDatabase;
beforeAll(async () => {
  database = await scratchPostgres(BASE, { poolSize: 2 });
  await database.db.execute(sql`create table t (k text primary key)`);
});
afterAll(async () => {
  await database?.close();
});

const keys = async () => (await queryRows<{ k: string }>(database.db, sql`select k from t order by k`)).map((r) => r.k);

describe("transactions on PostgreSQL", () => {
  it("commit what succeeded, keep nothing of what threw", async () => {
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values ('a')`);
      await tx.execute(sql`insert into t values ('b')`);
    });
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values ('c')`);
        throw new Error("changed my mind");
      }),
    ).rejects.toThrow("changed my mind");
    expect(await keys()).toEqual(["a", "b"]);
  });

  it("a failed statement whose error was swallowed still fails the transaction", async () => {
    await expect(
      database.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values ('d')`);
        await tx.execute(sql`insert into t values ('a')`).catch(() => {});
      }),
    ).rejects.toThrow();
    expect(await keys()).toEqual(["a", "b"]);
  });

  it("a nested transaction is a savepoint: its failure undoes only its own work", async () => {
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`insert into t values ('e')`);
      await expect(
        tx.transaction(async (inner) => {
          await inner.execute(sql`insert into t values ('f')`);
          throw new Error("inner failure");
        }),
      ).rejects.toThrow("inner failure");
      await tx.transaction(async (inner) => {
        await inner.execute(sql`insert into t values ('g')`);
      });
    });
    expect(await keys()).toEqual(["a", "b", "e", "g"]);
  });

  it("a connection killed mid-transaction fails that one; the pool carries on with sound connections", async () => {
    const admin = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      await expect(
        database.db.transaction(async (tx) => {
          await tx.execute(sql`insert into t values ('h')`);
          const [me] = await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`);
          await admin`select pg_terminate_backend(${me?.pid ?? 0})`;
          await tx.execute(sql`insert into t values ('i')`);
        }),
      ).rejects.toThrow();
    } finally {
      await admin.end();
    }
    // More transactions than the pool has connections, several at once. The killed backend's farewell may still
    // fail one of them, or, on a busy machine, leave one unsettled for good (postgres.js 3.4.9: upstream
    // porsager/postgres#1186, fix proposed in PR #1215). Each attempt here gets the limit the message pipeline gives a
    // batch (GroupCommit's timeoutMs, shorter here), and goes again like a retried message. Every row gets in, and the
    // process is still here (an uncaught error would fail this file).
    const failures: unknown[] = [];
    const limit = <T>(work: Promise<T>) =>
      Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("attempt unsettled after 5 s")), 5000).unref())]);
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        for (let attempt = 1; ; attempt++) {
          try {
            await limit(
              database.db.transaction(async (tx) => {
                await tx.execute(sql`insert into t values (${`z${String(i).padStart(2, "0")}`})`);
              }),
            );
            return;
          } catch (err) {
            failures.push(err);
            if (attempt >= 3) throw err;
          }
        }
      }),
    );
    expect(failures.length).toBeLessThanOrEqual(2);
    const all = await keys();
    expect(all.filter((k) => k.startsWith("z"))).toHaveLength(12);
    expect(all).not.toContain("h");
    expect(all).not.toContain("i");
  });
});
