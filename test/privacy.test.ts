/**
 * The privacy rule as a table (the README's table): what is masked in a group, what stays readable. Masked rows are
 * judged by the independent oracle (test/helpers/personal-oracle.ts), readable rows by the text itself.
 */
import { describe, expect, it } from "vitest";
import { forGroup, GROUP_CUTS, guardGroupMessage, maskPersonal } from "../src/lib/privacy.js";
import { policyFor } from "../src/workflows/policy.js";
import { leaks, personalIn, type Secret } from "./helpers/personal-oracle.js";

const n = (value: string): Secret => ({ kind: "number", value });
const w = (value: string): Secret => ({ kind: "word", value });

/** [typed, what must not come out, what the group reads] */
const MASKED: [string, Secret[], string][] = [
  ["电话13812345678", [n("13812345678")], "电话【手机号】"],
  ["电话 138 1234 5678", [n("13812345678")], "电话 【手机号】"],
  ["138-1234-5678", [n("13812345678")], "【手机号】"],
  ["138.1234.5678", [n("13812345678")], "【手机号】"],
  ["+86 138 1234 5678", [n("13812345678")], "【手机号】"],
  ["86-13812345678", [n("13812345678")], "【手机号】"],
  ["（138）1234-5678", [n("13812345678")], "【手机号】"],
  ["联系１３８１２３４５６７８", [n("13812345678")], "联系【手机号】"],
  ["座机(0571)88886666", [n("057188886666")], "座机【电话】"],
  ["0571-88886666", [n("057188886666")], "【电话】"],
  ["打88886666找我", [n("88886666")], "打【电话】找我"],
  ["身份证330102199001011234", [n("330102199001011234")], "身份证【证件号】"],
  ["33010219900101123X", [n("33010219900101123X")], "【证件号】"],
  ["老身份证330102900101123", [n("330102900101123")], "老身份证【证件号】"],
  ["卡号6222 0212 3456 7890 123", [n("6222021234567890123")], "卡号【银行卡号】"],
  ["邮箱 wang.fang@example.com", [w("wang.fang@")], "邮箱 【邮箱】"],
  ["微信号 wxid_abc123", [w("wxid_abc123")], "微信号 【微信号】"],
  ["加我微信：fangfang88", [w("fangfang88")], "加我微信：【微信号】"],
  ["QQ 123456789", [n("123456789")], "QQ 【QQ号】"],
  ["住18栋", [w("18栋")], "住【门牌】"],
  ["18栋2单元301室", [w("301室"), w("2单元301")], "【门牌】"],
  ["5号楼2单元301漏水", [w("单元301")], "【门牌】漏水"],
  ["3-2-301", [w("3-2-301")], "【门牌】"],
  ["幸福路88号", [w("88号")], "幸福路【门牌】"],
  ["幸福路八十八号", [w("八十八号")], "幸福路【门牌】"],
  ["东村12号的王大爷", [w("12号")], "东村【门牌】的王大爷"],
  ["门牌号25", [w("25")], "门牌号【门牌】"],
  ["家里是留守儿童", [w("留守儿童")], "家里是【已隐去】"],
  ["精神病人在闹", [w("精神病")], "【已隐去】在闹"],
  ["空巢老人没人管", [w("空巢")], "【已隐去】没人管"],
];

/** Public places and things, dates, times, ticket numbers and money: as written. */
const READABLE = [
  "3号桥栏杆松了",
  "5号楼楼道灯不亮",
  "5号楼2单元楼道灯不亮",
  "二组水渠堵了",
  "村道12号路灯杆歪了",
  "2026年3月5日 18:30 开会",
  "2026-03-05",
  "见 #12",
  "补贴1200元",
  "¥3500",
  "100000元的工程款",
  "住院3天",
];

describe("the privacy rule, row by row", () => {
  it.each(MASKED)("%s is masked", (typed, secrets, shown) => {
    const out = forGroup(typed, GROUP_CUTS.words);
    expect(out).toBe(shown);
    expect(leaks(out, secrets)).toEqual([]);
    expect(personalIn(out)).toEqual([]);
    // The oracle does see the original: it can fail.
    expect(leaks(typed, secrets)).not.toEqual([]);
  });

  it.each(READABLE)("%s stays readable", (typed) => {
    expect(forGroup(typed, GROUP_CUTS.words)).toBe(typed);
    expect(maskPersonal(typed)).toBe(typed);
  });
});

describe("forGroup", () => {
  it("masks before it cuts: a number crossing the cut leaves no digits behind (the 9-of-11 leak)", () => {
    const text = "路灯坏了很久了一直没人修理，电话13812345678";
    for (let cut = 1; cut <= text.length; cut++) {
      const out = forGroup(text, cut);
      expect(leaks(out, [n("13812345678")]), out).toEqual([]);
      expect(out).not.toMatch(/【[^】]*…$|【[^】]*$/); // never half a label
    }
    const id = "身份证号330102199001011234家里漏水";
    for (let cut = 1; cut <= id.length; cut++) expect(leaks(forGroup(id, cut), [n("330102199001011234")])).toEqual([]);
  });

  it("makes markdown and links inert: a resident's link does not render in the bot's voice", () => {
    const out = forGroup("[点此领取补贴](http://evil.example/x) **急** <font color=red>红</font> `code`", GROUP_CUTS.words);
    expect(out).toBe("［点此领取补贴］（http：//evil.example/x） ＊＊急＊＊ ＜font color=red＞红＜/font＞ ｀code｀");
    expect(out).not.toMatch(/[[\]()*<>`]/);
  });

  it("a town's own words are masked too (settings.sensitiveTags and the visit rules' specialTags)", () => {
    const policy = policyFor({ sensitiveTags: ["退役军人"], visits: { specialTags: ["重点户"] } });
    expect(policy.sensitiveTags).toEqual(["退役军人", "重点户"]);
    const out = forGroup("退役军人老张家，重点户", GROUP_CUTS.words, policy.sensitiveTags);
    expect(out).toBe("【已隐去】老张家，【已隐去】");
    expect(forGroup("退役军人老张家", GROUP_CUTS.words)).toBe("退役军人老张家");
  });

  it("folds whitespace and marks a cut with …", () => {
    expect(forGroup("  屋顶\n漏水   很久  ", 30)).toBe("屋顶 漏水 很久");
    expect(forGroup("一二三四五六七八九十", 4)).toBe("一二三四…");
  });
});

describe("guardGroupMessage (the net under the renderers)", () => {
  it("masks what a renderer forgot, and leaves the bot's own words and markdown alone", () => {
    expect(guardGroupMessage("事项：电话13812345678")).toBe("事项：电话【手机号】");
    const digest = "**东村一组 · 周报（2月27日—3月5日）**\n- 响应率 33%（1/3）\n- #12 基础设施 · 邻级 · 已 8小时 · 王邻长";
    expect(guardGroupMessage(digest)).toBe(digest);
  });
});
