/**
 * What of a person's words may reach a group chat. The rule (README "隐私规则"): phone numbers in any writing,
 * ID-card and bank-card numbers, e-mail, WeChat/QQ ids, room- and house-level addresses and the sensitive household
 * tags are replaced by a label such as 【手机号】; public places (3号桥, 5号楼楼道灯, 村道12号路灯杆), dates, times,
 * ticket numbers and money stay readable. The database, the dashboard and private messages to the responsible
 * leader keep the full text.
 *
 * `forGroup` is the one way person-typed text (a resident's report, a leader's 回复/办结/上报 words, a 不满意 reason)
 * enters a group-facing message. It returns a branded `GroupText` so a renderer's signature can say it wants
 * text that went through here, and test/privacy-boundary.test.ts fails on a renderer that interpolates a
 * person's words without it. Its order is the point: mask the whole text first, then cut — a number cut first no
 * longer looks like a number (a phone cut to 9 digits slipped through before) — and the cut never splits a label.
 * Then it makes the text inert: the same words may go out as WeCom markdown (every passive reply is a markdown
 * `stream`), a DingTalk card field or plain text, so markdown and card syntax is turned into its full-width
 * look-alike, which reads the same in Chinese under every reading, and links lose their scheme's colon.
 */
import { escapeRegExp } from "./regexp.js";

/** Household and sensitive tags masked in groups by default; a town adds its own (settings.sensitiveTags). */
export const SENSITIVE_TAGS: readonly string[] = [
  "留守儿童",
  "留守老人",
  "留守妇女",
  "孤寡老人",
  "孤寡",
  "孤儿",
  "空巢老人",
  "空巢",
  "独居老人",
  "独居",
  "残疾人",
  "残疾",
  "残障",
  "精神障碍",
  "精神病人",
  "精神病",
  "重病",
  "大病",
  "低保户",
  "低保",
  "五保户",
  "五保",
  "特困户",
  "特困",
  "社区矫正",
  "刑满释放",
  "失独",
];

declare const groupText: unique symbol;
/** Text that went through `forGroup` (or the bot's own words checked by `guardGroupMessage`). */
export type GroupText = string & { readonly [groupText]: true };

/** The cut lengths group messages use (code points). Tests run every one of them. */
export const GROUP_CUTS = {
  /** One line of a 待办 list. */
  line: 16,
  /** 事项： in 进度, pings and notices. */
  item: 30,
  /** A reason (上报原因, 不满意原因). */
  reason: 60,
  /** A leader's words relayed to another chat. */
  update: 80,
  /** A leader's 回复 / 办结 words echoed in the chat they were typed in. */
  words: 300,
  /** The text of an official's 通知 (its line breaks kept). */
  notice: 1000,
} as const;

const LABEL = {
  mobile: "【手机号】",
  phone: "【电话】",
  id: "【证件号】",
  card: "【银行卡号】",
  number: "【号码】",
  email: "【邮箱】",
  wechat: "【微信号】",
  qq: "【QQ号】",
  address: "【门牌】",
  tag: "【已隐去】",
} as const;

type Span = { start: number; end: number; label: string };

/** Full-width ASCII (０-９, Ａ-Ｚ, ＋, －, （ …) and the ideographic space to ASCII, one UTF-16 unit for one. */
const FULL_WIDTH = /[\uFF01-\uFF5E\u3000]/;
function halfWidth(text: string): string {
  if (!FULL_WIDTH.test(text)) return text;
  return text.replace(/[\uFF01-\uFF5E\u3000]/g, (c) =>
    c === "\u3000" ? " " : String.fromCharCode(c.charCodeAt(0) - 0xfee0),
  );
}

const NUM = "(?:\\d+|[零〇一二两三四五六七八九十百千]+)";
/** Dates and times are never numbers to hide (2026-12-01, 2026年12月1日, 18:30). */
const DATE_TIME =
  /(?<!\d)(?:(?:19|20)\d{2}[-/.年](?:0?[1-9]|1[0-2])[-/.月](?:0?[1-9]|[12]\d|3[01])(?!\d)|\d{1,2}:\d{2}(?::\d{2})?(?!\d))/g;
