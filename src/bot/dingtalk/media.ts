/**
 * Photos of robot messages: the robot message-file download API (POST /v1.0/robot/messageFiles/download with
 * `{downloadCode, robotCode}`, the app token in x-acs-dingtalk-access-token) answers a temporary `downloadUrl`,
 * and the file is fetched from there. A fresh URL is asked for on every try.
 */
import type { MediaSource } from "../../db/schema/index.js";
import { type MediaFetcher, MediaError } from "../../workflows/media/job.js";
import { download } from "../media/download.js";
import { type DingTalkApi, DingTalkError } from "./api.js";

export function dingtalkMediaFetcher(api: DingTalkApi): MediaFetcher {
  return {
    platform: "dingtalk",
    async fetch(source: MediaSource): Promise<Buffer> {
      if (source.platform !== "dingtalk") throw new MediaError("refused", "not a DingTalk photo");
      let answer: Record<string, unknown>;
      try {
        answer = await api.openApi("POST", "/v1.0/robot/messageFiles/download", {
          downloadCode: source.downloadCode,
          robotCode: api.config.robotCode,
        });
      } catch (err) {
        // A code DingTalk refuses (invalid, expired, not this robot's) never becomes valid; the rest is retried.
        if (err instanceof DingTalkError && err.kind === "permanent") throw new MediaError("refused", err.message);
        throw err;
      }
      const url = typeof answer.downloadUrl === "string" ? answer.downloadUrl : "";
      if (!url) throw new MediaError("refused", "no downloadUrl in the answer");
      return download(url, { timeoutMs: api.config.timeoutMs });
    },
  };
}
