"""The gateway: Bedrock-native and OpenAI-compatible protocols in front of Bedrock, with keys, budgets, rate
limits and an audit trail (see docs/gateway.md)."""
