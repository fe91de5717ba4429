"""One module per kind of connection, building its clients, readers and writers from the
settings. The registry (`app.services.connections.registry.KINDS`) names each module and
imports it the first time a connection of its kind is synced, tested or written back, so a
process never loads the SDK of a CRM it does not talk to."""
