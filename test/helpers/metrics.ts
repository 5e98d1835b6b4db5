/** A sample's value in a bot's /metrics, fetched over HTTP (0 when absent). */
export async function metricValue(base: string | URL, sample: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", base))).text();
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
