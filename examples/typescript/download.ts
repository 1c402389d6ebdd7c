/**
 * Download a history item's audio from TypeScript, with a client typed from openapi.yaml.
 *
 * `api.ts` is generated from the spec by openapi-typescript (`make ts-check` does it, then
 * runs `tsc --noEmit`). Everything the example touches comes from those types: the path and
 * its parameter, the audio media types, the names of the response headers it reads, the
 * error envelope and the catalogue of error codes. A change to openapi.yaml that would break
 * a TypeScript consumer (a renamed header, path or field, a code added to or removed from
 * the known values of `ErrorCode`) makes the type-check, and so `make test`, fail.
 */
import createClient, { type Client } from "openapi-fetch";

import { knownErrorCodeValues } from "./api.js";
import type { components, operations, paths } from "./api.js";

type Download = operations["downloadHistoryAudio"];
type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];
/** The codes the spec names today: `ErrorCode` is an extensible enum (`generate-types.mjs`). */
export type KnownErrorCode = (typeof knownErrorCodeValues)[number];
/** `"audio/mpeg" | "audio/wav" | ...`: the media types the spec says the audio comes in. */
export type AudioMediaType = keyof Download["responses"][200]["content"];

/** The header names a response declares in the spec (its `[name: string]` catch-all removed). */
type DeclaredHeaders<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] } & string;
type AudioHeader = DeclaredHeaders<Download["responses"][200]["headers"]>;
type PartialAudioHeader = DeclaredHeaders<Download["responses"][206]["headers"]>;

/** Reads a header the spec declares for the audio responses; any other name does not compile. */
function header(response: Response, name: AudioHeader & PartialAudioHeader): string | null {
  return response.headers.get(name);
}

const AUDIO_MEDIA_TYPES = {
  "audio/mpeg": "mp3",
  "audio/wav": "wav",
  "audio/flac": "flac",
  "audio/aac": "aac",
  "audio/opus": "opus",
  "audio/pcm": "pcm",
} as const satisfies Record<AudioMediaType, string>;

function isAudioMediaType(value: string): value is AudioMediaType {
  return Object.hasOwn(AUDIO_MEDIA_TYPES, value);
}

export function isKnownErrorCode(code: string): code is KnownErrorCode {
  return (knownErrorCodeValues as readonly string[]).includes(code);
}

export type BreezeBlueClient = Client<paths>;

export function createBreezeBlueClient(
  apiKey: string,
  baseUrl = "https://api.breeze.blue",
): BreezeBlueClient {
  return createClient<paths>({ baseUrl, headers: { "xi-api-key": apiKey } });
}

export interface Audio {
  body: ReadableStream<Uint8Array>;
  mediaType: AudioMediaType;
  /** The server's suggested filename, from `content-disposition`. */
  filename: string;
  /** The public id of the API key that was used (never the key), from `x-breeze-api-key-id`. */
  apiKeyId: string | null;
}

/** What a caller should do about an error, decided by the envelope's `code`. */
export type ErrorAction =
  | { action: "fix-request" | "check-api-key" | "give-up"; message: string }
  | { action: "retry"; message: string; retryAfter: string | null };

export class BreezeBlueApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    readonly requestId: string | null,
    readonly next: ErrorAction,
  ) {
    super(`HTTP ${status}${code === null ? "" : ` ${code}`}: ${next.message}`);
    this.name = "BreezeBlueApiError";
  }
}

/** Handles the error envelope by `code`: every code of the spec's catalogue, and no other. */
export function actionFor(
  code: KnownErrorCode,
  message: string,
  retryAfter: string | null,
): ErrorAction {
  switch (code) {
    case "INVALID_REQUEST":
      return { action: "fix-request", message };
    case "UNAUTHENTICATED":
    case "PERMISSION_DENIED":
      return { action: "check-api-key", message };
    case "RESOURCE_NOT_FOUND":
    case "GENERATION_FAILED":
      return { action: "give-up", message };
    case "GENERATION_NOT_READY":
    case "RATE_LIMITED":
    case "INTERNAL_ERROR":
    case "SERVICE_UNAVAILABLE":
      return { action: "retry", message, retryAfter };
    default: {
      // A code added to ErrorCode's known values in openapi.yaml and not handled above fails here.
      const unhandled: never = code;
      throw new Error(`unhandled error code ${String(unhandled)}`);
    }
  }
}

/** An unknown code (the set is open) or a body that is no envelope: decide by the status. */
function actionForStatus(
  status: number,
  message: string,
  retryAfter: string | null,
): ErrorAction {
  if (status === 401 || status === 403) return { action: "check-api-key", message };
  if (status === 409 || status === 429 || status >= 500) {
    return { action: "retry", message, retryAfter };
  }
  if (status === 404 || status === 422) return { action: "give-up", message };
  return { action: "fix-request", message };
}

function toApiError(
  response: Response,
  error: ErrorEnvelope | string | undefined,
): BreezeBlueApiError {
  const retryAfter = response.headers.get("retry-after");
  // openapi-fetch parses a JSON body; anything else (an HTML 502 page) arrives as text.
  const detail = typeof error === "object" && error !== null ? error.error : undefined;
  if (detail === undefined || typeof detail.code !== "string") {
    const text =
      typeof error === "string" && error !== "" ? error.slice(0, 200) : response.statusText;
    const next = actionForStatus(response.status, text, retryAfter);
    return new BreezeBlueApiError(response.status, null, null, next);
  }
  const { code, message, request_id: requestId = null } = detail;
  const next = isKnownErrorCode(code)
    ? actionFor(code, message, retryAfter)
    : actionForStatus(response.status, message, retryAfter);
  return new BreezeBlueApiError(response.status, code, requestId, next);
}

function filenameFrom(
  contentDisposition: string | null,
  historyItemId: string,
  mediaType: AudioMediaType,
): string {
  const match = /filename="?([^";]+)"?/i.exec(contentDisposition ?? "");
  // Only a base name: never a path the server chose.
  const name = match?.[1]?.split(/[\\/]/).pop()?.trim();
  return name !== undefined && name !== "" && name !== "." && name !== ".."
    ? name
    : `${historyItemId}.${AUDIO_MEDIA_TYPES[mediaType]}`;
}

/** Sends `GET /v1/history/{history_item_id}/audio`; the body is left to stream. */
export async function downloadAudio(
  client: BreezeBlueClient,
  historyItemId: string,
): Promise<Audio> {
  const { data, error, response } = await client.GET("/v1/history/{history_item_id}/audio", {
    params: { path: { history_item_id: historyItemId } },
    parseAs: "stream",
  });
  if (error !== undefined || !response.ok) {
    throw toApiError(response, error);
  }
  const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim() ?? "";
  if (data === null || !isAudioMediaType(mediaType)) {
    await data?.cancel();
    throw new Error(`expected audio, got ${mediaType || "no content-type"}`);
  }
  return {
    body: data,
    mediaType,
    filename: filenameFrom(header(response, "content-disposition"), historyItemId, mediaType),
    apiKeyId: header(response, "x-breeze-api-key-id"),
  };
}
