/**
 * fast-check generators of personal data as people type it (the README's privacy table, every writing the issue
 * names) and of the public things that must stay readable. Each case says what must not come out (the oracle's
 * `Secret`s). Like the oracle, nothing here comes from the masker.
 */
import fc from "fast-check";
import type { Secret } from "./personal-oracle.js";

export type Personal = { text: string; secrets: Secret[]; kind: string };

const digit = fc.constantFrom(..."0123456789");
const digits = (min: number, max = min) => fc.array(digit, { minLength: min, maxLength: max }).map((d) => d.join(""));
const FULL = "０１２３４５６７８９";
const fullWidth = (s: string) => s.replace(/\d/g, (d) => FULL[Number(d)] as string);
/** A number sometimes in full-width digits, sometimes mixed. */
const anyWidth = (s: string) =>
  fc.constantFrom("ascii", "full", "mixed").map((w) =>
    w === "ascii" ? s : w === "full" ? fullWidth(s) : [...s].map((c, i) => (i % 2 ? fullWidth(c) : c)).join(""),
  );

const mobileDigits = fc.tuple(fc.constantFrom("13", "14", "15", "16", "17", "18", "19"), digits(9)).map(([a, b]) => a + b);
const SEPS = [" ", "-", ".", "—", " - ", "·"];
const mobile: fc.Arbitrary<Personal> = fc
  .tuple(mobileDigits, fc.constantFrom("plain", "344", "prefix", "prefix86", "brackets"), fc.constantFrom(...SEPS))
  .chain(([d, shape, sep]) => {
    const g = `${d.slice(0, 3)}${sep}${d.slice(3, 7)}${sep}${d.slice(7)}`;
    const written =
      shape === "plain" ? d : shape === "344" ? g : shape === "prefix" ? `+86 ${g}` : shape === "prefix86" ? `86-${d}` : `(${d.slice(0, 3)})${d.slice(3, 7)}-${d.slice(7)}`;
    return anyWidth(written).map((text) => ({ text, secrets: [{ kind: "number", value: d }], kind: `mobile ${shape}` }));
  });

const landline: fc.Arbitrary<Personal> = fc
  .tuple(fc.constantFrom("010", "021", "0571", "0755", "0898"), fc.constantFrom("2", "5", "6", "8"), digits(6, 7), fc.constantFrom("dash", "brackets", "none", "local", "space"))
  .chain(([area, first, rest, shape]) => {
    const local = first + rest;
    const written =
      shape === "dash" ? `${area}-${local}` : shape === "brackets" ? `(${area})${local}` : shape === "none" ? area + local : shape === "space" ? `${area} ${local}` : local;
    return anyWidth(written).map((text) => ({ text, secrets: [{ kind: "number", value: local }], kind: `landline ${shape}` }));
  });

