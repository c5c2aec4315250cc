"""Durable extension stand-in: orchestrations, activities, durable client, task hub in Azure Storage.

CONTRACT between devhost's host (devhost/host.py, HTTP server) and this package. The host:
  * builds one ``DurableRuntime`` from the app's ``get_functions()`` list after loading the app;
  * awaits ``start()`` before serving and ``stop()`` on shutdown (same asyncio loop as the server);
  * passes ``client_binding_value()`` (a JSON string) as the argument of every ``durableClient``
    binding parameter of HTTP/timer/queue functions;
  * forwards every request whose path ``handles(path)`` to ``handle_http``; it checks keys first
    for paths under ``/runtime/webhooks/durabletask`` (master key or the ``durabletask_extension``
    system key, header ``x-functions-key`` or query ``code``); paths under ``/_durable_rpc/`` are
    the SDK client's ``rpcBaseUrl`` and are forwarded without a key (loopback only, like the
    extension's local RPC endpoint).

Modules: names (hub resource names), events (history events), store (Azure Storage) and
tablebatch (the per-episode table transaction), registry (functions), episode (SDK replay) and
timestamps (its fast timestamp parse), decider (events/messages from an episode), engine (dispatch,
crash-safe commit order, recovery) and client_ops, entities/entity_dispatch/entity_api (durable
entities), versioning, activities, status, urls, query and http_api, faults (crash hooks for tests),
runtime (this contract's class). See README.md for the decisions.
"""

from __future__ import annotations

from devhost.durable.runtime import DurableRuntime
from devhost.durable.urls import MANAGEMENT_PREFIX, RPC_PREFIX

#: binding types this package serves; the loader accepts them and hands them here.
DURABLE_BINDING_TYPES = frozenset(
    {"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient"}
)

__all__ = ["DURABLE_BINDING_TYPES", "MANAGEMENT_PREFIX", "RPC_PREFIX", "DurableRuntime"]
