// @hey-api/openapi-ts with its fetch client: audio/* is parsed as a Blob by content type.
import { createClient } from "./client/client";
import { client } from "./client/client.gen";
import { downloadHistoryAudio } from "./client/sdk.gen";
import { BASE, KEY, matrix } from "./common";

client.setConfig({ baseUrl: BASE, auth: () => KEY });
const anonymous = createClient({ baseUrl: BASE });

await matrix(
  async (id) => {
    const { data, error } = await downloadHistoryAudio({ path: { history_item_id: id } });
    if (error !== undefined) throw new Error(`error ${JSON.stringify(error)}`);
    return data;
  },
  async (id, key) => {
    const { error, response } = await downloadHistoryAudio({
      path: { history_item_id: id },
      ...(key === null ? { client: anonymous } : {}),
    });
    // error: DownloadHistoryAudioError (ErrorEnvelope for every documented status)
    return { status: response?.status ?? 0, code: error?.error.code, typed: true, how: "error.error.code" };
  },
);
