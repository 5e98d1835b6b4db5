import { customType } from "drizzle-orm/pg-core";

/** bytea as a Buffer on both drivers (postgres.js gives a Buffer, PGlite a Uint8Array). */
export const bytes = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => "bytea",
  fromDriver: (v) => (Buffer.isBuffer(v) ? v : Buffer.from(v)),
  toDriver: (v) => v,
});
