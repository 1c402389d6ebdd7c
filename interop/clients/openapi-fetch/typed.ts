import type { components } from "./client/api";
declare const e: components["schemas"]["ErrorEnvelope"];
export const code: string = e.error.code;
