/**
 * The privacy oracle for tests and the soak: does a group-visible text still hold personal data? Written apart from
 * the masker (src/lib/privacy.ts, which it must never import) and by a different method, so that it can disagree:
 *
 * - `leaks(text, secrets)`: we know what was typed. A number leaks when any 6 of its digits, in order and in a
 *   row, can still be read in the text once full-width digits are made ASCII and every separator people put between
 *   digits is taken out — however the masker cut, split or relabelled it. A word (a tag, an e-mail, a WeChat id, the
 *   room part of an address) leaks when it is still there, in either width, in any case.
 * - `personalIn(text)`: we don't know (the soak reads every group message). Its own patterns, from the README's
 *   table: 7+ digits in a row after the same normalising, e-mail shapes, WeChat/QQ ids, room and house numbers,
 *   residence phrases and the tag list the issue names.
 */

/** What a test typed in, and what of it must not come out. */
export type Secret = { kind: "number"; value: string } | { kind: "word"; value: string; label?: string };

const toAscii = (s: string) =>
  !/[\uFF01-\uFF5E\u3000]/.test(s)
    ? s
    : s.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, " ");

/** Separators people write between digits, in either width, and what markdown/cards may add around them. */
const SEPARATORS = /[\s\-.()\u00B7\u2014\u2013_/\\·•,，、（）＊*~+]/g;

const digitsOnly = (s: string) =>
  toAscii(s)
    .replace(/[^0-9Xx]/g, "")
    .toUpperCase();
const squeezed = (s: string) => toAscii(s).replace(SEPARATORS, "").toUpperCase();

const WINDOW = 6;

/** The secrets still readable in `text`: a number by any 6 of its digits in a row, a word by itself. */
export function leaks(text: string, secrets: Secret[]): Secret[] {
  const flat = squeezed(text);
  const plain = toAscii(text).toLowerCase();
  return secrets.filter((s) => {
    if (s.kind === "number") {
      const d = digitsOnly(s.value);
      if (d.length < WINDOW) return flat.includes(d);
      for (let i = 0; i + WINDOW <= d.length; i++) if (flat.includes(d.slice(i, i + WINDOW))) return true;
      return false;
    }
    return plain.includes(toAscii(s.value).toLowerCase());
  });
}

/** The tag list, written out here on its own (not the masker's list). */
export const ORACLE_TAGS = [
  "留守儿童",
  "留守老人",
  "孤寡老人",
  "空巢",
  "独居",
  "残疾",
  "精神障碍",
  "精神病",
  "重病",
  "低保",
  "五保",
  "特困",
  "社区矫正",
  "刑满释放",
];

const CN = "[零〇一二两三四五六七八九十百千]";
const PATTERNS: [string, RegExp][] = [
  ["7+ digits", /\d{7,}/],
  ["e-mail", /[a-z0-9._%+-]+@[a-z0-9-]+\.[a-z]{2,}/i],
  ["wechat/qq id", /(?:微信|wx|vx|qq|扣扣)号?\s*[:：是]?\s*[a-z0-9][-_a-z0-9]{4,}/i],
  [
    "room number",
    new RegExp(
      `(?:\\d|${CN})+\\s*(?:室|号房)|单元\\s*\\d{3,4}|(?:栋|幢|号楼)\\s*\\d{1,2}-\\d{2,4}|(?<!\\d)\\d{1,3}-\\d{1,2}-\\d{3,4}(?!\\d)`,
    ),
  ],
  [
    "house number",
    new RegExp(`(?:路|街|巷|弄)\\s*(?:\\d|${CN})+\\s*号(?!\\s*(?:楼|桥|路灯|灯|杆))|门牌号?\\s*[:：]?\\s*\\d`),
  ],
  ["residence", /(?:家住|住在|住址|住)\s*[:：]?\s*[^\s，。,；;]{0,6}?\d+\s*(?:号|栋|幢|单元|室|楼)/],
];

/** What personal data `text` seems to hold, by the oracle's own patterns (empty when none). */
export function personalIn(text: string, extraTags: string[] = []): string[] {
  const t = squeezed(text);
  const raw = toAscii(text);
  const found: string[] = [];
  // Digits in a row once separators are gone — but dates (2026-03-05 → 20260305) and times are the bot's own.
  const noDates = raw.replace(/(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?/g, " ").replace(/\d{1,2}:\d{2}/g, " ");
  const digitsSubject = squeezed(noDates);
  for (const [name, re] of PATTERNS) {
    const subject = name === "7+ digits" ? digitsSubject : raw;
    const m = re.exec(subject);
    if (m) found.push(`${name}: ${m[0]}`);
  }
  for (const tag of [...ORACLE_TAGS, ...extraTags]) if (t.includes(tag)) found.push(`tag: ${tag}`);
  return found;
}
