"""bedrockctl: the control plane around Amazon Bedrock and SageMaker."""

__version__ = "0.1.0"
