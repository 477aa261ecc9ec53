"""``bedrockctl demo``: an interface beside the CLI that runs the whole product on the embedded sandbox.

``runner`` (the steps), ``gateway`` (settings and the HTTP + HTTPS server), ``workload`` (the synthetic users and
their clients), ``errors``. Services never import this package; it imports services, the server and the sandbox.
"""
