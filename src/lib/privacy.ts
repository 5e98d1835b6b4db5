/**
 * Masks personal data before text goes into a group chat or a log: mobile and landline numbers, ID card numbers,
 * house numbers, and the sensitive household tags (a resident may type them into a report themselves).
 */
export const SENSITIVE_TAGS = ["留守儿童", "孤寡老人", "独居老人", "残疾", "低保", "五保", "空巢老人", "特困"];

const MOBILE = /(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)/g;
const LANDLINE = /(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)/g;
const ID_CARD = /(?<![\dXx])\d{17}[\dXx](?![\dXx])/g;
const HOUSE_NO = /\d+(?=\s*(?:号|栋|幢|单元|室|楼))/g;
const TAGS = new RegExp(SENSITIVE_TAGS.join("|"), "g");

export function maskPersonal(text: string): string {
  return text
    .replace(ID_CARD, (m) => `${m.slice(0, 3)}***********${m.slice(-4)}`)
    .replace(MOBILE, (m) => {
      const digits = m.replace(/\D/g, "").slice(-11);
      return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
    })
    .replace(LANDLINE, (m) => `${m.slice(0, 4)}****`)
    .replace(HOUSE_NO, "*")
    .replace(TAGS, "**");
}

/** True when text still holds something maskPersonal would hide (used by tests and the soak check). */
export function containsPersonal(text: string): boolean {
  return maskPersonal(text) !== text;
}

/** A short, masked excerpt of a ticket's text for group messages. */
export function excerpt(text: string, max = 30): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const cut = [...flat].length > max ? `${[...flat].slice(0, max).join("")}…` : flat;
  return maskPersonal(cut);
}
