"""devhost: a local stand-in for the Azure Functions host + Durable extension (any Python v2 app)."""
