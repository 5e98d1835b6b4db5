/** pino, JSON lines. Logs carry ids and lengths, never message text or personal data. */
import { pino } from "pino";

export function createLogger(level: string) {
  return pino({
    level,
    base: { service: "haolin" },
    redact: { paths: ["*.text", "*.phone", "*.address", "*.webhookUrl", "*.secret", "*.token"], censor: "[redacted]" },
  });
}
