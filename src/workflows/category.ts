/**
 * A first guess at a report's category and urgency from its words; leaders see it, digests group by it. The table
 * is the town's (settings.categories in the directory file: name, words, and whether the words alone make a report
 * urgent), else the default below. The first row whose words appear wins, so specific rows come before broad ones.
 */

export type CategoryRow = {
  name: string;
  /** Words or phrases; a phrase may hold `…` for "anything short in between" (电线…低 matches 电线垂得很低). */
  words: readonly string[];
  /** These words alone make the report urgent (漏电, 燃气味), whatever the category's own urgency. */
  urgentWords?: readonly string[];
};

export const DEFAULT_CATEGORIES: readonly CategoryRow[] = [
  {
    name: "安全隐患",
    words: ["安全", "隐患", "燃气", "煤气", "危房", "塌方", "倒塌", "溺水", "山体", "滑坡", "河堤", "电线…掉", "电线杆…倒"],
    urgentWords: ["着火", "火灾", "起火", "冒烟", "燃气味", "煤气味", "燃气泄漏", "煤气泄漏", "漏气", "漏电", "触电", "电线…垂", "电线…低", "电线…断", "墙塌", "溺水", "管涌"],
  },
  { name: "矛盾纠纷", words: ["纠纷", "吵架", "矛盾", "打架", "争执", "占…地", "宅基地", "边界", "闹事"] },
  // Drainage before 供水, whose 水管 would also match 排水管.
  { name: "基础设施", words: ["排水", "下水道"] },
  { name: "供水", words: ["水泵", "水井", "机井", "自来水", "停水", "没水", "水压", "水管", "供水", "饮水", "水龙头", "水表", "水塔"] },
  { name: "道路", words: ["水泥路", "路面", "道路", "马路", "村道", "公路", "坑洼", "路坑", "大坑", "路基", "桥面", "便桥", "路塌", "路烂"] },
  { name: "农业水利", words: ["山塘", "灌溉", "农田", "水渠", "春耕", "抗旱", "水库", "排涝", "庄稼", "大棚", "秧苗", "虫害"] },
  { name: "环境卫生", words: ["垃圾", "污水", "臭", "卫生", "噪音", "噪声", "粪", "排污", "乱堆", "乱倒", "死鱼", "蚊子", "苍蝇", "老鼠", "焚烧", "秸秆"] },
  {
    name: "基础设施",
    words: ["路灯", "灯不亮", "灯坏", "楼道灯", "桥", "停电", "电线", "网络", "宽带", "信号", "井盖", "漏水", "漏雨", "水沟", "下水道", "排水", "管道", "电梯", "护栏", "栏杆"],
  },
  { name: "民生服务", words: ["低保", "医保", "社保", "养老", "证明", "补贴", "办证", "户口", "就业", "看病", "孤寡", "独居", "走失"] },
];

export const OTHER = "其他";

/**
 * Urgent by how it is said: 紧急/加急/救命/危险, 急 on its own (急！, 很急 — not 不急, 着急 only when not 不着急),
 * 马上/立刻/赶紧, or two exclamation marks in a row.
 */
const URGENT_WORDS = /紧急|加急|急事|危险|救命|(?<!不|别|不着|别着)着?急(?!性|诊室)|马上|立刻|立即|赶紧|赶快|[！!]{2,}/u;

const patternOf = (word: string) =>
  new RegExp(word.split("…").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".{0,6}"), "u");

type Compiled = { name: string; words: RegExp[]; urgent: RegExp[] };
const compiled = new WeakMap<readonly CategoryRow[], Compiled[]>();

function compile(table: readonly CategoryRow[]): Compiled[] {
  const hit = compiled.get(table);
  if (hit) return hit;
  const rows = table.map((r) => ({ name: r.name, words: r.words.map(patternOf), urgent: (r.urgentWords ?? []).map(patternOf) }));
  compiled.set(table, rows);
  return rows;
}

/** The category (first row whose words or urgent words appear) and whether the words make it urgent. */
export function classify(text: string, table: readonly CategoryRow[] = DEFAULT_CATEGORIES): { category: string; urgent: boolean } {
  const rows = compile(table);
  const urgentRow = rows.find((r) => r.urgent.some((p) => p.test(text)));
  const row = urgentRow ?? rows.find((r) => r.words.some((p) => p.test(text)));
  return { category: row?.name ?? OTHER, urgent: Boolean(urgentRow) || URGENT_WORDS.test(text) };
}

/** Words that say something is wrong (broken, leaking, blocked, missing, unsafe, someone in need). */
const TROUBLE = /坏|漏|堵|塌|裂|断|停水|停电|没水|没电|不亮|不通|积水|淹|臭|脏|乱|吵|噪|危险|隐患|着火|冒烟|起火|掉|倒了|破|松|故障|没人管|没人修|丢|偷|纠纷|打架|吵架|摔|走失|晕倒|生病|被困|求助|帮忙|救命|投诉|反映/u;

/** Does a message addressed to the bot describe a problem (so it is worth asking whether to register it)? */
export function describesProblem(text: string): boolean {
  return TROUBLE.test(text) || classify(text).category !== OTHER;
}
