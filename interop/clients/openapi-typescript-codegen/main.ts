// openapi-typescript-codegen, fetch client. No setting for binary bodies: any non-JSON
// content type is read with response.text(). ApiError.body is `any`.
import { ApiError, HistoryService, OpenAPI } from "./client";
import { BASE, KEY, matrix } from "./common";

OpenAPI.BASE = BASE;

await matrix(
  async (id) => {
    OpenAPI.HEADERS = { "xi-api-key": KEY };
    return await HistoryService.downloadHistoryAudio(id);
  },
  async (id, key) => {
    OpenAPI.HEADERS = key === null ? {} : { "xi-api-key": key };
    try {
      await HistoryService.downloadHistoryAudio(id);
      return { status: 200, code: undefined, typed: false, how: "no error" };
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      return { status: e.status, code: e.body?.error?.code, typed: false, how: "ApiError.body is any" };
    }
  },
);
