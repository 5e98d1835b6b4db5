/** What every workflow step runs with: a transaction, the time, the after-commit effects and deployment overrides. */
import type { Db } from "../db/client.js";
import type { DirectoryCache } from "./directory-cache.js";
import type { Effects } from "./effects.js";
import type { PolicyOverrides } from "./policy.js";

export type Ctx = {
  db: Db;
  now: Date;
  effects: Effects;
  overrides: PolicyOverrides;
  /** Whether a person can be messaged privately on this deployment; assumed yes when not given. */
  canReachPrivately?: (personId: string) => Promise<boolean>;
  /** The process's directory cache, checked against the directory version at the start of this batch. */
  directory?: DirectoryCache;
};