/** Digits with the separators people write between them: 138 1234 5678, 138-1234-5678, 138.1234.5678, (0571)8888… */
const DIGIT_RUN = /\+?\(?\d(?:[ \-.()\u00B7\u2014\u2013_/]{0,3}\d)*(?:[Xx](?![A-Za-z]))?/g;
const MONEY_AFTER = /^\s*(?:元|块|万|千|百|亿|角|毛|rmb|RMB)/;
const MONEY_BEFORE = /(?:[¥￥$]|RMB|rmb|人民币)\s*$/;
const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 微信号/QQ and the id after it; the id is in a look-ahead so a keyword inside an earlier id is still found. */
const IM_ID =
  /(微信号?|[vVwW][xX]号?|weixin|v信|QQ号?|qq号?|扣扣号?)(?=(\s*(?:号码|账号)?\s*[:是为]?\s*)([A-Za-z0-9][-_A-Za-z0-9]{3,29}))/g;
/** Room level: [building] [unit] [floor] room — 18栋2单元301室, 5号楼2单元301, 3-2-301, 301室. */
const ROOM = new RegExp(
  [
    `(?:${NUM}\\s*(?:号楼|号院|栋|幢|座|号)\\s*)?(?:${NUM}\\s*单元\\s*)?(?:${NUM}\\s*(?:楼|层)\\s*)?${NUM}\\s*(?:室|号房)`,
    `${NUM}\\s*(?:号楼|栋|幢|座)\\s*(?:${NUM}\\s*单元\\s*)?\\d{1,2}-\\d{2,4}(?!\\d)`,
    `${NUM}\\s*(?:号楼|栋|幢|座)\\s*${NUM}\\s*单元\\s*\\d{3,4}(?!\\d)`,
    `(?<![\\d-])\\d{1,3}-\\d{1,2}-\\d{3,4}(?![\\d-])`,
  ].join("|"),
  "g",
);
/** 门牌 of a residence: a number 号 after a road, lane or village name — unless it names a public thing (村道12号路灯杆). */
const HOUSE = new RegExp(
  `(?<=(?:路|街|巷|弄|里|道|胡同|村|屯|庄|社区|小区|新村|门牌号?)\\s*[:]?\\s*)${NUM}\\s*号(?:院)?(?!楼|桥|灯|路灯|杆|线|井|闸|站|塔|箱|牌|路|渠|坝|沟|塘|池|泵|仓|库|柱|桩)`,
  "g",
);
/** A 门牌 written as such: 门牌号25, 门牌 12号. */
const DOORPLATE = new RegExp(`(?<=门牌(?:号码?)?\\s*[:]?\\s*)${NUM}(?:\\s*号)?`, "g");
/** Where someone lives: after 住/家住/住址/地址 every number of the address that follows is hidden (住18栋). */
const RESIDENCE = /(?:住在|住址|家住|家在|地址|户籍地?|住)\s*[:]?/g;
const RESIDENCE_PART = new RegExp(`${NUM}\\s*(?:号楼|号院|号|栋|幢|座|单元|室|楼|层)|\\d+(?:-\\d+)+`, "g");
const RESIDENCE_WINDOW = 16;
const STOP = /[，。；,;！？!?\n]/;

const tagPatterns = new Map<string, RegExp>();
function tagPattern(extra: readonly string[] | undefined): RegExp {
  const key = extra?.length ? extra.join("\u0000") : "";
  let re = tagPatterns.get(key);
  if (!re) {
    const words = [...new Set([...SENSITIVE_TAGS, ...(extra ?? [])].map((w) => w.trim()).filter(Boolean))];
    words.sort((a, b) => b.length - a.length);
    re = new RegExp(words.map(escapeRegExp).join("|"), "g");
    if (tagPatterns.size > 100) tagPatterns.clear();
    tagPatterns.set(key, re);
  }
  return re;
}

function numberLabel(digits: string): string | null {
  if (digits.length < 7) return null;
  if (/^(?:0{0,2}86)?1[3-9]\d{9}$/.test(digits)) return LABEL.mobile;
  if (/^\d{15}$|^\d{17}[\dXx]$/.test(digits)) return LABEL.id;
  if (/^\d{16,19}$/.test(digits)) return LABEL.card;
  if (digits.length <= 12) return LABEL.phone;
  return LABEL.number;
}

function* matches(re: RegExp, text: string): Generator<RegExpExecArray> {
  re.lastIndex = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === "") re.lastIndex += 1;
    yield m;
  }
}

