"""Core library of the MLOps app: settings, storage, pipeline steps. Never imports azure.functions."""
