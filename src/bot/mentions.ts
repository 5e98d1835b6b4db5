/** The bot's own @mentions in a message: the parser removes them before reading the command, and so does chat handling. */

export function startsWithCI(text: string, prefix: string): boolean {
  return text.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

function endsWithCI(text: string, suffix: string): boolean {
  return text.length >= suffix.length && text.slice(-suffix.length).toLowerCase() === suffix.toLowerCase();
}

/**
 * Removes the bot's own @mentions at the start (followed by whitespace such as
 * U+2005, or by nothing at all) and at the end; other people's @mentions stay.
 * Longest names go first so a bot called 好邻居 is not cut short by 好邻.
 */
export function stripMentions(text: string, botNames: readonly string[]): { text: string; mentioned: boolean } {
  const tags = botNames.flatMap((name) => [`@${name}`, `＠${name}`]).sort((a, b) => b.length - a.length);
  let rest = text;
  let mentioned = false;
  // Repeat until stable: clients sometimes insert the mention twice (@好邻 @好邻 待办).
  for (;;) {
    const tag = tags.find((t) => startsWithCI(rest, t) || endsWithCI(rest, t));
    if (tag === undefined) return { text: rest, mentioned };
    rest = startsWithCI(rest, tag) ? rest.slice(tag.length).trimStart() : rest.slice(0, -tag.length).trimEnd();
    mentioned = true;
  }
}

