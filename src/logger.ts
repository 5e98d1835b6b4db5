/** pino, JSON lines. Logs carry ids and lengths, never message text or personal data. */
import { pino } from "pino";

export function createLogger(level: string, format: "json" | "pretty" = "json") {
  return pino({
    level,
    // In-process pretty printing rather than `| pino-pretty`: a pipe would put a shell between npm and node, and
    // SIGTERM to `npm run dev` would then stop only the shell.
    ...(format === "pretty" ? { transport: { target: "pino-pretty" } } : {}),
    base: { service: "haolin" },
    redact: { paths: ["*.text", "*.phone", "*.address", "*.webhookUrl", "*.secret", "*.token"], censor: "[redacted]" },
  });
}
