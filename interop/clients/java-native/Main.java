// openapi-generator java (library=native: java.net.http + Jackson). The audio comes back as
// a java.io.File (a temp file); an error throws ApiException with the body as a String,
// which the generated model and the generated JSON mapper decode.
import bb.ApiClient;
import bb.ApiException;
import bb.JSON;
import bb.api.HistoryApi;
import bb.model.ErrorEnvelope;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Iterator;

public class Main {
  static final ObjectMapper M = new ObjectMapper();

  static HistoryApi api(String key) {
    ApiClient client = new ApiClient();
    client.updateBaseUri(System.getenv("BREEZE_BASE_URL"));
    if (key != null) client.setRequestInterceptor(b -> b.header("xi-api-key", key));
    return new HistoryApi(client);
  }

  static ObjectNode error(String id, String key) {
    ObjectNode o = M.createObjectNode();
    try {
      api(key).downloadHistoryAudio(id, null, null);
      o.put("status", 200).put("typed", false).put("how", "no error");
    } catch (ApiException e) {
      o.put("status", e.getCode());
      try {
        ErrorEnvelope env = JSON.getDefault().getMapper().readValue(e.getResponseBody(), ErrorEnvelope.class);
        Object code = env.getError().getCode();
        o.put("code", code instanceof String ? (String) code : "<" + code.getClass().getSimpleName() + ">");
        o.put("typed", true).put("how", "ErrorEnvelope from e.getResponseBody(); getCode() is " + code.getClass().getSimpleName());
      } catch (Exception parse) {
        o.put("fail", "decode: " + parse);
      }
    } catch (Exception other) {
      o.put("fail", other.toString());
    }
    return o;
  }

  public static void main(String[] args) throws Exception {
    JsonNode expected = M.readTree(new File(System.getenv("INTEROP_EXPECTED")));
    String key = System.getenv("BREEZE_API_KEY");
    ObjectNode out = M.createObjectNode();
    ObjectNode downloads = out.putObject("downloads");
    for (Iterator<String> it = expected.get("downloads").fieldNames(); it.hasNext(); ) {
      String id = it.next();
      ObjectNode d = downloads.putObject(id);
      try {
        File f = api(key).downloadHistoryAudio(id, null, null);
        byte[] bytes = Files.readAllBytes(f.toPath());
        d.put("sha256", HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        d.put("length", bytes.length).put("kind", "File");
      } catch (Exception e) {
        d.put("fail", e.toString());
      }
    }
    ObjectNode errors = out.putObject("errors");
    for (Iterator<String> it = expected.get("errors").fieldNames(); it.hasNext(); ) {
      String id = it.next();
      errors.set(id, error(id, key));
    }
    out.set("unauth", error(expected.get("unauth").get("item").asText(), null));
    System.out.println(M.writeValueAsString(out));
  }
}
