// swagger-typescript-api, fetch client. It sets `format` (how to read the body) only for
// JSON, image/* and form data; audio/* gets none, so data is null. Setting: format "blob"
// per call, which also applies to error bodies.
import { Api, type HttpResponse, type ErrorEnvelope } from "./client/api";
import { BASE, KEY, matrix } from "./common";

const api = new Api({ baseUrl: BASE, baseApiParams: { headers: { "xi-api-key": KEY } } });
const anonymous = new Api({ baseUrl: BASE });

await matrix(
  async (id) => (await api.v1.downloadHistoryAudio(id, { format: "blob" })).data,
  async (id, key) => {
    try {
      const r = await (key === null ? anonymous : api).v1.downloadHistoryAudio(id, { format: "blob" });
      return { status: r.status, code: undefined, typed: false, how: "no error" };
    } catch (e) {
      // Thrown: HttpResponse<Blob, ErrorEnvelope>, error typed as ErrorEnvelope.
      const r = e as HttpResponse<Blob, ErrorEnvelope>;
      const kind = r.error instanceof Blob ? "a Blob" : r.error === null ? "null" : typeof r.error;
      return { status: r.status, code: r.error?.error?.code, typed: true, how: `r.error.error.code; r.error is ${kind}` };
    }
  },
  ["the thrown value is typed only by a cast in catch (HttpResponse<Blob, ErrorEnvelope>)"],
);
