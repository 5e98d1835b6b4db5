/** The first guess at a report's category and urgency, from the words residents actually use. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { classify } from "../src/workflows/category.js";
import { policyFor } from "../src/workflows/policy.js";

const REPORTS = readFileSync(fileURLToPath(new URL("./fixtures/chat/reports.tsv", import.meta.url)), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.startsWith("#"))
  .map((l) => l.split("\t") as [string, string, string]);

describe("a table of realistic reports", () => {
  it("has at least 100", () => expect(REPORTS.length).toBeGreaterThanOrEqual(100));
  it.each(REPORTS)("%s → %s, urgent %s", (text, category, urgent) => {
    expect(classify(text)).toEqual({ category, urgent: urgent === "1" });
  });
});

describe("a town's own category table (settings.categories)", () => {
  it("replaces the default, in its order, with its own urgent words", () => {
    const policy = policyFor({
      categories: [
        { name: "人饮工程", words: ["水泵", "水井", "自来水"] },
        { name: "村道养护", words: ["水泥路", "路面"], urgentWords: ["塌…坑"] },
      ],
    });
    expect(classify("水泵不抽水了", policy.categories)).toEqual({ category: "人饮工程", urgent: false });
    expect(classify("路面塌了一个坑", policy.categories)).toEqual({ category: "村道养护", urgent: true });
    expect(classify("路灯坏了", policy.categories).category).toBe("其他");
    // Without a table the default applies.
    expect(classify("水泵不抽水了", policyFor({}).categories).category).toBe("供水");
  });
});

describe("classify", () => {
  it.each([
    ["村口路灯坏了", "基础设施"],
    ["楼道灯不亮，晚上看不见", "基础设施"],
    ["水沟堵了，下雨就漫到路上", "基础设施"],
    ["下水道反水", "基础设施"],
    ["电梯又停了", "基础设施"],
    ["垃圾桶满了没人清", "环境卫生"],
    ["邻居装修噪音太大", "环境卫生"],
    ["井盖松动有隐患", "安全隐患"],
    ["两家为宅基地边界吵架", "矛盾纠纷"],
    ["山塘放水灌溉", "农业水利"],
    ["想问低保怎么申请", "民生服务"],
    ["谢谢大家", "其他"],
  ])("%s → %s", (text, category) => {
    expect(classify(text).category).toBe(category);
  });

  it("urgent by its words, not by its category", () => {
    expect(classify("厨房着火了，紧急！").urgent).toBe(true);
    expect(classify("路灯坏了").urgent).toBe(false);
  });
});
