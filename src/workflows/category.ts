/** A first guess at a report's category and urgency from its words; leaders see it, digests group by it. */
const CATEGORIES: [string, RegExp][] = [
  ["安全隐患", /安全|隐患|着火|火灾|燃气|煤气|漏电|危房|塌|溺水|山体|滑坡/],
  ["矛盾纠纷", /纠纷|吵架|矛盾|打架|争执|占地|宅基地|边界/],
  ["农业水利", /山塘|灌溉|农田|水渠|春耕|抗旱|水库|排涝|庄稼/],
  ["环境卫生", /垃圾|污水|臭|卫生|噪音|噪声|粪|排污|乱堆/],
  ["基础设施", /路灯|灯不亮|灯坏|楼道灯|道路|路面|马路|桥|水管|停水|停电|电线|网络|井盖|自来水|坑|漏水|漏雨|水沟|下水道|排水|管道|电梯/],
  ["民生服务", /低保|医保|社保|养老|证明|补贴|办证|户口|就业|看病/],
];

export function classify(text: string): { category: string; urgent: boolean } {
  const category = CATEGORIES.find(([, re]) => re.test(text))?.[0] ?? "其他";
  const urgent = /紧急|加急|急事|危险|着火|火灾|救命|溺水/.test(text);
  return { category, urgent };
}

/** Words that say something is wrong (broken, leaking, blocked, missing, unsafe, someone in need). */
const TROUBLE = /坏|漏|堵|塌|裂|断|停水|停电|没水|没电|不亮|不通|积水|淹|臭|脏|乱|吵|噪|危险|隐患|着火|冒烟|起火|掉|倒了|破|松|故障|没人管|没人修|丢|偷|纠纷|打架|吵架|摔|走失|晕倒|生病|被困|求助|帮忙|救命|投诉|反映/u;

/** Does a message addressed to the bot describe a problem (so it is worth asking whether to register it)? */
export function describesProblem(text: string): boolean {
  return TROUBLE.test(text) || classify(text).category !== "其他";
}
