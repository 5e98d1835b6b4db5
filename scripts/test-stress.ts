/**
 * test:stress (`npm run test:stress`) — the whole suite N times in a row while a CPU hog keeps every core busy, to
 * show that no test depends on the machine being idle. Prints, per test file, how many runs passed and failed, and
 * each failing test with the first line of its error. Exit code 0 only when every run of every file passed.
 *
 *   npm run test:stress                      # 5 loaded runs of the whole suite
 *   STRESS_RUNS=10 npm run test:stress       # more runs
 *   STRESS_HOGS=0 npm run test:stress        # no hog (the baseline)
 *   npm run test:stress -- test/wecom.test.ts test/escalation.test.ts   # only these files
 *
 * The environment is passed through (DATABASE_URL / REDIS_URL as for `npm test`). The hog is one busy-looping
 * child process per core, started here and stopped at the end, on error and on Ctrl-C. Stopped early (Ctrl-C, or
 * SIGTERM from `timeout`), it still reports the runs that finished, as `STRESS INTERRUPTED: k of N runs finished`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";

const RUNS = Number(process.env.STRESS_RUNS ?? 5);
const HOGS = Number(process.env.STRESS_HOGS ?? availableParallelism());
const files = process.argv.slice(2).filter((a) => a !== "--");
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("STRESS_RUNS must be a whole number ≥ 1");
if (!Number.isInteger(HOGS) || HOGS < 0) throw new Error("STRESS_HOGS must be a whole number ≥ 0");

const root = path.resolve(import.meta.dirname, "..");
const out = mkdtempSync(path.join(tmpdir(), "haolin-stress-"));

const hogs: ChildProcess[] = [];
function startHogs(): void {
  for (let i = 0; i < HOGS; i++) hogs.push(spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" }));
}
function stopHogs(): void {
  for (const h of hogs.splice(0)) if (h.exitCode === null && h.signalCode === null) h.kill("SIGKILL");
}
let vitest: ChildProcess | null = null;
function cleanup(): void {
  stopHogs();
  if (vitest && vitest.exitCode === null) vitest.kill("SIGTERM");
  rmSync(out, { recursive: true, force: true });
}
// Stopped before the end (Ctrl-C, a time limit): the runs that finished are still reported, marked as such.
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => {
    stopHogs();
    if (vitest && vitest.exitCode === null) vitest.kill("SIGTERM");
    summary(true);
    cleanup();
    process.exit(130);
  });

type JsonReport = {
  testResults: {
    name: string;
    status: string;
    message?: string;
    startTime?: number;
    endTime?: number;
    assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
  }[];
};

function runSuite(i: number): Promise<{ report: JsonReport | null; seconds: number; code: number | null }> {
  const file = path.join(out, `run-${i}.json`);
  const started = Date.now();
  return new Promise((resolve) => {
    vitest = spawn(process.execPath, [path.join(root, "node_modules/vitest/vitest.mjs"), "run", "--reporter=json", `--outputFile=${file}`, ...files], {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: process.env,
    });
    vitest.on("exit", (code) => {
      let report: JsonReport | null = null;
      try {
        report = JSON.parse(readFileSync(file, "utf8")) as JsonReport;
      } catch {
        // no report: counted as a failed run below
      }
      resolve({ report, seconds: Math.round((Date.now() - started) / 1000), code });
    });
  });
}

// Per file: runs passed and failed, tests that did not run in a run that reported the file (a hook that failed or
// timed out skips its tests; no test in the suite is skipped on purpose), and the longest the file took.
const perFile = new Map<string, { pass: number; fail: number; skipped: number; maxSeconds: number }>();
const failures: string[] = [];
let badRuns = 0;
let finishedRuns = 0;

const firstLine = (s: string) => s.split("\n").find((l) => l.trim())?.trim().slice(0, 200) ?? "";

async function main() {
  console.log(`test:stress — ${RUNS} runs of ${files.length ? files.join(" ") : "the whole suite"} with ${HOGS} CPU hog(s) on ${availableParallelism()} core(s)`);
  startHogs();
  try {
    for (let i = 1; i <= RUNS; i++) {
      const { report, seconds, code } = await runSuite(i);
      if (!report) {
        badRuns++;
        finishedRuns = i;
        failures.push(`run ${i}: vitest exited ${code} without a report`);
        console.log(`run ${i}/${RUNS}: no report (exit ${code}), ${seconds} s`);
        continue;
      }
      let failed = 0;
      for (const f of report.testResults) {
        const name = path.relative(root, f.name);
        const t = perFile.get(name) ?? { pass: 0, fail: 0, skipped: 0, maxSeconds: 0 };
        t.skipped += f.assertionResults.filter((a) => a.status !== "passed" && a.status !== "failed").length;
        if (f.startTime && f.endTime) t.maxSeconds = Math.max(t.maxSeconds, Math.round((f.endTime - f.startTime) / 1000));
        if (f.status === "passed") t.pass++;
        else {
          t.fail++;
          failed++;
          const bad = f.assertionResults.filter((a) => a.status === "failed");
          if (bad.length === 0) failures.push(`run ${i}: ${name}: ${firstLine(f.message ?? "failed")}`);
          for (const a of bad) failures.push(`run ${i}: ${name} › ${a.fullName}: ${firstLine(a.failureMessages.join("\n"))}`);
        }
        perFile.set(name, t);
      }
      if (failed) badRuns++;
      finishedRuns = i;
      console.log(`run ${i}/${RUNS}: ${report.testResults.length - failed}/${report.testResults.length} files passed, ${seconds} s`);
      // This run's failures at once: a long stress run shows what it found while it goes on.
      for (const f of failures.filter((x) => x.startsWith(`run ${i}: `))) console.log(`  ${f}`);
    }
  } finally {
    stopHogs();
  }
  summary(false);
  cleanup();
  process.exit(badRuns === 0 ? 0 : 1);
}

function summary(interrupted: boolean): void {
  const width = Math.max(...[...perFile.keys()].map((k) => k.length), 4);
  console.log(`\n${"file".padEnd(width)}  passed  failed  skipped  longest`);
  for (const [name, t] of [...perFile.entries()].sort((a, b) => b[1].fail - a[1].fail || b[1].skipped - a[1].skipped || a[0].localeCompare(b[0])))
    console.log(
      `${name.padEnd(width)}  ${String(t.pass).padStart(6)}  ${String(t.fail).padStart(6)}  ${String(t.skipped).padStart(7)}  ${String(t.maxSeconds).padStart(5)} s`,
    );
  if (failures.length) console.log(`\nFailures:\n${failures.map((f) => `  ${f}`).join("\n")}`);
  const totalFails = [...perFile.values()].reduce((n, t) => n + t.fail, 0);
  const totalSkipped = [...perFile.values()].reduce((n, t) => n + t.skipped, 0);
  const verdict = interrupted ? "INTERRUPTED" : badRuns === 0 ? "PASS" : "FAIL";
  const of = interrupted ? `${finishedRuns} of ${RUNS} runs finished, ` : "";
  console.log(
    `\nSTRESS ${verdict}: ${of}${finishedRuns - badRuns}/${finishedRuns} runs green, ${totalFails} file failures, ${totalSkipped} tests not run, ${HOGS} hog(s)`,
  );
}

main().catch((err) => {
  console.error(err);
  cleanup();
  process.exit(1);
});
