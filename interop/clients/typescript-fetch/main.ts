// openapi-generator typescript-fetch. Errors throw ResponseError (a Response inside); the
// generated ErrorEnvelopeFromJSON decodes the body into the generated model.
import { Configuration, ErrorEnvelopeFromJSON, HistoryApi, ResponseError } from "./client";
import { BASE, KEY, matrix } from "./common";

const api = new HistoryApi(new Configuration({ basePath: BASE, apiKey: KEY }));
const anonymous = new HistoryApi(new Configuration({ basePath: BASE }));

await matrix(
  async (id) => await api.downloadHistoryAudio({ historyItemId: id }),
  async (id, key) => {
    try {
      await (key === null ? anonymous : api).downloadHistoryAudio({ historyItemId: id });
      return { status: 200, code: undefined, typed: false, how: "no error" };
    } catch (e) {
      if (!(e instanceof ResponseError)) throw e;
      const envelope = ErrorEnvelopeFromJSON(await e.response.json());
      return { status: e.response.status, code: envelope.error.code, typed: true, how: "ErrorEnvelopeFromJSON(...).error.code" };
    }
  },
);
