"""ONNX models: safe loading, request scoring, holdout evaluation and gates."""
