// openapi-typescript types + openapi-fetch. Setting: parseAs "arrayBuffer" (the default
// parses JSON); error bodies are parsed as JSON by openapi-fetch whatever parseAs says.
import createClient from "openapi-fetch";
import type { paths } from "./client/api";
import { BASE, KEY, matrix } from "./common";

const client = createClient<paths>({ baseUrl: BASE });
const path = "/v1/history/{history_item_id}/audio" as const;

await matrix(
  async (id) => {
    const { data, error } = await client.GET(path, {
      params: { path: { history_item_id: id } },
      headers: { "xi-api-key": KEY },
      parseAs: "arrayBuffer",
    });
    if (error !== undefined) throw new Error(`error ${JSON.stringify(error)}`);
    return data;
  },
  async (id, key) => {
    const { error, response } = await client.GET(path, {
      params: { path: { history_item_id: id } },
      headers: key === null ? {} : { "xi-api-key": key },
      parseAs: "arrayBuffer",
    });
    // error: the union of the documented error bodies, i.e. ErrorEnvelope
    return { status: response.status, code: error?.error.code, typed: true, how: "error.error.code" };
  },
);
