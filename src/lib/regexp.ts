/** A literal string inside a RegExp (bot names may contain regex characters). */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
