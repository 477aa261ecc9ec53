// Converse and ConverseStream with the AWS SDK for JavaScript v3 on its DEFAULT request handler (the runtime
// client's is NodeHttp2Handler: HTTP/2 only; h2c with prior knowledge for http:// endpoints, ALPN h2 for https://).
// Usage: node runtime_stream.cjs <input.json>   (NODE_PATH points at the installed @aws-sdk packages)
// input: {"endpoint", "region", "modelId", "accessKeyId"?, "secretAccessKey"?, "token"?}
//   token: a bearer token (the SDK reads it as AWS_BEARER_TOKEN_BEDROCK does); else the SigV4 key pair.
// Output: {"handler", "Converse": {...} | {"error"}, "ConverseStream": {"events", "text", "stopReason", "usage"} | {"error"}}
"use strict";
const fs = require("fs");
const { BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand } = require("@aws-sdk/client-bedrock-runtime");

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const config = { endpoint: input.endpoint, region: input.region, maxAttempts: 1 };
  if (input.token) {
    config.token = { token: input.token };
    config.authSchemePreference = ["httpBearerAuth"];
  } else {
    config.credentials = { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey };
  }
  const rt = new BedrockRuntimeClient(config);
  const messages = [{ role: "user", content: [{ text: "hello from node over HTTP/2" }] }];
  const out = {};
  try {
    const result = await rt.send(new ConverseCommand({ modelId: input.modelId, messages }));
    delete result.$metadata;
    out.Converse = result;
  } catch (err) {
    out.Converse = { error: err.name, status: err.$metadata ? err.$metadata.httpStatusCode : null, message: err.message };
  }
  try {
    const result = await rt.send(new ConverseStreamCommand({ modelId: input.modelId, messages }));
    const events = [];
    let text = "";
    let stopReason = null;
    let usage = null;
    for await (const event of result.stream) {
      const name = Object.keys(event)[0];
      events.push(name);
      if (event.contentBlockDelta && event.contentBlockDelta.delta.text) text += event.contentBlockDelta.delta.text;
      if (event.messageStop) stopReason = event.messageStop.stopReason;
      if (event.metadata) usage = event.metadata.usage;
    }
    out.ConverseStream = { events, text, stopReason, usage };
  } catch (err) {
    out.ConverseStream = { error: err.name, status: err.$metadata ? err.$metadata.httpStatusCode : null, message: err.message };
  }
  // the handler the client resolved (the SDK builds it lazily, on the first send)
  out.handler = rt.config.requestHandler.constructor.name;
  rt.destroy();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
