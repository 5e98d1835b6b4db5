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
