import type { ErrorEnvelope } from "./client/api";
declare const e: ErrorEnvelope;
export const code: string = e.error.code;
