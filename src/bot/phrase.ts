/**
 * Is a command word the verb of a request, or the first word of an ordinary phrase? Chinese builds phrases from a
 * verb by what follows it, and what follows is drawn from small closed word classes: an aspect or modal particle
 * (报事了 / 报事吗), a structural particle making the verb a modifier (报事的人 / 反映得及时), a result or direction
 * complement (走访完 / 反映到镇里), an adverb, modal or negation making it a topic (报事也没用 / 投诉不了), a
 * preposition or localizer (反映给村里 / 走访时), a question word (报事怎么弄), an addressee (求助大家), a
 * demonstrative with a classifier (报事这个功能), an evaluative predicate (走访辛苦了), a noun head forming a
 * compound noun (报事人 / 投诉电话 / 走访记录), a count of the activity itself (走访两户了), or the verb again
 * (报事报了半天 / 反映反映). Any of these means the message talks *about* the command. What is left — a noun
 * phrase or clause (报事村口路灯坏了 / 投诉楼上半夜剁肉) — is the verb's object: the request itself.
 *
 * These are grammar classes, not a list of messages; the tests hold a few hundred realistic group messages, and a
 * held-out set the rules were not tuned on.
 */

const PARTICLE = /^[了过着的地得吗呢吧啊呀嘛么啦哦哈喽咯哇噢]/u;
const COMPLEMENT = /^(?:完|好了|好没|好几|成功|一下|一次|一遍|一趟|下来|上来|出来|起来|回来|过去|上去|下去|到|给|不了|得了)/u;
const ADVERB = /^(?:都|也|还|就|才|又|再|已|不|没|别|无|未|要|能|可以|可不可以|会|该|应该|应当|需|得|必须|太|很|挺|真|最|更|比较|非常|特别|总|老是|一直|确实|其实|是|算|只|光|先)/u;
const PREPOSITION = /^(?:在|找|向|对|跟|和|与|同|及|或|时|期间|之后|以后|之前|以前|中|当中|过程|的话)/u;
const QUESTION = /^(?:怎|咋|如何|啥|什么|哪|谁|多少|多久|多长|几|为什么|为啥|何)/u;
const ADDRESSEE = /^(?:大家|各位|诸位|邻居们|朋友们|群友|群里|亲们|家人们|你们|您|乡亲们)/u;
const DEMONSTRATIVE = /^[这那](?:个|种|样|件|次|回|事|功能|办法|类)/u;
const EVALUATIVE = /^(?:辛苦|麻烦|方便|容易|难|简单|复杂|累|快|慢|顺利|失败|结束|开始|完毕|进行|继续|暂停|有用|没用|管用|有效|有效果|有回音|有结果|有下文|有人管|有没有)/u;
/** Noun heads that make the command verb a modifier (报事人, 投诉电话). Two-character heads are unambiguous. */
const NOUN_HEAD =
  /^(?:系统|电话|热线|机制|流程|方式|渠道|次数|工作|任务|对象|名单|记录|结果|内容|平台|功能|程序|小程序|格式|规则|办法|制度|中心|窗口|入口|页面|按钮|指令|模板|师傅|材料|数据|报表|表格|信息|统计|名额|资料|文件|照片|信箱|邮箱|人员|专线|号码|情况表|事项|员|者|帖|率|群)/u;
/** One-character heads that can also open an ordinary noun (人行道, 单元, 信号, 本地): a head unless they do. */
const SHORT_HEAD = /^(?:人(?![行家工])|单(?!元)|表(?![面哥姐弟妹])|信(?![号用])|箱(?![子]?[里内])|本(?![地村组周月])|点(?![儿])|处)/u;
/** Numeral + a classifier that counts the activity itself (走访两户了, 报修一次收多少钱), not a thing reported. */
const ACTIVITY_COUNT = /^(?:[0-9０-９]+|[一二两三四五六七八九十几好多]+)\s*(?:户|次|遍|趟|回|家|天|周|个月|月|年)/u;
/** 后 / 前 as a localizer ("after reporting …") when a predicate follows; 后山 / 前面 are places. */
const TIME_LOCALIZER = /^[后前](?=[没不就才又也都还一他她我你有过了，,。\s]|$)/u;
/** Generic objects (反映问题 / 反映情况): skipped, and the rule applied again to what follows them. */
const GENERIC_OBJECT = /^(?:一个|个|一件|件|一下)?(?:问题|情况|事情|事儿|一件事)/u;

export type Reading = { command: true; rest: string } | { command: false };

const SEPARATED = /^[\s：:，,、；;！!]/u;
const LEADING_SEPARATORS = /^[\s：:，,、；;！!]+/u;
const CHAT_AFTER_VERB = [PARTICLE, COMPLEMENT, ADVERB, PREPOSITION, QUESTION, DEMONSTRATIVE, EVALUATIVE, NOUN_HEAD, SHORT_HEAD, ACTIVITY_COUNT, TIME_LOCALIZER];

/**
 * `rest` follows a free-text command `word` (报事, 走访 …): does it read as the verb's object? When it does, returns
 * the object, with a generic object such as 问题 / 情况 taken off (反映问题：路灯坏了 → 路灯坏了).
 */
export function objectAfter(word: string, rest: string): Reading {
  let text = rest;
  const generic = GENERIC_OBJECT.exec(text);
  if (generic) {
    // 反映问题 alone names no matter: nothing to register.
    if (generic[0].length === text.length) return { command: false };
    text = text.slice(generic[0].length);
  }
  const body = text.replace(LEADING_SEPARATORS, "");
  // The addressee and meta questions read as chat even after a separator (求助，各位 / 报事 怎么用).
  if (ADDRESSEE.test(body) || META_QUESTION.test(body)) return { command: false };
  if (SEPARATED.test(text)) return { command: true, rest: text };
  // The verb again: 报事报了半天, 反映反映.
  if (!generic && body.startsWith(word.charAt(0))) return { command: false };
  if (CHAT_AFTER_VERB.some((cls) => cls.test(body))) return { command: false };
  return { command: true, rest: text };
}

/** A body that only asks how the command works (报事 怎么用？). */
const META_QUESTION = /^(?:怎么|怎样|如何|咋)(?:用|弄|报|搞|操作|写|发|填|办|做)?(?:啊|呀|呢|吗|的)?[\s?？。!！]*$/u;

/**
 * After a ticket number written N号 with text glued to it: is N号 a ticket (回复7号电工明天到) or part of an address,
 * a date or a quantity (7号楼, 3号之前, 7号下午)? A place noun, a time word or a particle after 号 means it is not.
 */
const NOT_A_TICKET_AFTER_HAO =
  /^(?:楼|栋|幢|单元|门|室|房|院|铺|店|地|田|塘|池|井|杆|灯|路灯|线|桥|车|床|柜|箱|窗|棚|渠|库|仓|口|厂|场|馆|区|组|村|屯|街|巷|路|道|家|上午|下午|晚上|早上|中午|凌晨|傍晚|白天|夜里|前|后|之前|之后|以前|以后|左右|当天|那天|这天|开始|截止|起|至|到|的|那|这|和|或|[0-9０-９一二三四五六七八九十两]|[点時时]|[吗呢吧啊呀嘛])/u;

export const haoStartsText = (after: string) => !NOT_A_TICKET_AFTER_HAO.test(after);