const birth = fc
  .tuple(fc.integer({ min: 1930, max: 2024 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([y, m, d]) => `${y}${String(m).padStart(2, "0")}${String(d).padStart(2, "0")}`);
const idCard: fc.Arbitrary<Personal> = fc
  .tuple(digits(6), birth, digits(3), fc.constantFrom(..."0123456789Xx"), fc.boolean())
  .chain(([region, b, seq, check, old]) => {
    const value = old ? `${region}${b.slice(2)}${seq}` : `${region}${b}${seq}${check}`;
    return anyWidth(value).map((text) => ({ text, secrets: [{ kind: "number", value }], kind: old ? "id 15" : "id 18" }));
  });

const bankCard: fc.Arbitrary<Personal> = fc
  .tuple(fc.constantFrom("62", "43", "52"), fc.integer({ min: 14, max: 17 }), fc.boolean())
  .chain(([bin, n, grouped]) =>
    digits(n).chain((rest) => {
      const value = bin + rest;
      const written = grouped ? (value.match(/.{1,4}/g) ?? []).join(" ") : value;
      return anyWidth(written).map((text) => ({ text, secrets: [{ kind: "number", value }], kind: "bank card" }));
    }),
  );

const latin = (min: number, max: number) =>
  fc.array(fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"), { minLength: min, maxLength: max }).map((c) => c.join(""));
const email: fc.Arbitrary<Personal> = fc
  .tuple(latin(3, 10), fc.constantFrom("", ".", "_"), latin(0, 4), fc.constantFrom("qq.com", "163.com", "example.cn", "mail.gov.cn"))
  .map(([a, sep, b, domain]) => {
    const local = b ? `${a}${sep}${b}` : a;
    return { text: `${local}@${domain}`, secrets: [{ kind: "word", value: `${local}@` }], kind: "email" };
  });

const wechat: fc.Arbitrary<Personal> = fc
  .tuple(fc.constantFrom("微信号 ", "微信：", "微信号:", "vx ", "加微信"), latin(1, 3), fc.constantFrom("", "_", "-"), digits(5, 8))
  .map(([lead, a, sep, d]) => {
    const id = `${a}${sep}${d}`;
    return { text: `${lead}${id}`, secrets: [{ kind: "word", value: id }], kind: "wechat" };
  });

const qq: fc.Arbitrary<Personal> = fc
  .tuple(fc.constantFrom("QQ ", "QQ：", "qq号", "QQ号码 "), fc.integer({ min: 1, max: 9 }), digits(5, 10))
  .map(([lead, first, rest]) => {
    const value = `${first}${rest}`;
    return { text: `${lead}${value}`, secrets: [{ kind: "number", value }], kind: "qq" };
  });

const CN_NUM = ["一", "二", "三", "五", "八", "十二", "二十六", "八十八", "一百零三"];
const ROADS = ["幸福路", "人民街", "桂花巷", "长宁弄", "东村", "和平里"];
/** An address ends at a comma or full stop: "88号楼" is a building, not 88号 (the boundary is part of the address). */
const END = fc.constantFrom("，", "。", "；", " ");
const room: fc.Arbitrary<Personal> = fc
  .tuple(
    fc.integer({ min: 1, max: 40 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 33 }),
    fc.integer({ min: 1, max: 4 }),
    fc.constantFrom("栋单元室", "号楼单元", "dashes", "栋dash", "室only", "住栋", "家住号楼"),
    END,
  )
  .map(([b, u, floor, r, shape, end]) => {
    const rm = `${floor}${String(r).padStart(2, "0")}`;
    const written: Record<string, [string, string[]]> = {
      栋单元室: [`${b}栋${u}单元${rm}室`, [`${rm}室`, `${u}单元${rm}`]],
      号楼单元: [`${b}号楼${u}单元${rm}`, [`单元${rm}`]],
      dashes: [`${b}-${u}-${rm}`, [`-${u}-${rm}`]],
      栋dash: [`${b}栋${u}-${rm}`, [`${u}-${rm}`]],
      室only: [`${rm}室`, [`${rm}室`]],
      住栋: [`住${b}栋`, [`住${b}栋`, `${b}栋`]],
      家住号楼: [`家住${b}号楼`, [`${b}号楼`]],
    };
    const [text, words] = written[shape] as [string, string[]];
    return { text: text + end, secrets: words.map((value) => ({ kind: "word" as const, value })), kind: `room ${shape}` };
  });

const house: fc.Arbitrary<Personal> = fc
  .tuple(fc.constantFrom(...ROADS), fc.oneof(fc.integer({ min: 1, max: 999 }).map(String), fc.constantFrom(...CN_NUM)), fc.constantFrom("", "家住", "住在", "门牌"), END)
  .map(([road, n, lead, end]) => ({
    text: `${lead}${lead === "门牌" ? "" : road}${n}号${end}`,
    secrets: [{ kind: "word" as const, value: `${n}号` }],
    kind: "house",
  }));

/** The list (the masker has its own copy; these are typed out again here). */
export const TAGS = ["留守儿童", "留守老人", "孤寡老人", "空巢", "独居", "残疾", "精神障碍", "精神病", "重病", "低保", "五保", "特困", "社区矫正", "刑满释放"];
const tag: fc.Arbitrary<Personal> = fc
  .constantFrom(...TAGS)
  .map((t) => ({ text: t, secrets: [{ kind: "word" as const, value: t }], kind: "tag" }));

export const personal: fc.Arbitrary<Personal> = fc.oneof(mobile, landline, idCard, bankCard, email, wechat, qq, room, house, tag);

/**
 * Filler: ordinary Chinese report words. No digits, Latin letters or numerals (they would join the data), no money
 * units (13812345678元 reads as an amount), no residence or road words (住, 路, 村 … change what a number means).
 */
const NOT_FILLER = "元块万千百亿角毛住家址路街巷弄里道村屯庄区门牌号楼栋幢单室层院一二三四五六七八九十两零〇病";
const FILLER = [
  ...[..."的了在是我有他这个们来到时大地为子中你说生国年着就那和要她出也得后自以会可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间知世什次使身者被高已亲其进此话常与活正感见明问力理点文几定本公特做外孩相西果走将月实向声车全信重机工物气每并别真打太新比才便夫再书部水像眼等体却加电主界利海受听表德少代员许先口由安写性马光白或难望教命花结乐色更拉东神记处让母父应直字场平报友关放至张认接告入笑内英军候民岁往何度山觉带男边风解叫任金快原吃妈变通师立象数失满远格士音轻目条呢始达深完今提求清王化空业思切怎非找片罗钱吗语喜曾离飞科言干流欢约各即指合反题必该论交终林请医晚制球决传画保读运及则早量苦火布品近坐产答星精视连司巴奇管类未朋且婚台夜青北队久乎越观落尽形影红爸令周吧识步希亚术留市半热送兴造谈容极随演收首根讲整式取照办强石古华拿计您装似足双妻尼转诉米称丽客南领节衣站黑刻统断福城故历惊脸选包紧争另建维绝树系伤示愿持史谁准联妇纪基买志静阿诗复痛消社算义竟确酒需治卡幸兰念举仅钟怕共句息功官待究跟穿易游程居考突皮哪费倒价图具刚脑永歌响商礼细专黄脚味灵改据般破引食仍存众注笔甚某沉血备习校默务土微娘须试怀料调广苏显赛查密议底列富梦错座参除跑亮假印设线温虽掉京初养香停际致阳纸李纳验助激够严证帝饭忘趣支春集丈木研班普导顿睡展跳获艺波察群皇段急庭创奥器谢弟店否害草排背止组州朝封睛板况曲馆育忙质河续哥呼若推境遇雨标姐充围案伦护冷警贝著雪索剧啊船险烟依斗值帮汉慢佛肯闻唱沙局伯族低玩资屋击速顾泪洲团圣旁堂兵露园牛哭旅劳型烈姑陈莫鱼异抱宝权鲁简态级票怪寻杀律胜份汽右洋范床舞秘午登贵吸责例追较职属渐左录丝牙党继托赶章智冲叶胡吉卖坚喝肉遗救修松临藏担戏善卫药悲敢靠伊戴词森耳差短祖云规窗散迷油旧适乡架恩投弹铁博雷府压超负勒杂醒洗采毫嘴毕冰既状乱景席珍童顶派素脱农疑练野按犯拍征坏骨余承置彩灯巨琴免环姆暗换技翻束增忍餐洛塞缺忆判欧付阵玛批岛项狗休懂武革良恶恋委拥娜妙探呀营退摇桌熟诺宣银势奖宫忽套康供优课鸟喊降夏困刘罪亡鞋健模败伴守挥鲜财孤枪禁恐伙杰迹妹遍盖副坦江顺秋萨菜划授归浪凡预奶雄升编典袋莱含盛济蒙棋端腿招释介烧误"].filter((c) => !NOT_FILLER.includes(c)),
  "，",
  "。",
  " ",
  "！",
  "？",
  "、",
  "：",
];
export const filler = (max: number, min = 0) =>
  fc.array(fc.constantFrom(...FILLER), { minLength: min, maxLength: max }).map((c) => c.join(""));

/** A report: filler with 1–3 pieces of personal data at random places. */
export const report: fc.Arbitrary<{ text: string; secrets: Secret[]; kinds: string[] }> = fc
  .tuple(fc.array(fc.tuple(filler(25), personal), { minLength: 1, maxLength: 3 }), filler(25))
  .map(([parts, tail]) => ({
    text: parts.map(([f, p]) => f + p.text).join("") + tail,
    secrets: parts.flatMap(([, p]) => p.secrets),
    kinds: parts.map(([, p]) => p.kind),
  }));

/** Public places and things that must stay readable, and the bot's own kinds of number. */
export const PUBLIC = ["3号桥", "5号楼楼道灯", "二组水渠", "村道12号路灯杆", "2026年3月5日", "2026-03-05", "18:30", "#128", "1200元", "¥3500", "5号楼2单元楼道灯", "12号井盖"];
export const publicReport: fc.Arbitrary<{ text: string; phrases: string[] }> = fc
  .tuple(fc.array(fc.tuple(filler(20, 1), fc.constantFrom(...PUBLIC)), { minLength: 1, maxLength: 3 }), filler(20))
  .map(([parts, tail]) => ({ text: parts.map(([f, p]) => `${f}${p}`).join("") + tail, phrases: parts.map(([, p]) => p) }));
