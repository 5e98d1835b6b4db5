/**
 * PostgreSQL restarted behind PgBouncer (the soak's fault with SOAK_POOLER=pgbouncer). While the pooler cannot log in
 * to the server it refuses client logins with a FATAL `server_login_retry`; postgres.js met that around a new
 * connection's array-types query and left the failure as an unhandled rejection, which ends a Node process: both soak
 * bots died at the restart and answered nothing for the two minutes until one was restarted. Here a private
 * PostgreSQL behind PgBouncer is restarted under a steady stream of queries and transactions: queries sent meanwhile
 * fail or wait, nothing is left unhandled, and every connection answers again once the server is back.
 * Fixed in patches/postgres+3.4.9.patch (upstream porsager/postgres#1192, #1205, #1223).
 */
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { PgServer, scratchDir, stopAll } from "../bench/soak/services.js";
import { PgBouncer } from "./helpers/pgbouncer.js";

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
  await stopAll();
});

describe("PostgreSQL restarted behind PgBouncer", () => {
  it("no unhandled rejection while the pooler refuses logins, and every connection answers once the server is back", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    cleanup.push(async () => void process.off("unhandledRejection", onUnhandled));

    const pg = await PgServer.start(scratchDir("haolin-pooler-outage-"));
    const bouncer = await PgBouncer.start({ server: pg.url(), poolSize: 2 });
    cleanup.push(() => bouncer.stop());
    // As the bot opens it behind a transaction pooler (src/db/client.ts; max_pipeline is missing from the typings).
    const pooled = { prepare: false, max_pipeline: 0 };
    const sql = postgres(bouncer.url("postgres"), { max: 6, onnotice: () => {}, ...pooled });
    cleanup.push(() => sql.end({ timeout: 1 }));

    let stop = false;
    let failed = 0;
    const worker = async (w: number) => {
      while (!stop) {
        try {
          if (w % 2) await sql.begin(async (tx) => [await tx`select ${w}::int as n`, await tx`select 1`]);
          else await sql`select ${w}::int as n`;
        } catch {
          failed++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const workers = Array.from({ length: 10 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 1000));
    await pg.restart(2000);
    // The pooler retries the server login every server_login_retry (15 s by default); wait for the first answer.
    let answer: number | undefined;
    for (let i = 0; i < 120 && answer === undefined; i++) {
      const [row] = await sql`select 41 + 1 as n`.catch(() => [undefined]);
      answer = row?.n as number | undefined;
      if (answer === undefined) await new Promise((r) => setTimeout(r, 500));
    }
    stop = true;
    await Promise.all(workers);
    expect(answer).toBe(42);
    expect(failed).toBeGreaterThan(0); // the restart did reach the clients
    // Every connection of the pool answers (none carries the outage's error into its next query).
    const all = await Promise.all(Array.from({ length: 12 }, (_, i) => sql`select ${i}::int as n, pg_sleep(0.05)`));
    expect(all.map(([r]) => r?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    await new Promise((r) => setTimeout(r, 200));
    expect(unhandled).toEqual([]);
  }, 120_000);
});
