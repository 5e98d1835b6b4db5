/**
 * DingTalk wire shapes we read (Stream frames, robot messages, card callbacks). Our own types: the SDK's
 * `RobotMessage` lacks atUsers, isInAtList, content and sessionWebhookExpiredTime.
 * See /work/shared/docs/protocols/dingtalk.md §1.3, §2 and §5.
 */

/** A frame pushed over the Stream WebSocket. `data` is JSON encoded as a string. */
export type StreamFrame = {
  specVersion?: string;
  type: "SYSTEM" | "EVENT" | "CALLBACK" | string;
  headers: { topic: string; messageId: string; contentType?: string; time?: string; [k: string]: unknown };
  data: string;
};

export type RobotMessage = {
  msgtype: string;
  msgId: string;
  createAt?: number | string;
  conversationType: "1" | "2" | string;
  conversationId: string;
  conversationTitle?: string;
  senderId?: string;
  senderStaffId?: string;
  senderNick?: string;
  robotCode?: string;
  isInAtList?: boolean;
  atUsers?: { dingtalkId: string; staffId?: string }[];
  sessionWebhook?: string;
  sessionWebhookExpiredTime?: number | string;
  /**
   * A reply quoting an earlier message carries it in `text.repliedMsg` (not in DingTalk's published receive
   * tables; seen by integrators, see docs/platforms.md): read when present, never required.
   */
  text?: { content?: string; isReplyMsg?: boolean; repliedMsg?: RepliedMessage };
  content?: {
    recognition?: string;
    /** picture (and audio, video, file): the code the robot message-file download API takes. */
    downloadCode?: string;
    pictureDownloadCode?: string;
    richText?: { text?: string; type?: string; downloadCode?: string; pictureDownloadCode?: string }[];
    [k: string]: unknown;
  };
};

export type RepliedMessage = {
  msgType?: string;
  msgId?: string;
  senderId?: string;
  content?: string | { text?: string; richText?: { text?: string; type?: string; msgType?: string; content?: string }[] };
};

/** The `data` of a card callback frame (TOPIC_CARD). `content` is JSON encoded as a string again. */
export type CardCallback = {
  type?: string;
  outTrackId: string;
  corpId?: string;
  userId: string;
  userIdType?: number;
  spaceType?: string;
  spaceId?: string;
  extension?: string;
  content?: string;
};

export const TOPIC_ROBOT = "/v1.0/im/bot/messages/get";
export const TOPIC_CARD = "/v1.0/card/instances/callback";
