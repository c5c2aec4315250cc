"""Where training jobs run: one ``Compute`` interface, a local child-process backend and Azure ML."""
