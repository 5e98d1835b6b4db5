/** The first guess at a report's category and urgency, from the words residents actually use. */
import { describe, expect, it } from "vitest";
import { classify } from "../src/workflows/category.js";

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