/** The spans of `text` to hide, sorted and merged. `text` is already half-width (same length as the original). */
function personalSpans(n: string, tags: readonly string[] | undefined): Span[] {
  const spans: Span[] = [];
  const add = (start: number, end: number, label: string) => {
    if (end > start) spans.push({ start, end, label });
  };
  // Each pattern only where its anchor occurs: most texts have none, and this keeps a mask to a few microseconds.
  const has = (re: RegExp) => re.test(n);
  if (n.includes("@")) for (const m of matches(EMAIL, n)) add(m.index, m.index + m[0].length, LABEL.email);
  if (has(/微信|[vVwW][xX]|weixin|v信|qq|QQ|扣扣/))
    for (const m of matches(IM_ID, n)) {
      const start = m.index + m[0].length + (m[2] as string).length;
      add(start, start + (m[3] as string).length, /q|扣/i.test(m[1] as string) ? LABEL.qq : LABEL.wechat);
    }
  // Numbers: dates and times blanked out first so they never join a digit run.
  const scratch = n.replace(DATE_TIME, (d) => "~".repeat(d.length));
  for (const m of has(/\d/) ? matches(DIGIT_RUN, scratch) : []) {
    const digits = m[0].replace(/[^\dXx]/g, "");
    const label = numberLabel(digits);
    if (!label) continue;
    const start = m.index;
    const end = start + m[0].length;
    const money = digits.length <= 10 && (MONEY_AFTER.test(n.slice(end)) || MONEY_BEFORE.test(n.slice(0, start)));
    if (money) continue;
    // An opening bracket without its closing one is punctuation around the number ("(13812345678)"): it stays.
    add(m[0].startsWith("(") && !m[0].includes(")") ? start + 1 : start, end, label);
  }
  if (has(/室|号房|单元|\d-\d/)) for (const m of matches(ROOM, n)) add(m.index, m.index + m[0].length, LABEL.address);
  if (n.includes("号")) for (const m of matches(HOUSE, n)) add(m.index, m.index + m[0].length, LABEL.address);
  if (n.includes("门牌")) for (const m of matches(DOORPLATE, n)) add(m.index, m.index + m[0].length, LABEL.address);
  for (const m of has(/住|址|家在|户籍/) ? matches(RESIDENCE, n) : []) {
    const from = m.index + m[0].length;
    let window = n.slice(from, from + RESIDENCE_WINDOW);
    const stop = STOP.exec(window);
    if (stop) window = window.slice(0, stop.index);
    for (const p of matches(RESIDENCE_PART, window)) add(from + p.index, from + p.index + p[0].length, LABEL.address);
  }
  for (const m of matches(tagPattern(tags), n)) add(m.index, m.index + m[0].length, LABEL.tag);

  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged.at(-1);
    if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  return merged;
}

/** The text as pieces: plain runs and labels, so a cut can keep a label whole. */
type Piece = { text: string; label: boolean };

/**
 * `seen`: the text as the patterns read it, and `from` where each of its code units is in `text` (a notice's text is
 * read without its line breaks, so a number or a tag broken across two lines is still seen whole).
 */
