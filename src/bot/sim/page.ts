/** The simulator's page, read once (the CSP carries the hash of its inline script). */
import { readFileSync } from "node:fs";

export const SIM_PAGE = readFileSync(new URL("./public/index.html", import.meta.url), "utf8");
