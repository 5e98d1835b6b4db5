/**
 * Near misses of a command word: one character typed as a same- or similar-sounding one (报是, 保事, 办洁), the
 * usual slip of pinyin input. Only the main two-character words are corrected, one character at a time, so a
 * correction is never further than one slip away; the parser asks "你是想「报事」吗？" only when the rest of the
 * message has the shape the command needs (a ticket, or a separator and a description).
 */

/** Characters a pinyin or handwriting slip turns each command character into. */
const CONFUSABLE: Readonly<Record<string, string>> = {
  报: "保抱包暴爆豹宝",
  事: "是市式示时试室世视士势适侍",
  修: "休秀绣",
  投: "头偷透",
  诉: "速素塑宿",
  走: "奏邹",
  访: "方放仿防房芳坊",
  电: "店点垫殿",
  联: "连练恋莲怜",
  进: "近尽劲紧仅",
  度: "渡镀肚杜读都",
  认: "人任忍仁",
  领: "令岭零另灵",
  回: "会汇灰挥",
  复: "付副富负服福附",
  办: "半伴扮班版板拌",
  结: "洁节接解姐届捷杰截",
  上: "尚伤赏",
  满: "慢蛮瞒漫",
  意: "义议异益毅",
  代: "带戴袋贷",
};

/** The words corrected, each the way its command's table row spells it. */
const TARGETS = ["报事", "报修", "投诉", "走访", "电联", "进度", "认领", "回复", "办结", "上报", "满意", "代报"] as const;

/** One slip away from a command word, yet words of their own: 保修 (warranty), 板结 (compacted soil), 投宿, 报时. */
const REAL_WORDS: ReadonlySet<string> = new Set(["保修", "板结", "投宿", "报时", "代包", "上包"]);

/** Every one-slip misspelling of each target, to the target it stands for. */
const MISSES: ReadonlyMap<string, string> = new Map(
  TARGETS.flatMap((word) =>
    [...word].flatMap((ch, i) =>
      [...(CONFUSABLE[ch] ?? "")]
        .map((wrong) => word.slice(0, i) + wrong + word.slice(i + 1))
        .filter((miss) => !REAL_WORDS.has(miss))
        .map((miss) => [miss, word] as const),
    ),
  ),
);

/** The command word a message's first two characters are one slip away from, with the rest of the message. */
export function nearMiss(text: string): { word: string; rest: string } | null {
  const word = MISSES.get(text.slice(0, 2));
  return word ? { word, rest: text.slice(2) } : null;
}
