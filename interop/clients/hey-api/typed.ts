import type { DownloadHistoryAudioError } from "./client/types.gen";
declare const e: DownloadHistoryAudioError;
export const code: string = e.error.code;
