/**
 * `npm run directory:export -- <file.xlsx>`: writes the whole directory as an Excel workbook (sheets 单位, 人员,
 * 住户, 群, 设置) that `npm run import -- <file.xlsx>` reads back. On an empty database it is the empty template.
 */
import { exportDirectory } from "../db/directory/xlsx-export.js";
import { EnvError, loadEnv } from "../env.js";
import { runCli, withDatabase } from "./run.js";

async function main(args: string[]): Promise<number> {
  const [file, ...extra] = args;
  if (!file || extra.length > 0 || !/\.xlsx$/i.test(file)) {
    console.error("用法：npm run directory:export -- <目录文件.xlsx>");
    return 2;
  }
  loadEnv();
  return withDatabase(async (db) => {
    const counts = await exportDirectory(db, file);
    const summary = Object.entries(counts)
      .map(([sheet, rows]) => `${sheet} ${rows}`)
      .join("，");
    console.log(`已导出到 ${file}：${summary}`);
    return 0;
  });
}

runCli(
  () => main(process.argv.slice(2)),
  (err) => (err instanceof EnvError ? err.message : null),
);
