// Shared by every TypeScript program of the matrix: the expectations, hashing, the output.
// A program only says how its generated client downloads and how it reads an error.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

export const BASE = process.env.BREEZE_BASE_URL as string;
export const KEY = process.env.BREEZE_API_KEY as string;

type Expected = {
  downloads: Record<string, { media_type: string; sha256: string; length: number }>;
  errors: Record<string, { status: number; code: string }>;
  unauth: { item: string; status: number; code: string };
};
const expected: Expected = JSON.parse(readFileSync(process.env.INTEROP_EXPECTED as string, "utf8"));

/** What a program learnt from one error: `typed` says the code was read through a type the
 * generated client gives for this response (no cast from any/unknown, no JSON.parse by hand). */
export type ErrorOutcome = { status: number; code: unknown; typed: boolean; how: string };

export async function bytesOf(value: unknown): Promise<{ sha256?: string; length?: number; kind: string }> {
  let buf: Buffer;
  let kind: string;
  if (value instanceof Blob) {
    buf = Buffer.from(await value.arrayBuffer());
    kind = "Blob";
  } else if (value instanceof ArrayBuffer) {
    buf = Buffer.from(value);
    kind = "ArrayBuffer";
  } else if (value instanceof Uint8Array) {
    buf = Buffer.from(value);
    kind = "Uint8Array";
  } else if (typeof value === "string") {
    buf = Buffer.from(value, "utf8");
    kind = `string of ${value.length} chars`;
  } else {
    return { kind: value === null ? "null" : typeof value };
  }
  return { sha256: createHash("sha256").update(buf).digest("hex"), length: buf.length, kind };
}

export async function matrix(
  download: (id: string) => Promise<unknown>,
  error: (id: string, key: string | null) => Promise<ErrorOutcome>,
  notes: string[] = [],
): Promise<void> {
  const out: Record<string, unknown> = { downloads: {}, errors: {}, notes };
  const attempt = async <T>(f: () => Promise<T>): Promise<T | { fail: string }> => {
    try {
      return await f();
    } catch (e) {
      return { fail: `threw ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message ?? e).slice(0, 120)}` };
    }
  };
  for (const id of Object.keys(expected.downloads)) {
    (out.downloads as Record<string, unknown>)[id] = await attempt(async () => bytesOf(await download(id)));
  }
  for (const id of Object.keys(expected.errors)) {
    (out.errors as Record<string, unknown>)[id] = await attempt(() => error(id, KEY));
  }
  out.unauth = await attempt(() => error(expected.unauth.item, null));
  console.log(JSON.stringify(out));
}
