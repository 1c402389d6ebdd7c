/**
 * `node main.js BASE_URL API_KEY HISTORY_ITEM_ID...`: download each item, print one JSON line
 * per item (what arrived, or how the error was handled). tests/test_spec.py compiles and runs
 * it against the bundled reference server.
 */
import { BreezeBlueApiError, createBreezeBlueClient, downloadAudio } from "./download.js";

// Node's `process`, declared here rather than pulling in @types/node for one line.
declare const process: { readonly argv: readonly string[] };

async function report(baseUrl: string, apiKey: string, historyItemId: string): Promise<object> {
  const client = createBreezeBlueClient(apiKey, baseUrl);
  try {
    const audio = await downloadAudio(client, historyItemId);
    let bytes = 0;
    for await (const chunk of audio.body) bytes += chunk.byteLength;
    const { mediaType, filename, apiKeyId } = audio;
    return { historyItemId, ok: true, mediaType, filename, apiKeyId, bytes };
  } catch (err) {
    if (err instanceof BreezeBlueApiError) {
      const { status, code, requestId, next } = err;
      return { historyItemId, ok: false, status, code, requestId, action: next.action };
    }
    throw err;
  }
}

const [baseUrl, apiKey, ...ids] = process.argv.slice(2);
if (baseUrl === undefined || apiKey === undefined || ids.length === 0) {
  throw new Error("usage: node main.js BASE_URL API_KEY HISTORY_ITEM_ID...");
}
for (const id of ids) {
  console.log(JSON.stringify(await report(baseUrl, apiKey, id)));
}
