// orval, axios client. orval itself puts responseType: 'blob' on the binary operation, but
// axios's default adapter in Node (http) has no Blob and hands back the body decoded as
// text. Setting: axios's fetch adapter (`adapter: "fetch"`), which does make a Blob.
// axios types the error as AxiosError<unknown>: reading the envelope needs a type argument
// the developer picks (isAxiosError<ErrorEnvelope>), which is an unchecked cast.
import axios, { isAxiosError } from "axios";
import { getBreezeBlueAPI, type ErrorEnvelope } from "./client/api";
import { BASE, KEY, matrix } from "./common";

const api = getBreezeBlueAPI(axios.create({ baseURL: BASE, adapter: "fetch", headers: { "xi-api-key": KEY } }));
const anonymous = getBreezeBlueAPI(axios.create({ baseURL: BASE, adapter: "fetch" }));

await matrix(
  async (id) => (await api.downloadHistoryAudio(id)).data,
  async (id, key) => {
    try {
      const r = await (key === null ? anonymous : api).downloadHistoryAudio(id);
      return { status: r.status, code: undefined, typed: false, how: "no error" };
    } catch (e) {
      if (!isAxiosError<ErrorEnvelope>(e) || !e.response) throw e;
      const body: unknown = e.response.data;
      const kind = body instanceof Blob ? "Blob" : typeof body;
      // With responseType 'blob' the error body is a Blob, not the envelope its type claims.
      const code = body instanceof Blob ? undefined : e.response.data.error?.code;
      return { status: e.response.status, code, typed: false, how: `AxiosError<unknown> cast; body is ${kind}` };
    }
  },
);