function maskedPieces(text: string, tags: readonly string[] | undefined, seen = text, from?: number[]): Piece[] {
  const pieces: Piece[] = [];
  let at = 0;
  for (const span of personalSpans(halfWidth(seen), tags)) {
    const s = from ? { ...span, start: from[span.start] as number, end: (from[span.end - 1] as number) + 1 } : span;
    if (s.start > at) pieces.push({ text: text.slice(at, s.start), label: false });
    pieces.push({ text: s.label, label: true });
    at = s.end;
  }
  if (at < text.length) pieces.push({ text: text.slice(at), label: false });
  return pieces;
}

/**
 * Masks personal data (see the module comment), keeping everything else as written. `tags` adds a town's own
 * sensitive words to the default list. For a group message use `forGroup`, which also cuts and escapes.
 */
export function maskPersonal(text: string, tags?: readonly string[]): string {
  return maskedPieces(text, tags)
    .map((p) => p.text)
    .join("");
}

/** Markdown and card syntax → full-width look-alikes; a link's `://` → `：//` so nothing renders as a link. */
const INERT: Record<string, string> = {
  "*": "＊",
  _: "＿",
  "`": "｀",
  "[": "［",
  "]": "］",
  "(": "（",
  ")": "）",
  "<": "＜",
  ">": "＞",
  "~": "～",
  "|": "｜",
  "\\": "＼",
  "&": "＆",
  "{": "｛",
  "}": "｝",
  $: "＄",
};
const INERT_CHARS = /[*_`[\]()<>~|\\&{}$]/g;

function inert(text: string): string {
  INERT_CHARS.lastIndex = 0;
  if (!INERT_CHARS.test(text) && !text.includes("://")) return text;
  return text.replace(INERT_CHARS, (c) => INERT[c] ?? c).replace(/:\/\//g, "：//");
}

/**
 * The one way person-typed text goes into a group message: masked, then cut to at most `max` code points (plus
 * "…") without splitting a label, then made inert for markdown and cards. Whitespace is folded to single spaces;
 * with `lines` (a notice's paragraphs) line breaks are kept, one per run, and the masking reads the text without
 * them, so a number, an id or a tag broken across two lines is still seen whole (and hidden with the break).
 * `tags`: the town's extra sensitive words (Policy.sensitiveTags).
 */
export function forGroup(raw: string | null | undefined, max: number, tags?: readonly string[], opts?: { lines?: boolean }): GroupText {
  const flat = opts?.lines
    ? (raw ?? "").replace(/[^\S\n]+/g, " ").replace(/ ?\n\s*/g, "\n").trim()
    : (raw ?? "").replace(/\s+/g, " ").trim();
  const out: string[] = [];
  let left = max;
  let cut = false;
  const read = opts?.lines ? withoutBreaks(flat) : null;
  for (const p of maskedPieces(flat, tags, read?.seen, read?.from)) {
    const chars = [...p.text];
    if (chars.length <= left) {
      out.push(p.label ? p.text : inert(p.text));
      left -= chars.length;
      continue;
    }
    if (!p.label) out.push(inert(chars.slice(0, left).join("")));
    cut = true;
    break;
  }
  return `${out.join("").trimEnd()}${cut ? "…" : ""}` as GroupText;
}

/** The text without its line breaks, and where each remaining code unit stands in the text. */
function withoutBreaks(text: string): { seen: string; from: number[] } {
  const from: number[] = [];
  let seen = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "\n") continue;
    seen += text[i];
    from.push(i);
  }
  return { seen, from };
}

/**
 * The last check on a whole message bound for a group (the outbox, the replies in a group chat): masks anything
 * personal with the default tags. It cannot undo a cut made before masking — only `forGroup` gets that right — so
 * it is a safety net under the renderers, not a replacement for them. Markup is left alone: it is the bot's own.
 */
export function guardGroupMessage(text: string): GroupText {
  return maskPersonal(text) as GroupText;
}
