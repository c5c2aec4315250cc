"""devhost: a local stand-in for the Azure Functions host + Durable extension (any Python v2 app).

Run: ``python -m devhost [--app DIR] [--port 7071] [--host 127.0.0.1]`` or ``mlops host``.
DIR holds ``function_app.py`` and ``host.json``. Settings come from the environment, then DIR's
``local.settings.json`` Values (which are exposed to the app as environment variables without
overriding set ones). ``AzureWebJobsStorage`` (a connection string or
``UseDevelopmentStorage=true``) names the storage; unset, devhost starts a private Azurite for
the run and gives the app its connection string.

Settings read by devhost itself:
  ``DEVHOST_MASTER_KEY``          master key (admin-level functions, admin API, Durable webhooks)
  ``DEVHOST_FUNCTION_KEY``        the default function key (function-level functions)
  ``DEVHOST_DURABLE_SYSTEM_KEY``  the ``durabletask_extension`` system key (Durable webhooks)
  ``AzureFunctionsWebHost__hostid``  host id (timer status/lock blobs); derived from machine + DIR
Unset keys are generated once and kept in ``DIR/.devhost/keys.json`` (mode 0600).

Behaviour chosen to match Azure (so code that works here works there):
  * the app is indexed with the Python worker's rules and words before any port or storage is
    taken (an app the worker would refuse is refused, naming the function); host.json needs
    ``"version": "2.0"`` and a missing host.json gets the host's default;
  * a route that exists but not for the request's method answers 404, not 405 (Azure does the
    same: azure-functions-host#10098); route matching comes before the key check (404 before 401);
  * bodies over 100 MB answer 413 before any byte is read (Content-Length) or as soon as a
    streamed body passes the limit;
  * queue messages are base64 (``messageEncoding``); one that is not valid base64 goes straight
    to ``<queue>-poison``; after ``maxDequeueCount`` failed attempts a message is copied (same
    text) to ``<queue>-poison`` and deleted; ``maxPollingInterval`` is capped at 2 s locally;
  * timers run on one host per storage account and host id (blob lease), with Azure's schedule
    monitor (``useMonitor``; default off for schedules recurring at most a minute apart).
devhost imports nothing from the packages of the app it hosts (an app may have its own ``shared``).
Modules: loader/indexing (import and index the app), environment (settings), azurite, routes,
keys, http_app/http_messages (ASGI), invocation/runner (call functions, write outputs),
queue_listener, ncrontab/schedule/timers/blob_lease, admin, host (lifecycle), durable/ (the Durable
runtime, its own package).
"""
