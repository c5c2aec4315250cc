"""Training jobs: a dataset folder in, ``model.onnx`` + ``metrics.json`` out, runnable as a process."""
