/**
 * Generate `api.ts` from `openapi.yaml` with openapi-typescript's Node API.
 *
 * Usage: node generate-types.mjs SPEC OUTPUT [SPEC OUTPUT ...]
 *
 * The output is openapi-typescript's own (`enumValues: true`), plus one addition for the
 * spec's extensible enums. An extensible enum is an open string whose known values are listed
 * in `examples` and whose description starts with "Extensible enum" (the convention of
 * Zalando's API guideline 112 for OpenAPI 3.1). openapi-typescript types such a schema as
 * `string`, which is right, since any string may come; the known values are lost, though.
 * So for each one this adds `known<Name>Values`, a readonly tuple of the values, from which a
 * consumer derives the union it switches over. A code added to or removed from the spec then
 * changes the union, and a switch that is no longer exhaustive fails to type-check.
 */
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const SCHEMA_PATH = /^#\/components\/schemas\/([A-Za-z][A-Za-z0-9]*)$/;

function isExtensibleEnum(schema) {
  return (
    schema.type === "string" &&
    !("enum" in schema) &&
    Array.isArray(schema.examples) &&
    schema.examples.every((value) => typeof value === "string") &&
    typeof schema.description === "string" &&
    schema.description.startsWith("Extensible enum")
  );
}

async function generate(spec, output) {
  const extensible = new Map();
  const ast = await openapiTS(pathToFileURL(spec), {
    enumValues: true,
    transform(schema, { path }) {
      const name = SCHEMA_PATH.exec(path ?? "")?.[1];
      if (name && isExtensibleEnum(schema)) {
        extensible.set(name, schema.examples);
      }
      return undefined; // the type itself stays openapi-typescript's: string
    },
  });
  let text = astToString(ast);
  for (const [name, values] of extensible) {
    text +=
      `\n/** The values \`${name}\` names today (its \`examples\`); any other string may come too. */\n` +
      `export const known${name}Values = ${JSON.stringify(values)} as const;\n`;
  }
  writeFileSync(output, text);
}

const args = process.argv.slice(2);
if (args.length === 0 || args.length % 2 !== 0) {
  console.error("usage: node generate-types.mjs SPEC OUTPUT [SPEC OUTPUT ...]");
  process.exit(2);
}
for (let i = 0; i < args.length; i += 2) {
  await generate(args[i], args[i + 1]);
}
