// Drive the AWS SDK for JavaScript v3 Bedrock clients against the sandbox and print what they parsed.
// Usage: node bedrock_clients.cjs <input.json>   (NODE_PATH points at the installed @aws-sdk packages)
// input: {"endpoint", "region", "agentId", "jobName", "customModel", "knowledgeBaseId"}
// Output: one JSON object, operation -> parsed result (dates as ISO strings) or {"error": name, "status": n}.
"use strict";
const fs = require("fs");
const { BedrockClient, ...bedrock } = require("@aws-sdk/client-bedrock");
const { BedrockAgentClient, ...agent } = require("@aws-sdk/client-bedrock-agent");
const { BedrockRuntimeClient, ...runtime } = require("@aws-sdk/client-bedrock-runtime");

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const config = {
    endpoint: input.endpoint,
    region: input.region,
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "testing" },
    maxAttempts: 1,
  };
  const br = new BedrockClient(config);
  const ag = new BedrockAgentClient(config);
  // The runtime client's default handler is HTTP/2 (h2c with prior knowledge here); the sandbox serves it.
  const rt = new BedrockRuntimeClient(config);
  const calls = {
    ListFoundationModels: () => br.send(new bedrock.ListFoundationModelsCommand({})),
    ListCustomModels: () => br.send(new bedrock.ListCustomModelsCommand({})),
    GetCustomModel: () => br.send(new bedrock.GetCustomModelCommand({ modelIdentifier: input.customModel })),
    ListModelCustomizationJobs: () => br.send(new bedrock.ListModelCustomizationJobsCommand({})),
    GetModelCustomizationJob: () => br.send(new bedrock.GetModelCustomizationJobCommand({ jobIdentifier: input.jobName })),
    GetModelInvocationLoggingConfiguration: () =>
      br.send(new bedrock.GetModelInvocationLoggingConfigurationCommand({})),
    ListInferenceProfiles: () => br.send(new bedrock.ListInferenceProfilesCommand({})),
    ListGuardrails: () => br.send(new bedrock.ListGuardrailsCommand({})),
    ListProvisionedModelThroughputs: () => br.send(new bedrock.ListProvisionedModelThroughputsCommand({})),
    ListAgents: () => ag.send(new agent.ListAgentsCommand({})),
    GetAgent: () => ag.send(new agent.GetAgentCommand({ agentId: input.agentId })),
    ListAgentAliases: () => ag.send(new agent.ListAgentAliasesCommand({ agentId: input.agentId })),
    ListKnowledgeBases: () => ag.send(new agent.ListKnowledgeBasesCommand({})),
    GetKnowledgeBase: () => ag.send(new agent.GetKnowledgeBaseCommand({ knowledgeBaseId: input.knowledgeBaseId })),
    GetAgentMissing: () => ag.send(new agent.GetAgentCommand({ agentId: "NOSUCHAGNT" })),
    Converse: () =>
      rt.send(
        new runtime.ConverseCommand({
          modelId: input.modelId,
          messages: [{ role: "user", content: [{ text: "hello from node" }] }],
        }),
      ),
    ConverseBlank: () =>
      rt.send(new runtime.ConverseCommand({ modelId: input.modelId, messages: [{ role: "user", content: [{ text: " " }] }] })),
  };
  const out = {};
  for (const [name, call] of Object.entries(calls)) {
    try {
      const result = await call();
      delete result.$metadata;
      out[name] = result;
    } catch (err) {
      out[name] = { error: err.name, status: err.$metadata ? err.$metadata.httpStatusCode : null, message: err.message };
    }
  }
  rt.destroy();
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err));
  process.exit(1);
});
