import { describe, expect, it } from "vitest";
import { type CommandIntent, type Intent, USAGE, parseCommand } from "../src/bot/parse.js";

type Expected = { intent: Intent; ticket: number | null; body: string | null; satisfied?: boolean };
type Case = [input: string, expected: Expected];

const cmd = (intent: Intent, ticket: number | null = null, body: string | null = null): Expected => ({
  intent,
  ticket,
  body,
});
const rate = (satisfied: boolean, ticket: number, body: string | null = null): Expected => ({
  intent: "rate",
  ticket,
  body,
  satisfied,
});
const NONE = cmd("none");

/** Valid commands and chat: the whole result must match (and carry no hint). */
function table(cases: Case[]): void {
  it.each(cases)("%j", (input, expected) => {
    expect(parseCommand(input)).toEqual(expected);
  });
}

/** Recognisable commands with a missing or malformed argument. */
function invalidTable(inputs: string[]): void {
  it.each(inputs)("%j → invalid with hint", (input) => {
    const parsed = parseCommand(input);
    expect(parsed).toMatchObject({ intent: "invalid", ticket: null, body: null });
    expect(parsed.hint).toBeTruthy();
    expect(parsed.hint).toMatch(/^.*用法：.*例如：/u);
  });
}

describe("command words (simplified and traditional)", () => {
  table([
    ["报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["報事 路燈壞了", cmd("report", null, "路燈壞了")],
    ["反映 噪音扰民", cmd("report", null, "噪音扰民")],
    ["求助 老人摔倒", cmd("report", null, "老人摔倒")],
    ["报修 水管漏水", cmd("report", null, "水管漏水")],
    ["報修 水管漏水", cmd("report", null, "水管漏水")],
    ["投诉 垃圾没人清", cmd("report", null, "垃圾没人清")],
    ["投訴 垃圾沒人清", cmd("report", null, "垃圾沒人清")],
    ["上报问题 井盖丢了", cmd("report", null, "井盖丢了")],
    ["上報問題 井蓋丟了", cmd("report", null, "井蓋丟了")],
    ["走访 5栋302王阿姨 身体良好", cmd("visit", null, "5栋302王阿姨 身体良好")],
    ["走訪 李大爺 一切正常", cmd("visit", null, "李大爺 一切正常")],
    ["进度 #12", cmd("status", 12)],
    ["進度 #12", cmd("status", 12)],
    ["查询 #12", cmd("status", 12)],
    ["查詢 #12", cmd("status", 12)],
    ["查看 #12", cmd("status", 12)],
    ["认领 #12", cmd("claim", 12)],
    ["認領 #12", cmd("claim", 12)],
    ["签收 #12", cmd("claim", 12)],
    ["簽收 #12", cmd("claim", 12)],
    ["接单 #12", cmd("claim", 12)],
    ["接單 #12", cmd("claim", 12)],
    ["回复 #12 师傅下午上门", cmd("reply", 12, "师傅下午上门")],
    ["回覆 #12 師傅下午上門", cmd("reply", 12, "師傅下午上門")],
    ["回復 #12 已联系", cmd("reply", 12, "已联系")],
    ["答复 #12 已联系", cmd("reply", 12, "已联系")],
    ["答覆 #12 已聯繫", cmd("reply", 12, "已聯繫")],
    ["跟进 #12 明天复查", cmd("reply", 12, "明天复查")],
    ["跟進 #12 明天複查", cmd("reply", 12, "明天複查")],
    ["办结 #12 路灯已修好", cmd("resolve", 12, "路灯已修好")],
    ["辦結 #12 路燈已修好", cmd("resolve", 12, "路燈已修好")],
    ["解决 #12 已疏通", cmd("resolve", 12, "已疏通")],
    ["解決 #12 已疏通", cmd("resolve", 12, "已疏通")],
    ["完成 #12 已清运", cmd("resolve", 12, "已清运")],
    ["已办结 #12 已更换灯泡", cmd("resolve", 12, "已更换灯泡")],
    ["已辦結 #12 已更換燈泡", cmd("resolve", 12, "已更換燈泡")],
    ["上报 #12 需要街道协调", cmd("escalate", 12, "需要街道协调")],
    ["上報 #12 需要街道協調", cmd("escalate", 12, "需要街道協調")],
    ["满意 #3", rate(true, 3)],
    ["滿意 #3", rate(true, 3)],
    ["不满意 #3", rate(false, 3)],
    ["不滿意 #3 還是壞的", rate(false, 3, "還是壞的")],
    ["待办", cmd("todo")],
    ["待辦", cmd("todo")],
    ["我的工单", cmd("todo")],
    ["我的工單", cmd("todo")],
    ["周报", cmd("digest")],
    ["週報", cmd("digest")],
    ["本周统计", cmd("digest")],
    ["本週統計", cmd("digest")],
    ["帮助", cmd("help")],
    ["幫助", cmd("help")],
    ["菜单", cmd("help")],
    ["選單", cmd("help")],
    ["help", cmd("help")],
    ["HELP", cmd("help")],
    ["Help", cmd("help")],
    ["?", cmd("help")],
    ["？", cmd("help")],
  ]);
});

describe("ticket formats", () => {
  table([
    ["认领 #12", cmd("claim", 12)],
    ["认领 ＃12", cmd("claim", 12)],
    ["认领 12", cmd("claim", 12)],
    ["认领 12号", cmd("claim", 12)],
    ["认领 12號", cmd("claim", 12)],
    ["认领 第12号", cmd("claim", 12)],
    ["认领 #0012", cmd("claim", 12)],
    ["认领 工单12", cmd("claim", 12)],
    ["认领 工單12", cmd("claim", 12)],
    ["认领 单号12", cmd("claim", 12)],
    ["认领 工单#12", cmd("claim", 12)],
    ["认领 单号：12", cmd("claim", 12)],
    ["认领 ＃１２", cmd("claim", 12)],
    ["认领 １２", cmd("claim", 12)],
    ["认领 #2147483647", cmd("claim", 2147483647)],
    ["认领#12", cmd("claim", 12)],
    ["认领12", cmd("claim", 12)],
    ["认领工单12", cmd("claim", 12)],
    // Only the first ticket-shaped token is the ticket; later numbers stay in the body.
    ["回复 #12 #13 也一起处理", cmd("reply", 12, "#13 也一起处理")],
    ["办结 12 更换了3个灯泡", cmd("resolve", 12, "更换了3个灯泡")],
    ["办结#12已修好", cmd("resolve", 12, "已修好")],
    ["认领 #12 我来处理", cmd("claim", 12, "我来处理")],
  ]);
  invalidTable(["认领 #0", "认领 0", "认领 #000", "认领 2147483648", "认领 #99999999999999999999", "进度 #", "认领 #-1"]);
});

describe("bot mentions", () => {
  table([
    ["@好邻 报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["@好邻\u2005报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["@好邻\n报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["@好邻报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["＠好邻 认领 #12", cmd("claim", 12)],
    ["报事 路灯坏了 @好邻", cmd("report", null, "路灯坏了")],
    ["认领 #12 @好邻\u2005", cmd("claim", 12)],
    ["@好邻 @好邻 待办", cmd("todo")],
    ["@好邻", cmd("help")],
    ["＠好邻\u2005", cmd("help")],
    ["  @好邻  ", cmd("help")],
    ["@张三 报事 路灯坏了", NONE],
    ["@张三", NONE],
    ["@好邻居 报事 路灯坏了", NONE],
    ["@好邻：报事 路灯坏了", NONE],
    ["@张三 @好邻 报事 路灯坏了", NONE],
    ["报事 请 @张三 看看", cmd("report", null, "请 @张三 看看")],
    ["报事 路灯坏了 @张三", cmd("report", null, "路灯坏了 @张三")],
  ]);

  it("uses the configured bot names instead of the default", () => {
    const options = { botNames: ["社区助手", "Haolin"] };
    expect(parseCommand("@社区助手 待办", options)).toEqual(cmd("todo"));
    expect(parseCommand("@haolin 认领 #5", options)).toEqual(cmd("claim", 5));
    expect(parseCommand("@社区助手", options)).toEqual(cmd("help"));
    expect(parseCommand("@好邻 待办", options)).toEqual(NONE);
  });
});

describe("brackets and separators", () => {
  table([
    ["【报事】路灯坏了", cmd("report", null, "路灯坏了")],
    ["[认领] #12", cmd("claim", 12)],
    ["【认领】12", cmd("claim", 12)],
    ["【办结】#12 已修好", cmd("resolve", 12, "已修好")],
    ["[help]", cmd("help")],
    ["【待办】", cmd("todo")],
    ["[图片] 报事 路灯坏了", NONE],
    ["报事\u3000路灯坏了", cmd("report", null, "路灯坏了")],
    ["报事：路灯坏了", cmd("report", null, "路灯坏了")],
    ["报事:路灯坏了", cmd("report", null, "路灯坏了")],
    ["回复，#12，已联系", cmd("reply", 12, "已联系")],
    ["回复,#12,已联系", cmd("reply", 12, "已联系")],
    ["办结、#12、已修好", cmd("resolve", 12, "已修好")],
    ["办结；#12；已修好", cmd("resolve", 12, "已修好")],
    ["办结;#12;已修好", cmd("resolve", 12, "已修好")],
    ["报事！路灯坏了！", cmd("report", null, "路灯坏了！")],
    ["报事!路灯坏了", cmd("report", null, "路灯坏了")],
    ["认领\n#12", cmd("claim", 12)],
  ]);
});

describe("glued words and trailing text", () => {
  table([
    ["报事路灯坏了", cmd("report", null, "路灯坏了")],
    ["走访李大爷一切正常", cmd("visit", null, "李大爷一切正常")],
    ["上报路灯坏了", cmd("report", null, "路灯坏了")],
    ["进度很快啊", NONE],
    ["完成了吗大家", NONE],
    ["查看一下大家的意见", NONE],
    ["解决了", NONE],
    ["满意了", NONE],
    ["不满意这个结果", NONE],
    ["接单员在哪", NONE],
    ["认领12栋的那个", NONE],
    ["待办？", cmd("todo")],
    ["待办 ", cmd("todo")],
    ["周报。", cmd("digest")],
    ["帮助！！", cmd("help")],
    ["??", cmd("help")],
    ["帮助一下我", NONE],
    ["菜单呢", NONE],
    ["helpful tips", NONE],
    ["help me", NONE],
    ["待办事项太多了", NONE],
  ]);
});

describe("longest match first", () => {
  table([
    ["上报问题 楼道堆物", cmd("report", null, "楼道堆物")],
    ["不满意 #7 灯还是不亮", rate(false, 7, "灯还是不亮")],
    ["满意 #7", rate(true, 7)],
    ["已办结 #7 处理完毕", cmd("resolve", 7, "处理完毕")],
    ["我的工单？", cmd("todo")],
    ["本周统计", cmd("digest")],
  ]);
});

describe("上报: escalate a ticket or report a new issue", () => {
  table([
    ["上报 #12 物业三天未处理", cmd("escalate", 12, "物业三天未处理")],
    ["上报 12 物业未处理", cmd("escalate", 12, "物业未处理")],
    ["上报 12号楼漏水", cmd("report", null, "12号楼漏水")],
    ["上报 3栋电梯坏了", cmd("report", null, "3栋电梯坏了")],
  ]);
  invalidTable(["上报", "上报 #12", "上报12", "上報 ", "上报 #0 原因"]);
});

describe("rate", () => {
  table([
    ["满意 #3", rate(true, 3)],
    ["满意#3", rate(true, 3)],
    ["不满意 #3", rate(false, 3)],
    ["不满意 #3 还是坏的", rate(false, 3, "还是坏的")],
    ["不满意 3号 态度不好", rate(false, 3, "态度不好")],
  ]);
  invalidTable(["满意", "不满意", "满意 很好", "不满意 太慢了"]);
});

describe("verbatim bodies", () => {
  table([
    ["报事 3栋  楼道灯   坏了", cmd("report", null, "3栋  楼道灯   坏了")],
    ["报事 第一行\n第二行\n  第三行  ", cmd("report", null, "第一行\n第二行\n  第三行")],
    ["报事 路灯坏了💡😢", cmd("report", null, "路灯坏了💡😢")],
    ["回复 #12 好的👌 马上到\n请稍等", cmd("reply", 12, "好的👌 马上到\n请稍等")],
    ["报事：\n  路灯坏了", cmd("report", null, "路灯坏了")],
    ["办结 #12  已修好，费用50元 ", cmd("resolve", 12, "已修好，费用50元")],
    ["走访 张阿姨 说：“一切都好！”", cmd("visit", null, "张阿姨 说：“一切都好！”")],
  ]);
});

describe("house numbers in report and visit are not tickets", () => {
  table([
    ["报事 12号楼道灯坏了", cmd("report", null, "12号楼道灯坏了")],
    ["报事 #12 路灯坏了", cmd("report", null, "#12 路灯坏了")],
    ["报事12号 路灯坏了", cmd("report", null, "12号 路灯坏了")],
    ["走访 12号 王阿姨 身体不错", cmd("visit", null, "12号 王阿姨 身体不错")],
    ["走访 3栋502 独居老人", cmd("visit", null, "3栋502 独居老人")],
  ]);
});

describe("command must open the message", () => {
  table([
    ["我想报事 路灯坏了", NONE],
    ["今天的进度 #12 怎么样", NONE],
    ["「张三：报事 路灯坏了」\n- - - - -\n收到", NONE],
    ["“报事 路灯坏了”", NONE],
    ['"报事 路灯坏了"', NONE],
    ["> 报事 路灯坏了\n收到", NONE],
    ["引用 张三 的消息：报事 路灯坏了", NONE],
    ["好的，办结 #12 已修好", NONE],
    ["大家好", NONE],
    ["12", NONE],
  ]);
});

describe("invalid commands", () => {
  invalidTable([
    "报事",
    "报事：",
    "【报事】",
    "走访",
    "进度",
    "查询 ",
    "认领",
    "认领 路灯",
    "【进度】很快",
    "签收：",
    "回复 #12",
    "回复",
    "答复 路灯",
    "办结 #12",
    "办结",
    "解决 #12 ",
    "完成！",
    "认领 12栋",
  ]);

  it("gives the documented resolve hint", () => {
    expect(parseCommand("办结 #12").hint).toBe("用法：办结 #单号 处理结果，例如：办结 #12 路灯已修好");
  });

  it("explains a bad ticket number", () => {
    expect(parseCommand("认领 #0").hint).toContain("单号无效");
  });
});

describe("contact (电联 / 联系) and 待走访", () => {
  table([
    ["电联 周奶奶 电话问候，身体好", cmd("contact", null, "周奶奶 电话问候，身体好")],
    ["電聯 周奶奶 一切都好", cmd("contact", null, "周奶奶 一切都好")],
    ["电联周奶奶身体好", cmd("contact", null, "周奶奶身体好")],
    ["电访 李大爷 血压正常", cmd("contact", null, "李大爷 血压正常")],
    ["联系 王阿姨 微信视频，一切正常", cmd("contact", null, "王阿姨 微信视频，一切正常")],
    ["聯繫：王阿姨 微信問候", cmd("contact", null, "王阿姨 微信問候")],
    ["联络 3号 电话问候", cmd("contact", null, "3号 电话问候")],
    ["微信联系 王阿姨 视频通话", cmd("contact", null, "王阿姨 视频通话")],
    ["电话联系 王阿姨 已问候", cmd("contact", null, "王阿姨 已问候")],
    ["【联系】王阿姨 电话问候", cmd("contact", null, "王阿姨 电话问候")],
    ["@好邻 电联 周奶奶 身体好", cmd("contact", null, "周奶奶 身体好")],
    // 联系 is an everyday word: glued to other words it is chat.
    ["联系一下物业吧", NONE],
    ["联系方式是多少", NONE],
    ["联络员在哪", NONE],
    ["电话联系了物业", NONE],
    ["我联系 王阿姨 了", NONE],
    ["待走访", cmd("due")],
    ["待走訪", cmd("due")],
    ["待走访？", cmd("due")],
    ["@好邻 待走访", cmd("due")],
    ["待走访的人很多", NONE],
    ["待办", cmd("todo")],
    ["走访 周奶奶 诉求：屋顶漏水", cmd("visit", null, "周奶奶 诉求：屋顶漏水")],
  ]);
  invalidTable(["电联", "联系 ", "電聯：", "联系：", "微信联系"]);
});

describe("robustness", () => {
  table([
    ["", NONE],
    ["   ", NONE],
    ["\n\u3000\t", NONE],
    ["  报事 路灯坏了  ", cmd("report", null, "路灯坏了")],
    ["【", NONE],
    ["[]", NONE],
    ["#12", NONE],
  ]);

  it("never throws on odd input", () => {
    const odd: unknown[] = [undefined, null, 42, {}, "\u0000", "\uD800", "@", "＠", "【】", "#".repeat(10_000)];
    for (const input of odd) {
      expect(() => parseCommand(input as string)).not.toThrow();
      expect(parseCommand(input as string).intent).toBe("none");
    }
    expect(() => parseCommand("认领 #1", { botNames: [""] })).not.toThrow();
    expect(parseCommand("认领 #1", { botNames: [""] })).toEqual(cmd("claim", 1));
  });
});

describe("USAGE", () => {
  it("has a Chinese usage line for every command intent", () => {
    const intents: CommandIntent[] = [
      "report",
      "onBehalf",
      "visit",
      "contact",
      "due",
      "status",
      "claim",
      "reply",
      "resolve",
      "escalate",
      "rate",
      "todo",
      "digest",
      "talkMeeting",
      "analysisMeeting",
      "minutes",
      "decision",
      "goodNeighbors",
      "circular",
      "relayed",
      "mediate",
      "mediated",
      "mediationFailed",
      "mediations",
      "help",
    ];
    expect(Object.keys(USAGE).sort()).toEqual([...intents].sort());
    for (const intent of intents) expect(USAGE[intent]).toMatch(/\p{Script=Han}/u);
  });
});

describe("meeting commands", () => {
  it("open with a separator, in either script, and leave chat about meetings alone", () => {
    expect(parseCommand("@好邻 恳谈会 12月20日 19:00 村部会议室")).toMatchObject({ intent: "talkMeeting", body: "12月20日 19:00 村部会议室" });
    expect(parseCommand("懇談會：12月20日 19:00 村部")).toMatchObject({ intent: "talkMeeting" });
    expect(parseCommand("民情分析會 周五 15:00 村委")).toMatchObject({ intent: "analysisMeeting", body: "周五 15:00 村委" });
    expect(parseCommand("紀要 到会 12 人")).toMatchObject({ intent: "minutes", body: "到会 12 人" });
    expect(parseCommand("議定：清理水渠")).toMatchObject({ intent: "decision", body: "清理水渠" });
    expect(parseCommand("【纪要】到会 12 人")).toMatchObject({ intent: "minutes" });
    for (const chat of ["恳谈会几点开呀", "纪要写好了吗", "议定事项都办了", "分析会开完了"]) expect(parseCommand(chat).intent, chat).toBe("none");
    expect(parseCommand("恳谈会 ")).toMatchObject({ intent: "invalid", hint: expect.stringContaining("用法：恳谈会 日期 时间 地点") });
    expect(parseCommand("议定：")).toMatchObject({ intent: "invalid", hint: expect.stringContaining("用法：议定 事项") });
  });
});

describe("found by an independent check against the contract", () => {
  table([
    ["进度 12。", cmd("status", 12)],
    ["进度 #12？", cmd("status", 12)],
    ["满意 12。", rate(true, 12)],
    ["认领 12？？", cmd("claim", 12)],
    ["回复 12。好的", cmd("reply", 12, "好的")],
    ["\u200b进度 #3", cmd("status", 3)],
    ["\ufeff@好邻 报事 路灯坏了", cmd("report", null, "路灯坏了")],
    ["回复 12 👌", cmd("reply", 12, "👌")],
    ["投诉 😡", cmd("report", null, "😡")],
  ]);
  invalidTable(["办结 12 。", "办结 #12 ……", "报事。", "上报 。", "走访 ！", "回复 #5 ？"]);
});

describe("a ticket from a quoted message", () => {
  const q = { quotedTicket: 7 };
  it("fills in a ticket command that names none", () => {
    expect(parseCommand("认领", q)).toMatchObject({ intent: "claim", ticket: 7 });
    expect(parseCommand("办结 已修好", q)).toMatchObject({ intent: "resolve", ticket: 7, body: "已修好" });
    expect(parseCommand("进度", q)).toMatchObject({ intent: "status", ticket: 7 });
    expect(parseCommand("满意", q)).toMatchObject({ intent: "rate", ticket: 7, satisfied: true });
  });
  it("never overrides a typed number, never turns chat into a command, and 办结 still needs its result", () => {
    expect(parseCommand("认领 #12", q)).toMatchObject({ intent: "claim", ticket: 12 });
    expect(parseCommand("进度很快啊", q).intent).toBe("none");
    expect(parseCommand("办结", q)).toMatchObject({ intent: "invalid" });
    expect(parseCommand("认领").intent).toBe("invalid");
  });
});

describe("代报 and its old spelling 报事 代X：", () => {
  table([
    ["代报 方福生 家里屋顶漏雨", cmd("onBehalf", null, "方福生 家里屋顶漏雨")],
    ["代报：3号 水管爆了", cmd("onBehalf", null, "3号 水管爆了")],
    ["代報 方福生 屋頂漏雨", cmd("onBehalf", null, "方福生 屋頂漏雨")],
    ["报事 代方福生：家里屋顶漏雨", cmd("onBehalf", null, "方福生：家里屋顶漏雨")],
    ["报事 代 方福生，家里屋顶漏雨", cmd("onBehalf", null, "方福生，家里屋顶漏雨")],
    ["报事 代收点的快递乱堆", cmd("report", null, "代收点的快递乱堆")],
    ["报事 代办点关门了，没人管", cmd("report", null, "代办点关门了，没人管")],
    ["报事 代表说下周来看", cmd("report", null, "代表说下周来看")],
  ]);
  invalidTable(["代报", "代报：", "代报 。"]);
});

describe("a ticket glued to its command and text", () => {
  table([
    ["回复7号电工明天到", cmd("reply", 7, "电工明天到")],
    ["回复 7号电工明天到", cmd("reply", 7, "电工明天到")],
    ["办结5号已清理完毕", cmd("resolve", 5, "已清理完毕")],
    ["上报3号需要村里协调", cmd("escalate", 3, "需要村里协调")],
    ["回复3号之前交材料", NONE],
    ["完成1号楼的清扫", NONE],
    ["回复12月3日开会", NONE],
    ["完成7号下午交表", NONE],
    ["回复1报名", NONE],
    ["上报 12号楼漏水", cmd("report", null, "12号楼漏水")],
  ]);
});

describe("near misses get the closest command back", () => {
  it.each([
    ["报是 村口路灯坏了", "报事"],
    ["保事 村口路灯坏了", "报事"],
    ["办洁 #3 已修好", "办结"],
    ["办洁 3 已修好", "办结"],
    ["认令 #12", "认领"],
    ["回付 #12 明天到", "回复"],
    ["走方 王阿姨 身体好", "走访"],
  ])("%s → 你是想「%s」吗？", (input, word) => {
    const parsed = parseCommand(input);
    expect(parsed.intent).toBe("invalid");
    expect(parsed.hint).toMatch(new RegExp(`^你是想「${word}」吗？用法：${word}`, "u"));
  });
  table([
    ["报是报了，没人管", NONE],
    ["保修期过了吗", NONE],
    ["保修 三年", NONE],
    ["板结 的土要深翻", NONE],
    ["半结 了", NONE],
    ["报是", NONE],
    ["办洁", NONE],
  ]);
});
