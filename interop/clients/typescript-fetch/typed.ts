import type { ErrorEnvelope } from "./client";
declare const e: ErrorEnvelope;
export const code: string = e.error.code;
