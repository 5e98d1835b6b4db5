/**
 * Transactions on PostgreSQL through src/db/client.ts: atomic, nested through savepoints, and a connection killed or
 * closed mid-transaction fails that transaction only — its later statements go nowhere, and the pool goes on with
 * sound connections. Always on a real PostgreSQL (DATABASE_URL, else the local one), whatever the rest of the suite
 * uses.
 */
import { connect, type Socket } from "node:net";
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase, queryRows } from "../src/db/client.js";
import { waitFor } from "./helpers/harness.js";
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
    // More transactions than the pool has connections, several at once: every one of them commits at its first try
    // (the killed backend's last words and a write left pending by the close stay with the old socket).
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        database.db.transaction(async (tx) => {
          await tx.execute(sql`insert into t values (${`z${String(i).padStart(2, "0")}`})`);
        }),
      ),
    );
    const all = await keys();
    expect(all.filter((k) => k.startsWith("z"))).toHaveLength(12);
    expect(all).not.toContain("h");
    expect(all).not.toContain("i");
  });
});

/**
 * The orderings a killed connection can meet, each made to happen every time on a pool of one connection (so the
 * next transaction reuses the same connection object). postgres.js 3.4.9 fails all three; patches/ fixes them
 * (upstream porsager/postgres#1186, #1216, PR #1215).
 */
describe("a connection closed under a transaction, on a pool of one", () => {
  const scratch: Database[] = [];
  afterAll(async () => {
    for (const d of scratch) await d.close();
  });
  const onePool = async (url = database.url) => {
    const d = await openDatabase({ url, poolSize: 1 });
    scratch.push(d);
    return d;
  };
  const admin = () => postgres(database.url, { max: 1, onnotice: () => {} });
  it("the killed backend's last words do not fail the next transaction", async () => {
    const one = await onePool();
    const a = admin();
    try {
      let pid = 0;
      const killed = one.db.transaction(async (tx) => {
        pid = (await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`))[0]?.pid ?? 0;
        await tx.execute(sql`select pg_sleep(60)`);
      });
      killed.catch(() => {});
      // Killed while a statement runs: the backend answers it with its FATAL error, then closes.
      await waitFor(async () => pid !== 0 && (await a`select 1 from pg_stat_activity where pid = ${pid} and query like '%pg_sleep%'`).length === 1);
      await a`select pg_terminate_backend(${pid})`;
      await expect(killed).rejects.toThrow();
      await one.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values ('after-fatal')`);
      });
      expect(await keys()).toContain("after-fatal");
    } finally {
      await a.end();
    }
  });

  it("a statement queued in the turn its connection closes leaves that connection usable", async () => {
    // postgres.js queues a small write for the next turn of the event loop (setImmediate). A statement issued from a
    // setImmediate callback, in the turn whose close phase then sees the socket close, has its write still queued
    // when the close comes. postgres.js itself here (with a socket factory, so the test holds the socket it closes).
    const { hostname, port } = new URL(database.url);
    let current: Socket | undefined;
    // `socket` is a documented option of postgres.js that its type declarations leave out.
    const options = {
      max: 1,
      onnotice: () => {},
      socket: () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(Number(port || 5432), hostname, () => resolve(s)).once("error", reject);
          current = s;
        }),
    };
    const client = postgres(database.url, options as Parameters<typeof postgres>[1]);
    try {
      await expect(
        client.begin(async (tx) => {
          await tx`insert into t values ('cut-1')`;
          await new Promise<void>((resolve) =>
            setImmediate(() => {
              tx`insert into t values ('cut-2')`.catch(() => {});
              current?.destroy();
              resolve();
            }),
          );
        }),
      ).rejects.toThrow();
      // The same connection object, connected again, runs the next transaction.
      await client.begin(async (tx) => {
        await tx`insert into t values ('after-cut')`;
      });
      const all = await keys();
      expect(all).toContain("after-cut");
      expect(all.filter((k) => k.startsWith("cut-"))).toEqual([]);
    } finally {
      await client.end({ timeout: 1 });
    }
  });

  it("work of a transaction whose connection closed goes nowhere: not into the next transaction, nor its commit", async () => {
    const one = await onePool();
    const a = admin();
    try {
      let pid = 0;
      let goOn!: () => void;
      const gate = new Promise<void>((resolve) => (goOn = resolve));
      // A: killed between two statements; its callback carries on afterwards (begin() has rejected, the callback
      // does not know), and would end with an automatic COMMIT.
      let aReturned!: () => void;
      const returned = new Promise<void>((resolve) => (aReturned = resolve));
      const first = one.db.transaction(async (tx) => {
        pid = (await queryRows<{ pid: number }>(tx, sql`select pg_backend_pid() as pid`))[0]?.pid ?? 0;
        await tx.execute(sql`insert into t values ('a-1')`);
        await gate;
        await tx.execute(sql`insert into t values ('a-2')`).catch(() => {});
        aReturned();
      });
      const firstDone = first.then(
        () => "committed",
        () => "failed",
      );
      await waitFor(async () => pid !== 0 && (await a`select 1 from pg_stat_activity where pid = ${pid} and state = 'idle in transaction'`).length === 1);
      // B waits for the only connection; it gets it once A's is closed and connected again.
      let bBegan!: () => void;
      const began = new Promise<void>((resolve) => (bBegan = resolve));
      let bGoOn!: () => void;
      const bGate = new Promise<void>((resolve) => (bGoOn = resolve));
      const second = one.db.transaction(async (tx) => {
        await tx.execute(sql`insert into t values ('b-1')`);
        bBegan();
        await bGate;
        await tx.execute(sql`insert into t values ('b-2')`);
      });
      await a`select pg_terminate_backend(${pid})`;
      expect(await firstDone).toBe("failed");
      await began;
      // A's callback goes on while B's transaction is open on the same connection object.
      goOn();
      // Once the callback has returned, its automatic COMMIT (or ROLLBACK) is issued within the same run of
      // microtasks: by the next turn of the event loop it has been sent, if it was going to be.
      await returned;
      await new Promise((r) => setImmediate(r));
      bGoOn();
      await second;
      const all = await keys();
      expect(all).toEqual(expect.arrayContaining(["b-1", "b-2"]));
      expect(all.filter((k) => k.startsWith("a-"))).toEqual([]);
    } finally {
      await a.end();
    }
  });
});
