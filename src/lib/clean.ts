/**
 * Text that PostgreSQL can store and a person could have typed: no NUL (text and jsonb refuse it, 22021/22P05),
 * no lone UTF-16 surrogate (not a character at all; jsonb refuses its escape, 22P02), no other C0 control
 * character except tab, newline and carriage return (invisible, and never part of a command).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters to remove
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: as above
const CONTROLS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, "g");

/** True when cleanText would change nothing. */
export const isCleanText = (s: string) => !CONTROL.test(s) && !LONE_SURROGATE.test(s);

/** The text with those characters gone (a lone surrogate becomes U+FFFD, as a UTF-8 encoder would make of it). */
export function cleanText(s: string): string {
  return isCleanText(s) ? s : s.replace(CONTROLS, "").replace(LONE_SURROGATES, "\ufffd");
}
