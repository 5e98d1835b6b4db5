export * from "./directory.js";
export * from "./messaging.js";
export * from "./tickets.js";
export * from "./visits.js";
export * from "./media.js";
export * from "./meetings.js";
export * from "./circulars.js";
export * from "./mediations.js";
